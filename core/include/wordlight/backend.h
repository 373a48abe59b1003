#pragma once
// Which implementation an op uses. Every op has a scalar reference; the fast
// path (OpenBLAS natively, our SIMD128 kernels in wasm, vectorised maths) is
// tested against it. Double precision always runs the reference.
namespace wordlight {

enum class Backend { reference, fast };

}  // namespace wordlight
