// Bytes from a fetch response, with progress: what the JS API's model
// reader (sources.mjs) and the page's early download of a shipped model
// (web/src/files.js) share. No other imports, so that the page can bundle it.

// A fetch response's body as bytes, reported as it comes: onBytes(received,
// total) (total: Content-Length, or what came when there is none). Streams
// into one buffer of the announced size; a compressed response can be
// longer than Content-Length, then the chunks are kept and joined. Shared
// with the page (web/src/files.js).
export async function responseBytes(res, onBytes) {
  const len = Number(res.headers.get('content-length')) || 0;
  if (!res.body || !len) {
    const b = new Uint8Array(await res.arrayBuffer());
    onBytes?.(b.length, b.length);
    return b;
  }
  onBytes?.(0, len);
  let out = new Uint8Array(len);
  let chunks = null;
  let at = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!chunks && at + value.length > len) chunks = [out.subarray(0, at)];
    if (chunks) chunks.push(value);
    else out.set(value, at);
    at += value.length;
    onBytes?.(at, Math.max(len, at));
  }
  if (chunks) {
    out = new Uint8Array(at);
    let k = 0;
    for (const c of chunks) {
      out.set(c, k);
      k += c.length;
    }
  }
  return at === out.length ? out : out.subarray(0, at);
}
