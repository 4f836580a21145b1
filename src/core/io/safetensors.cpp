#include "core/io/safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::weights {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

using Json = nlohmann::ordered_json;

// The safetensors reference implementation refuses larger headers too.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeName {
  const char* name;
  at::ScalarType type;
};

constexpr std::array<DtypeName, 16> kDtypes{{
    {"F64", at::kDouble},
    {"F32", at::kFloat},
    {"F16", at::kHalf},
    {"BF16", at::kBFloat16},
    {"I64", at::kLong},
    {"I32", at::kInt},
    {"I16", at::kShort},
    {"I8", at::kChar},
    {"U64", at::kUInt64},
    {"U32", at::kUInt32},
    {"U16", at::kUInt16},
    {"U8", at::kByte},
    {"BOOL", at::kBool},
    {"F8_E4M3", at::kFloat8_e4m3fn},
    {"F8_E5M2", at::kFloat8_e5m2},
    {"C64", at::kComplexFloat},
}};

std::optional<at::ScalarType> dtype_from_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

std::optional<std::string> name_from_dtype(at::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return d.name;
  return std::nullopt;
}

struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::uint64_t begin, end;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw UserError(cat("Cannot read safetensors file ", path, ": ", what, "."));
}

// Parses one tensor's header entry; sizes are checked against the offsets without overflow.
Entry parse_entry(const std::string& path, const std::string& name, const Json& v) {
  auto bad = [&](const std::string& what) { fail(path, cat("tensor '", name, "' ", what)); };
  if (!v.is_object()) bad("has a header entry that is not a JSON object");
  auto dtype = v.find("dtype");
  auto shape = v.find("shape");
  auto offsets = v.find("data_offsets");
  if (dtype == v.end() || shape == v.end() || offsets == v.end())
    bad("lacks one of \"dtype\", \"shape\", \"data_offsets\"");
  if (!dtype->is_string()) bad("has a non-string dtype");
  auto type = dtype_from_name(dtype->get<std::string>());
  if (!type) bad(cat("has unknown dtype '", dtype->get<std::string>(), "'"));
  Entry e{name, *type, {}, 0, 0};
  std::uint64_t bytes = at::elementSize(*type);
  if (!shape->is_array()) bad("has a shape that is not a list");
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::uint64_t(INT64_MAX))
      bad("has a shape entry that is not a non-negative integer");
    e.shape.push_back(static_cast<int64_t>(d.get<std::uint64_t>()));
    if (__builtin_mul_overflow(bytes, d.get<std::uint64_t>(), &bytes)) bad("has an absurdly large shape");
  }
  if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    bad("has data_offsets that are not two non-negative integers");
  e.begin = (*offsets)[0].get<std::uint64_t>();
  e.end = (*offsets)[1].get<std::uint64_t>();
  if (e.end < e.begin) bad(cat("has data_offsets [", e.begin, ", ", e.end, "] that end before they begin"));
  if (e.end - e.begin != bytes)
    bad(cat("has data_offsets [", e.begin, ", ", e.end, "] spanning ", e.end - e.begin, " bytes, but its dtype ",
            dtype->get<std::string>(), " and shape need ", bytes));
  return e;
}

}  // namespace

Safetensors read_safetensors(const std::string& path) {
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, cat("cannot access it (", ec.message(), ")"));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open it");
  if (file_size < 8) fail(path, cat("it has ", file_size, " bytes, fewer than the 8-byte header length"));

  std::array<unsigned char, 8> len_bytes{};
  in.read(reinterpret_cast<char*>(len_bytes.data()), 8);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8)
    fail(path, cat("the header length ", header_len, " is larger than the file (", file_size,
                   " bytes); the file is truncated or not safetensors"));
  if (header_len > kMaxHeaderBytes) fail(path, cat("the header length ", header_len, " exceeds 100 MB"));
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) fail(path, "reading the header failed");

  Json json;
  try {
    json = Json::parse(header);
  } catch (const Json::exception& e) {  // parse errors, and numbers out of range (1e999)
    fail(path, cat("the header is not valid JSON (", e.what(), ")"));
  }
  if (!json.is_object()) fail(path, "the header is not a JSON object");

  Safetensors result;
  std::vector<Entry> entries;
  for (const auto& [name, value] : json.items()) {
    if (name != "__metadata__") {
      entries.push_back(parse_entry(path, name, value));
      continue;
    }
    if (!value.is_object()) fail(path, "__metadata__ is not a JSON object");
    for (const auto& [key, text] : value.items()) {
      if (!text.is_string()) fail(path, cat("__metadata__ value '", key, "' is not a string"));
      result.metadata[key] = text.get<std::string>();
    }
  }

  const std::uint64_t data_size = file_size - 8 - header_len;
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.end > data_size)
      fail(path, cat("tensor '", e.name, "' has data_offsets [", e.begin, ", ", e.end, "] past the end of the data (",
                     data_size, " bytes); the file is truncated"));
    if (i > 0 && e.begin < entries[i - 1].end)
      fail(path, cat("tensors '", entries[i - 1].name, "' and '", e.name, "' have overlapping data_offsets"));
  }

  const std::uint64_t data_start = 8 + header_len;
  for (const Entry& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
    if (!in) fail(path, cat("reading the data of tensor '", e.name, "' failed"));
    if (e.dtype == at::kBool) {
      const auto* b = static_cast<const std::uint8_t*>(t.data_ptr());
      if (std::any_of(b, b + t.numel(), [](std::uint8_t x) { return x > 1; }))
        fail(path, cat("tensor '", e.name, "' of dtype BOOL holds bytes other than 0 and 1"));
    }
    result.tensors.emplace_back(e.name, std::move(t));
  }
  return result;
}

void write_safetensors(std::ostream& out, const NamedTensors& tensors, const Metadata& metadata,
                       const std::string& path) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || !seen.insert(name).second)
      throw UserError(
          cat("Cannot write safetensors file ", path, ": the tensor name '", name, "' is reserved or appears twice."));
    if (!tensor.defined() || tensor.layout() != at::kStrided)
      throw UserError(
          cat("Cannot write safetensors file ", path, ": tensor '", name, "' is undefined or not a dense tensor."));
    auto dtype = name_from_dtype(tensor.scalar_type());
    if (!dtype)
      throw UserError(cat("Cannot write safetensors file ", path, ": tensor '", name, "' has dtype ",
                          tensor.scalar_type(), ", which safetensors cannot store."));
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const std::uint64_t bytes = t.nbytes();
    header[name] = {{"dtype", *dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  // Padding keeps the data 8-byte aligned for readers that map the file.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::array<char, 8> len{};
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((std::uint64_t(text.size()) >> (8 * i)) & 0xff);
  out.write(len.data(), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : data)
    out.write(static_cast<const char*>(t.const_data_ptr()), static_cast<std::streamsize>(t.nbytes()));
}

}  // namespace loom::weights
