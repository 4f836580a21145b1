#include "app/export_model.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <c10/core/GradMode.h>

#include "app/fewshot_stylizer.h"
#include "app/named_arguments.h"
#include "core/config/config_json.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "export/model_graphs.h"
#include "export/onnx_graph.h"
#include "export/onnx_writer.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/clip/pretrained_image_text_model.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/pretrained_image_generator.h"
#include "models/stylegan2/generator.h"

namespace loom::cli {
namespace {

struct ExportArguments {
  std::string checkpoint, what, format = "onnx", out, batch = "dynamic", noise = "const", opset, input = "ws";
  std::string psi = "1", cutoff = "-1", fp16 = "false", normalize = "true";
};

// Splits export's own key=value arguments from config overrides.
ExportArguments parse_arguments(const std::vector<std::string>& arguments, std::vector<std::string>& overrides) {
  ExportArguments a;
  const std::map<std::string, std::string*> own{
      {"ckpt", &a.checkpoint}, {"what", &a.what},     {"format", &a.format}, {"out", &a.out},
      {"batch", &a.batch},     {"noise", &a.noise},   {"opset", &a.opset},   {"input", &a.input},
      {"psi", &a.psi},         {"cutoff", &a.cutoff}, {"fp16", &a.fp16},     {"normalize", &a.normalize}};
  split_arguments(arguments, own, overrides);
  const char* usage =
      " (loom export CONFIG ckpt=RUN what=stylizer|generator|clip_image|clip_text format=onnx|torch out=FILE)";
  if (a.checkpoint.empty() || a.what.empty() || a.out.empty())
    throw UserError(cat("loom export: give ckpt=, what= and out=", usage));
  if (a.format != "onnx" && a.format != "torch")
    throw UserError(cat("loom export: format=", a.format, ": onnx or torch (a state dict and its config)", usage));
  const std::string extension = std::filesystem::path(a.out).extension().string();
  if (a.format == "torch" && extension != ".pt" && extension != ".pth")
    throw UserError(cat("loom export format=torch: out=", a.out, " must end in .pt or .pth (torch.save's zip)"));
  if (a.fp16 != "true" && a.fp16 != "false") throw UserError(cat("loom export: fp16=", a.fp16, ": true or false"));
  if (a.fp16 == "true" && a.format != "onnx")
    throw UserError("loom export: fp16=true converts the ONNX graph; format=torch keeps the trained float32 weights");
  if (!a.opset.empty() && a.opset != cat(onnx::kOpsetVersion))
    throw UserError(cat("loom export: opset=", a.opset, ": the ONNX writer emits opset ", onnx::kOpsetVersion));
  if (a.batch != "dynamic" && a.batch != "1") throw UserError(cat("loom export: batch=", a.batch, ": dynamic or 1"));
  if (a.input != "ws" && a.input != "z") throw UserError(cat("loom export: input=", a.input, ": ws or z"));
  if (a.noise != "const" && a.noise != "none")
    throw UserError(cat("loom export: noise=", a.noise, ": const or none (random noise cannot be baked in)"));
  if (a.normalize != "true" && a.normalize != "false")
    throw UserError(cat("loom export: normalize=", a.normalize, ": true or false"));
  return a;
}

// What `loom export` writes of a model: its graph, and for format=torch its modules' tensors (under the
// prefixes that name them in the file) with the model section each was built from.
struct Exported {
  onnx::ExportedGraph graph{onnx::Graph(""), {}};
  std::vector<std::pair<std::string, torch::nn::Module*>> modules;  // prefix ("" for one module) -> module
  std::vector<std::pair<std::string, ConfigNode>> sections;         // prefix -> model section
  weights::NamedTensors extra;                                      // tensors beside the modules (w_avg)
};

Exported generator(const ConfigNode& config, const ExportArguments& a, const onnx::GraphOptions& options,
                   PretrainedImageGenerator& g) {
  g = load_pretrained_image_generator(a.checkpoint, config.find("model"), "model");
  g.module->eval();
  std::cout << "export: generator (" << (g.is_student() ? "BlazeStyleGAN student" : "StyleGAN2") << "), "
            << g.tensors_loaded << " tensors from " << g.source << "\n";
  MappingNetworkImpl* mapping = nullptr;
  if (a.input == "z") {
    mapping = g.seeds.mapping;
    if (!mapping)
      throw UserError(cat("loom export input=z: ", g.source, " has no mapping network (model.mapping_layers 0)"));
  }
  const onnx::Truncation truncation{decimal_argument("loom export", "psi", a.psi),
                                    integer_argument("loom export", "cutoff", a.cutoff)};
  Exported out;
  out.modules = {{"", g.module.get()}};
  out.sections = {{"", g.model}};
  if (g.is_student()) {
    out.graph = onnx::generator_graph(*g.student->synthesis, options, mapping, truncation);
    return out;
  }
  auto teacher = std::dynamic_pointer_cast<GeneratorImpl>(g.module);
  if (!teacher) onnx::unsupported(cat("ckpt=", g.source), "this generator module (neither StyleGAN2 nor a student)");
  out.graph = onnx::generator_graph(*teacher->synthesis, options, mapping, truncation);
  return out;
}

Exported stylizer(const ConfigNode& config, const std::string& config_path, const ExportArguments& a,
                  const onnx::GraphOptions& options, FewShotStylizer& s) {
  s = load_fewshot_stylizer(config, config_path, a.checkpoint);
  std::cout << "export: stylizer, student " << s.tuned_tensors << " tensors from " << s.tuned_source << ", encoder "
            << s.encoder.source << "\n";
  Exported out;
  out.graph = onnx::stylizer_graph(*s.encoder.encoder, *s.generator.student->synthesis, s.generator.w_avg(), options);
  out.modules = {{"encoder.", s.encoder.encoder.get()}, {"student.", s.generator.student.get()}};
  out.sections = {{"encoder.", s.encoder.model}, {"student.", s.generator.model}};
  out.extra = {{"w_avg", s.generator.w_avg()}};
  return out;
}

// The image or text tower of an image-text model loaded as `loom embed` loads it.
Exported clip_tower(const ConfigNode& config, const ExportArguments& a, const onnx::GraphOptions& options,
                    PretrainedImageTextModel& m) {
  m = load_pretrained_image_text_model(a.checkpoint, config.find("model"), "model");
  if (!onnx::exports_image_text(*m.model))
    onnx::unsupported(cat("ckpt=", m.source),
                      cat("model '", registered_name(model_registry(), m.section, "model"), "' (what=", a.what,
                          " exports open_clip's CLIP and SigLIP: a ViT or timm ViT image tower and a text "
                          "transformer)"));
  std::cout << "export: " << a.what << ", " << m.tensors_loaded << " tensors from " << m.source << "\n";
  const bool normalize = a.normalize == "true";
  Exported out;
  out.graph = a.what == "clip_image" ? onnx::clip_image_graph(*m.model, options, normalize)
                                     : onnx::clip_text_graph(*m.model, options, normalize);
  out.modules = {{"", m.model.get()}};
  out.sections = {{"", m.section}};
  return out;
}

nlohmann::ordered_json values_json(const std::vector<onnx::ValueInfo>& values) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& v : values) {
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (const auto& d : v.shape) std::visit([&](const auto& x) { shape.push_back(x); }, d);
    out[v.name] = {{"shape", shape}, {"dtype", v.type == onnx::ElementType::int64 ? "int64" : "float32"}};
  }
  return out;
}

// format=torch: the modules' state dicts in one torch.save zip (Python: torch.load(weights_only=True)),
// and FILE.json beside it with what the ONNX graph would take and give, each module's model section and
// the whole resolved config.
void write_state_dict(const Exported& e, const ConfigNode& config, const ExportArguments& a) {
  weights::NamedTensors tensors;
  nlohmann::ordered_json modules = nlohmann::ordered_json::object();
  for (const auto& [prefix, module] : e.modules) {
    const weights::NamedTensors state = weights::state_dict(*module);
    for (const auto& [key, tensor] : state) tensors.emplace_back(prefix + key, tensor.detach().contiguous());
    modules[prefix.empty() ? "model" : prefix.substr(0, prefix.size() - 1)]["tensors"] = state.size();
  }
  for (const auto& [prefix, section] : e.sections)
    modules[prefix.empty() ? "model" : prefix.substr(0, prefix.size() - 1)]["model"] = config_to_json(section);
  // Copies: w_avg is also the mapping network's buffer, and safetensors-minded readers refuse shared storage.
  for (const auto& [key, tensor] : e.extra) tensors.emplace_back(key, tensor.detach().clone());
  weights::write(a.out, tensors);
  const std::filesystem::path json_path = std::filesystem::path(a.out).replace_extension(".json");
  nlohmann::ordered_json j{{"what", a.what},
                           {"weights", std::filesystem::path(a.out).filename().string()},
                           {"inputs", values_json(e.graph.graph.inputs())},
                           {"outputs", values_json(e.graph.graph.outputs())},
                           {"metadata", e.graph.info.metadata},
                           {"modules", modules},
                           {"config", config_to_json(config)}};
  write_file_atomically(json_path, j.dump(1) + "\n");
  std::cout << "wrote " << a.out << " (" << tensors.size() << " tensors) and " << json_path.string() << "\n";
}

}  // namespace

int export_model(const std::string& config_path, const std::vector<std::string>& arguments) {
  std::vector<std::string> overrides;
  const ExportArguments a = parse_arguments(arguments, overrides);
  const ConfigNode config = load_config(config_path, overrides);
  c10::NoGradGuard no_grad;
  const onnx::GraphOptions options{.dynamic_batch = a.batch == "dynamic",
                                   .noise = a.noise == "const" ? NoiseMode::constant : NoiseMode::none,
                                   .float16 = a.fp16 == "true"};
  // The loaded models own the modules `exported` points at.
  PretrainedImageGenerator generator_model;
  FewShotStylizer stylizer_model;
  PretrainedImageTextModel image_text_model;
  Exported exported;
  if (a.what == "generator")
    exported = generator(config, a, options, generator_model);
  else if (a.what == "stylizer")
    exported = stylizer(config, config_path, a, options, stylizer_model);
  else if (a.what == "clip_image" || a.what == "clip_text")
    exported = clip_tower(config, a, options, image_text_model);
  else
    throw UserError(cat("loom export: what=", a.what, ": stylizer, generator, clip_image or clip_text"));
  onnx::ExportedGraph& e = exported.graph;
  e.info.metadata["loom.config"] = config_path;
  e.info.metadata["loom.checkpoint"] = a.checkpoint;
  e.info.metadata["loom.precision"] = options.float16 ? "float16 (float32 inputs and outputs)" : "float32";
  if (a.format == "torch") {
    write_state_dict(exported, config, a);
    return 0;
  }
  if (options.float16) e.graph.convert_to_float16();
  const onnx::WrittenModel written = onnx::write_model(a.out, e.graph, e.info);
  std::cout << "wrote " << written.model.string() << " (" << written.model_bytes << " bytes"
            << (written.data.empty() ? std::string() : cat(", weights in ", written.data.string()))
            << "): " << e.graph.nodes().size() << " nodes, " << e.graph.initializer_bytes()
            << " bytes of weights, opset " << onnx::kOpsetVersion << ", batch " << a.batch
            << (a.what.starts_with("clip") ? std::string() : cat(", noise ", a.noise))
            << (options.float16 ? ", float16" : "") << "\n";
  return 0;
}

}  // namespace loom::cli
