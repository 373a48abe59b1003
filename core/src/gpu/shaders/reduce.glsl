// Workgroup reductions over 128 threads (local_size_x = 128).
shared float red[128];
float wg_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  red[t] = v;
  barrier();
  for (uint s = 64; s > 0; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  return red[0];
}
float wg_max(float v) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  red[t] = v;
  barrier();
  for (uint s = 64; s > 0; s >>= 1) {
    if (t < s) red[t] = max(red[t], red[t + s]);
    barrier();
  }
  return red[0];
}
