#pragma once
// The safetensors format (Hugging Face's model.safetensors): an 8-byte
// little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//    ..., "__metadata__": {"key": "string value"}}
// then the data section; offsets are relative to its start.
//
// Reading validates everything before touching data (offsets inside the
// data section, begin <= end, byte size == numel * dtype size with
// overflow-safe arithmetic, no overlapping or duplicate tensors, known
// dtypes, sane shapes) and throws wordlight::Error naming the file and what
// is wrong. F32, F16, BF16 and F64 tensors are converted to float32.
// Parsing works on a memory buffer (the wasm build receives ArrayBuffers);
// the file helpers read the whole file and call the same code.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wordlight {

// Every dtype of the format. Only the floating ones convert to float32; the
// others (for example the I64 "position_ids" buffer that some checkpoints
// carry) are validated like any tensor and skipped by load_safetensors.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2 };

// The name used in the header ("F32", "BF16", ...).
const char* dtype_name(DType d);
size_t dtype_size(DType d);
// F32, F16, BF16, F64.
bool dtype_converts_to_f32(DType d);

// One tensor's header entry, validated. Offsets are absolute within the
// buffer that was parsed (header already skipped), so data = buffer + begin.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // empty for a scalar
  uint64_t numel = 0;
  uint64_t begin = 0, end = 0;  // [begin, end) bytes into the whole buffer
};

// A validated view of a safetensors buffer. It does not own the bytes: the
// buffer must outlive the view. Tensors are converted one at a time, so a
// caller can release each converted tensor's memory as it goes (the wasm
// build holds the file and the model in one 4 GiB address space).
struct SafetensorsView {
  std::string source;  // file or buffer name used in error messages
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::vector<SafetensorsEntry> entries;  // in header order
  std::map<std::string, std::string> metadata;

  bool has(const std::string& name) const;
  // Throws Error naming the file and the tensor when absent.
  const SafetensorsEntry& entry(const std::string& name) const;
  // The tensor converted to float32 (row-major, numel values).
  std::vector<float> read_f32(const std::string& name) const;
};

// Parses and validates the header of `size` bytes at `data`. `name` is what
// error messages call the buffer (e.g. "model.safetensors").
SafetensorsView parse_safetensors(const uint8_t* data, size_t size, const std::string& name);

// A loaded tensor in float32.
struct LoadedTensor {
  std::vector<int64_t> shape;
  DType stored_dtype = DType::F32;  // the dtype in the file, before conversion
  std::vector<float> values;
};

// All tensors of a buffer or file converted to float32.
struct SafetensorsFile {
  std::string source;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> names;  // header order, float tensors only
  std::map<std::string, LoadedTensor> tensors;
  std::vector<std::string> skipped;  // non-float tensors, not converted

  bool has(const std::string& name) const;
  // Throws Error naming the file and the tensor when absent.
  const LoadedTensor& get(const std::string& name) const;
};

SafetensorsFile load_safetensors(const uint8_t* data, size_t size, const std::string& name);
// Reads the whole file; errors name `path`.
SafetensorsFile load_safetensors_file(const std::string& path);

// One tensor to write: `data` points at numel(shape) float32 values, stored
// in the file as `dtype` (F16 and BF16 round to nearest even; values past
// the F16 range become infinities; NaN stays NaN).
struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
  DType dtype = DType::F32;
};

// Serialises tensors in the given order, contiguously, with the header
// padded with spaces to a multiple of 8 bytes (as the reference writer
// does, so the data section is aligned). Throws Error on an empty or
// duplicate name, a negative dimension or a null data pointer.
std::vector<uint8_t> write_safetensors(const std::vector<TensorToWrite>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});
void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                            const std::map<std::string, std::string>& metadata = {});

// Scalar conversions (exposed for tests and for the writer's callers).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);

}  // namespace wordlight
