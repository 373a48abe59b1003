// Shared by every shader: six storage buffers (unused ones are bound to a
// dummy), elements of 4 bytes; int views alias the same bindings.
layout(set = 0, binding = 0) buffer Buf0 { float b0[]; };
layout(set = 0, binding = 1) buffer Buf1 { float b1[]; };
layout(set = 0, binding = 2) buffer Buf2 { float b2[]; };
layout(set = 0, binding = 3) buffer Buf3 { float b3[]; };
layout(set = 0, binding = 4) buffer Buf4 { float b4[]; };
layout(set = 0, binding = 5) buffer Buf5 { float b5[]; };
layout(set = 0, binding = 0) buffer Int0 { int i0[]; };
layout(set = 0, binding = 1) buffer Int1 { int i1[]; };
layout(set = 0, binding = 3) buffer Int3 { int i3[]; };
