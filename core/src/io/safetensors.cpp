#include "wordlight/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io_util.h"
#include "json_kind.h"
#include "wordlight/error.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

using Json = nlohmann::ordered_json;

// The reference implementation refuses headers above 100 MB; so do we, so a
// hostile length cannot make us allocate gigabytes before failing.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};
const DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4},    {DType::F16, "F16", 2},  {DType::BF16, "BF16", 2},        {DType::F64, "F64", 8},
    {DType::I64, "I64", 8},    {DType::I32, "I32", 4},  {DType::I16, "I16", 2},          {DType::I8, "I8", 1},
    {DType::U64, "U64", 8},    {DType::U32, "U32", 4},  {DType::U16, "U16", 2},          {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},  {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeInfo& info(DType d) {
  for (const auto& i : kDTypes)
    if (i.dtype == d) return i;
  throw Error("safetensors: invalid dtype value");
}

// Overflow-checked a * b.
bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > UINT64_MAX / a) return true;
  *out = a * b;
  return false;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A short rendering of a JSON value for messages (never the whole header).
std::string brief(const Json& j) {
  std::string s = j.dump(-1, ' ', true, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

const char* json_kind(const Json& j) { return io::json_kind(j, io::JsonNumbers::sign); }

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool little_endian_host() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

SafetensorsEntry parse_entry(const std::string& src, const std::string& name, const Json& v, uint64_t data_start,
                             uint64_t data_size) {
  const std::string where = src + ": tensor '" + name + "'";
  if (!v.is_object()) throw Error(where + ": header entry must be an object, got " + json_kind(v));
  SafetensorsEntry e;
  e.name = name;

  auto dt = v.find("dtype");
  if (dt == v.end()) throw Error(where + ": missing 'dtype'");
  if (!dt->is_string()) throw Error(where + ": 'dtype' must be a string, got " + json_kind(*dt));
  const std::string& dname = dt->get_ref<const std::string&>();
  const DTypeInfo* di = nullptr;
  for (const auto& i : kDTypes)
    if (dname == i.name) di = &i;
  if (!di) throw Error(where + ": unknown dtype '" + dname + "'");
  e.dtype = di->dtype;

  auto sh = v.find("shape");
  if (sh == v.end()) throw Error(where + ": missing 'shape'");
  if (!sh->is_array()) throw Error(where + ": 'shape' must be an array, got " + json_kind(*sh));
  uint64_t numel = 1;
  bool overflow = false;
  for (const Json& d : *sh) {
    if (!d.is_number_unsigned())
      throw Error(where + ": shape " + brief(*sh) + " has a dimension that is " + json_kind(d) +
                  ", not a non-negative integer");
    const uint64_t dim = d.get<uint64_t>();
    // Dimensions past 2^62 cannot describe data in any real buffer; keeping
    // them below INT64_MAX lets callers use signed shapes safely.
    if (dim > (uint64_t{1} << 62)) throw Error(where + ": shape " + brief(*sh) + " has an absurd dimension");
    e.shape.push_back(static_cast<int64_t>(dim));
    if (!overflow && mul_overflows(numel, dim, &numel)) overflow = true;
  }
  // A zero dimension makes numel 0 whatever overflowed before it.
  if (std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end()) {
    numel = 0;
    overflow = false;
  }
  uint64_t nbytes = 0;
  if (overflow || mul_overflows(numel, di->size, &nbytes))
    throw Error(where + ": shape " + shape_str(e.shape) + " has more elements than fit in 64 bits");
  e.numel = numel;

  auto off = v.find("data_offsets");
  if (off == v.end()) throw Error(where + ": missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
    throw Error(where + ": 'data_offsets' must be two non-negative integers, got " + brief(*off));
  const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
  if (begin > end)
    throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] have begin > end");
  if (end > data_size)
    throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] reach past the end of the data section (" + std::to_string(data_size) +
                " bytes); the file is truncated or the header is wrong");
  if (end - begin != nbytes)
    throw Error(where + ": shape " + shape_str(e.shape) + " of " + di->name + " needs " + std::to_string(nbytes) +
                " bytes but data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] hold " +
                std::to_string(end - begin));
  e.begin = data_start + begin;
  e.end = data_start + end;
  return e;
}

void convert_to_f32(const SafetensorsView& v, const SafetensorsEntry& e, float* out) {
  const uint8_t* p = v.data + e.begin;
  const size_t n = static_cast<size_t>(e.numel);
  const bool le = little_endian_host();
  if (n == 0) return;  // (and memcpy must not see the null data() of an empty vector)
  switch (e.dtype) {
    case DType::F32:
      if (le) {
        std::memcpy(out, p, n * 4);
      } else {
        for (size_t i = 0; i < n; ++i) {
          const uint32_t b = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                             uint32_t(p[4 * i + 3]) << 24;
          std::memcpy(out + i, &b, 4);
        }
      }
      break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) out[i] = f16_to_f32(uint16_t(p[2 * i] | p[2 * i + 1] << 8));
      break;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(uint16_t(p[2 * i] | p[2 * i + 1] << 8));
      break;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        uint64_t b = read_u64_le(p + 8 * i);
        double d;
        std::memcpy(&d, &b, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      throw Error(v.source + ": tensor '" + e.name + "' has dtype " + dtype_name(e.dtype) +
                  ", which does not convert to float32 (F32, F16, BF16 and F64 do)");
  }
}

// Index of the first NaN or infinity in x[0, n), or n. Blocks of 4096 are
// OR-reduced on the exponent bits (a loop the compiler vectorises), and only
// a block that holds a bad value is searched element by element.
size_t first_non_finite(const float* x, size_t n) {
  constexpr size_t kBlock = 4096;
  for (size_t s = 0; s < n; s += kBlock) {
    const size_t e = std::min(n, s + kBlock);
    uint32_t bad = 0;
    for (size_t i = s; i < e; ++i) {
      uint32_t b;
      std::memcpy(&b, x + i, 4);
      bad |= static_cast<uint32_t>((b & 0x7F800000u) == 0x7F800000u);
    }
    if (bad)
      for (size_t i = s; i < e; ++i)
        if (!std::isfinite(x[i])) return i;
  }
  return n;
}

// A model's weights must be finite: a NaN or infinity (a corrupt or hostile
// file, or an F64 value past float32's range) would make every prediction
// NaN while looking like a success.
void check_finite(const std::string& src, const SafetensorsEntry& e, const std::vector<float>& values) {
  const size_t i = first_non_finite(values.data(), values.size());
  if (i == values.size()) return;
  // The flat index as an index into the shape, e.g. [1, 7].
  std::vector<int64_t> at(e.shape.size());
  uint64_t rest = i;
  for (size_t d = e.shape.size(); d-- > 0;) {
    at[d] = static_cast<int64_t>(rest % static_cast<uint64_t>(e.shape[d]));
    rest /= static_cast<uint64_t>(e.shape[d]);
  }
  const float x = values[i];
  throw Error(src + ": tensor '" + e.name + "' holds " + (std::isnan(x) ? "NaN" : x > 0 ? "+infinity" : "-infinity") +
              " at index " + shape_str(at) + " (element " + std::to_string(i) + " of " + std::to_string(values.size()) +
              "); a model's weights must be finite numbers");
}

// A float's bits and back (std::bit_cast before C++20).
float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
uint32_t bits_of_float(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}

}  // namespace

const char* dtype_name(DType d) { return info(d).name; }
size_t dtype_size(DType d) { return info(d).size; }
bool dtype_converts_to_f32(DType d) {
  return d == DType::F32 || d == DType::F16 || d == DType::BF16 || d == DType::F64;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      // Subnormal: mant * 2^-24, renormalised into a float32 normal.
      int e = -14;
      uint32_t m = mant;
      while (!(m & 0x400)) {
        m <<= 1;
        --e;
      }
      bits = sign | uint32_t(e + 127) << 23 | (m & 0x3FF) << 13;
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | mant << 13;  // inf, or NaN with its payload
  } else {
    bits = sign | (exp + 112) << 23 | mant << 13;
  }
  return float_from_bits(bits);
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = bits_of_float(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7FFFFFFF;
  if (a > 0x7F800000) return sign | 0x7E00 | uint16_t((a >> 13) & 0x3FF);  // NaN stays a (quiet) NaN
  if (a >= 0x477FF000) return sign | 0x7C00;  // >= 65520 rounds to infinity (and inf itself)
  const uint32_t e = a >> 23;
  if (e < 113) {
    // Below the smallest F16 normal (2^-14): a subnormal, rounded to nearest
    // even at the 2^-24 unit. The result may round up into the first normal,
    // whose encoding follows the subnormals contiguously.
    const uint32_t shift = 126 - e;
    if (e == 0 || shift >= 32) return sign;
    const uint32_t m = (a & 0x7FFFFF) | 0x800000;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return sign | uint16_t(h);
  }
  uint32_t h = ((e - 112) << 10) | ((a >> 13) & 0x3FF);
  const uint32_t rem = a & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // a carry into the exponent is correct rounding
  return sign | uint16_t(h);
}

float bf16_to_f32(uint16_t b) { return float_from_bits(uint32_t(b) << 16); }

uint16_t f32_to_bf16(float f) {
  uint32_t x = bits_of_float(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return uint16_t((x >> 16) | 0x40);  // keep NaN a NaN
  x += 0x7FFF + ((x >> 16) & 1);
  return uint16_t(x >> 16);
}

SafetensorsView parse_safetensors(const uint8_t* data, size_t size, const std::string& name) {
  SafetensorsView v;
  v.source = name;
  v.data = data;
  v.size = size;
  if (size < 8)
    throw Error(name + ": the file is " + std::to_string(size) +
                " bytes, too short for the 8-byte header length of a safetensors file");
  if (!data) throw Error(name + ": null buffer");
  const uint64_t n = read_u64_le(data);
  if (n > size - 8)
    throw Error(name + ": header length " + std::to_string(n) + " is larger than the file (" + std::to_string(size) +
                " bytes); the file is truncated or not a safetensors file");
  if (n > kMaxHeaderBytes)
    throw Error(name + ": header length " + std::to_string(n) + " exceeds the 100 MB limit of the format");
  if (n < 2) throw Error(name + ": header length " + std::to_string(n) + " is too short for a JSON object");

  const char* hb = reinterpret_cast<const char*>(data + 8);
  // Before nlohmann builds (and the callback copies) anything: a header
  // nesting 100,000 arrays deep would overflow the stack.
  check_json_depth(hb, static_cast<size_t>(n), name);
  Json header;
  std::string duplicate;
  std::set<std::string> seen;
  try {
    // The callback sees every key as it is parsed: nlohmann keeps only the
    // last value of a duplicated key, so duplicates must be caught here.
    header = Json::parse(hb, hb + n, [&](int depth, Json::parse_event_t ev, Json& parsed) {
      if (ev == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": the header is not valid JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(name + ": the header must be a JSON object, got " + json_kind(header));
  if (!duplicate.empty()) throw Error(name + ": tensor '" + duplicate + "' appears twice in the header");

  const uint64_t data_start = 8 + n, data_size = size - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw Error(name + ": '__metadata__' must be an object, got " + json_kind(*it));
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string())
          throw Error(name + ": '__metadata__' value of '" + m.key() + "' must be a string, got " + json_kind(*m));
        v.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    v.entries.push_back(parse_entry(name, it.key(), *it, data_start, data_size));
  }

  // Overlap: sort the non-empty byte ranges and compare neighbours.
  std::vector<const SafetensorsEntry*> order;
  for (const auto& e : v.entries)
    if (e.end > e.begin) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    const SafetensorsEntry& a = *order[i - 1];
    const SafetensorsEntry& b = *order[i];
    if (b.begin < a.end)
      throw Error(name + ": tensors '" + a.name + "' [" + std::to_string(a.begin - data_start) + ", " +
                  std::to_string(a.end - data_start) + ") and '" + b.name + "' [" +
                  std::to_string(b.begin - data_start) + ", " + std::to_string(b.end - data_start) +
                  ") overlap in the data section");
    // As the reference implementation: the tensors tile the data section.
    if (b.begin > a.end)
      throw Error(name + ": bytes [" + std::to_string(a.end - data_start) + ", " +
                  std::to_string(b.begin - data_start) + ") of the data section, between tensors '" + a.name +
                  "' and '" + b.name + "', belong to no tensor");
  }
  const uint64_t first = order.empty() ? data_start : order.front()->begin;
  if (first > data_start)
    throw Error(name + ": bytes [0, " + std::to_string(first - data_start) +
                ") of the data section, before tensor '" + order.front()->name + "', belong to no tensor");
  const uint64_t last = order.empty() ? data_start : order.back()->end;
  if (last < size)
    throw Error(name + ": " + std::to_string(size - last) + " trailing bytes after the data section (the tensors end at byte " +
                std::to_string(last) + " of " + std::to_string(size) + "); the file is corrupt or was appended to");
  return v;
}

bool SafetensorsView::has(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return true;
  return false;
}

const SafetensorsEntry& SafetensorsView::entry(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return e;
  throw Error(source + ": no tensor named '" + name + "'");
}

std::vector<float> SafetensorsView::read_f32(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  if (!dtype_converts_to_f32(e.dtype))
    throw Error(source + ": tensor '" + e.name + "' has dtype " + dtype_name(e.dtype) +
                ", which does not convert to float32 (F32, F16, BF16 and F64 do)");
  std::vector<float> out(static_cast<size_t>(e.numel));
  convert_to_f32(*this, e, out.data());
  return out;
}

bool SafetensorsFile::has(const std::string& name) const { return tensors.count(name) != 0; }

const LoadedTensor& SafetensorsFile::get(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(source + ": no tensor named '" + name + "'");
  return it->second;
}

SafetensorsFile load_safetensors(const uint8_t* data, size_t size, const std::string& name) {
  const SafetensorsView v = parse_safetensors(data, size, name);
  SafetensorsFile f;
  f.source = name;
  f.metadata = v.metadata;
  for (const auto& e : v.entries) {
    if (!dtype_converts_to_f32(e.dtype)) {
      f.skipped.push_back(e.name);
      continue;
    }
    LoadedTensor t;
    t.shape = e.shape;
    t.stored_dtype = e.dtype;
    t.values = v.read_f32(e.name);
    check_finite(name, e, t.values);
    f.names.push_back(e.name);
    f.tensors.emplace(e.name, std::move(t));
  }
  return f;
}

SafetensorsFile load_safetensors_file(const std::string& path) {
  const std::string bytes = io::read_file(path);
  return load_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::vector<uint8_t> write_safetensors(const std::vector<TensorToWrite>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& kv : metadata) m[kv.first] = kv.second;
    header["__metadata__"] = m;
  }
  std::set<std::string> names;
  std::vector<uint64_t> nbytes(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    if (t.name.empty() || t.name == "__metadata__")
      throw Error("write_safetensors: invalid tensor name '" + t.name + "'");
    if (!names.insert(t.name).second) throw Error("write_safetensors: tensor '" + t.name + "' given twice");
    if (!dtype_converts_to_f32(t.dtype))
      throw Error("write_safetensors: tensor '" + t.name + "': can write only F32, F16, BF16 or F64, not " +
                  dtype_name(t.dtype));
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error("write_safetensors: tensor '" + t.name + "' has a negative dimension");
      if (mul_overflows(numel, static_cast<uint64_t>(d), &numel))
        throw Error("write_safetensors: tensor '" + t.name + "' is too large");
    }
    if (numel > 0 && !t.data) throw Error("write_safetensors: tensor '" + t.name + "' has no data");
    if (mul_overflows(numel, dtype_size(t.dtype), &nbytes[i]))
      throw Error("write_safetensors: tensor '" + t.name + "' is too large");
  }
  // Data in order of decreasing element size, so every tensor stays aligned
  // to its element size (the header is padded to 8 bytes); the header keeps
  // the caller's order.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype);
  });
  std::vector<uint64_t> begin(tensors.size());
  uint64_t offset = 0;
  for (size_t i : order) {
    begin[i] = offset;
    offset += nbytes[i];
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {begin[i], begin[i] + nbytes[i]}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("write_safetensors: a tensor name or metadata string is not valid UTF-8 (") + e.what() +
                ")");
  }
  while (text.size() % 8) text += ' ';

  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* base = out.data() + 8 + text.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    uint8_t* p = base + begin[i];
    const size_t size = static_cast<size_t>(nbytes[i] / dtype_size(t.dtype));
    for (size_t k = 0; k < size; ++k) {
      const float x = t.data[k];
      switch (t.dtype) {
        case DType::F32: {
          uint32_t b;
          std::memcpy(&b, &x, 4);
          for (int j = 0; j < 4; ++j) p[4 * k + j] = uint8_t(b >> (8 * j));
          break;
        }
        case DType::F16:
        case DType::BF16: {
          const uint16_t b = t.dtype == DType::F16 ? f32_to_f16(x) : f32_to_bf16(x);
          p[2 * k] = uint8_t(b);
          p[2 * k + 1] = uint8_t(b >> 8);
          break;
        }
        default: {  // F64
          const double d = x;
          uint64_t b;
          std::memcpy(&b, &d, 8);
          for (int j = 0; j < 8; ++j) p[8 * k + j] = uint8_t(b >> (8 * j));
          break;
        }
      }
    }
  }
  return out;
}

void write_safetensors_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                            const std::map<std::string, std::string>& metadata) {
  const std::vector<uint8_t> bytes = write_safetensors(tensors, metadata);
  io::write_file(path, bytes.data(), bytes.size());
}

}  // namespace wordlight
