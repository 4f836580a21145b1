#include "core/io/torch_save.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <algorithm>
#include <ostream>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/io/pickle_reader.h"
#include "core/text/cat.h"

namespace loom::weights {
namespace {

using pickle::Object;

// Python nests at most a few levels.
constexpr int kMaxDepth = 32;

UserError read_error(const std::string& path, const std::string& why) {
  return UserError(cat("Cannot read torch.save file ", path, ": ", why, "."));
}

// LibTorch messages span lines; a UserError is one paragraph.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.pop_back();
  return text;
}

struct Flattening {
  NamedTensors& out;
  const std::string& path;
  // Each dict with the name it was first reached by: a pickle's memo lets one dict appear under many
  // keys, and 31 levels of dicts that each hold one child twice would name 2^31 tensors.
  std::unordered_map<const Object*, std::string> walked;
};

void flatten(const Object& dict, const std::string& prefix, int depth, Flattening& f) {
  if (depth > kMaxDepth) throw read_error(f.path, cat("its dicts nest deeper than ", kMaxDepth, " levels"));
  if (auto [it, fresh] = f.walked.emplace(&dict, prefix); !fresh)
    throw read_error(f.path, cat("one dict appears both as '", it->second, "' and as '", prefix,
                                 "'; a weights file does not share dicts between keys"));
  for (const auto& [key, value] : dict.entries) {
    if (key->kind != Object::Kind::string)
      throw read_error(f.path, cat("a dict under '", prefix, "' has a key of type ", pickle::kind_name(key->kind),
                                   "; weights files have string keys"));
    std::string name = prefix.empty() ? key->text : cat(prefix, ".", key->text);
    if (value->kind == Object::Kind::tensor)
      f.out.emplace_back(std::move(name), value->tensor);
    else if (value->kind == Object::Kind::dict)
      flatten(*value, name, depth + 1, f);
    else
      throw read_error(f.path, cat("'", name, "' is a ", pickle::kind_name(value->kind),
                                   ", not a tensor; a weights file holds only (nested dicts of) tensors"));
  }
}

NamedTensors read_archive(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path) {
  if (reader.hasRecord("byteorder")) {
    auto [data, size] = reader.getRecord("byteorder");
    if (std::string(static_cast<const char*>(data.get()), size) != "little")
      throw read_error(path, "it was written on a big-endian machine, which is not supported");
  }
  if (!reader.hasRecord("data.pkl"))
    throw read_error(path, "the zip archive has no data.pkl record, so it is not a torch.save file");
  auto [pkl, pkl_size] = reader.getRecord("data.pkl");
  pickle::Ref root = pickle::unpickle(static_cast<const char*>(pkl.get()), pkl_size,
                                      [&](const std::string& key) -> std::pair<at::DataPtr, std::size_t> {
                                        const std::string record = cat("data/", key);
                                        if (!reader.hasRecord(record))
                                          throw read_error(path, cat("the storage record ", record, " is missing"));
                                        auto [data, size] = reader.getRecord(record);
                                        return {std::move(data), size};
                                      });
  if (root->kind != Object::Kind::dict)
    throw read_error(path, cat("it holds a ", pickle::kind_name(root->kind), ", not a dict of tensors"));
  NamedTensors out;
  Flattening flattening{out, path, {}};
  flatten(*root, "", 0, flattening);
  std::unordered_set<std::string> seen;
  for (const auto& [name, tensor] : out)
    if (!seen.insert(name).second)
      throw read_error(path, cat("the key '", name, "' appears twice once nested dicts are flattened"));
  return out;
}

}  // namespace

NamedTensors read_torch_save(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return read_archive(reader, path);
  } catch (const UserError&) {
    throw;
  } catch (const c10::Error& e) {
    throw read_error(path,
                     cat("it is not a valid torch.save zip archive (", one_line(e.what_without_backtrace()), ")"));
  } catch (const std::exception& e) {
    throw read_error(path, one_line(e.what()));
  }
}

void write_torch_save(std::ostream& out, const NamedTensors& tensors, const std::string& path) {
  auto fail = [&](const std::string& why) {
    return UserError(cat("Cannot write torch.save file ", path, ": ", why, "."));
  };
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors) {
    if (dict.contains(name)) throw fail(cat("the tensor name '", name, "' appears twice"));
    if (!tensor.defined() || tensor.layout() != at::kStrided)
      throw fail(cat("tensor '", name, "' is undefined or not a dense tensor"));
    // Python only rebuilds these through typed storage classes (torch.FloatStorage...) by this route.
    if (!pickle::typed_storage_dtype(cat("torch.", c10::toString(tensor.scalar_type()), "Storage")))
      throw fail(cat("tensor '", name, "' has dtype ", tensor.scalar_type(), "; use a .safetensors file for it"));
    at::Tensor t = tensor.detach().resolve_conj().resolve_neg();
    dict.insert(name, t.device().is_cpu() ? t : t.cpu());
  }
  try {
    std::vector<char> pkl;
    // Untagged: torch.jit type tags are globals that torch.load(weights_only=True) refuses.
    torch::jit::Pickler pickler([&](const char* data, std::size_t size) { pkl.insert(pkl.end(), data, data + size); },
                                nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(dict);
    pickler.stop();
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) -> std::size_t {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
      return out ? size : 0;
    });
    torch::jit::writeArchiveAndTensors("data", pkl.data(), pkl.size(), pickler.tensorData(), writer);
    writer.writeRecord("byteorder", "little", 6);
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw fail(one_line(e.what_without_backtrace()));
  }
}

}  // namespace loom::weights
