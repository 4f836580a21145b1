#include "app/export_onnx.h"

#include <iostream>
#include <map>
#include <type_traits>

#include <c10/core/GradMode.h>

#include "app/fewshot_stylizer.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "export/model_graphs.h"
#include "export/onnx_graph.h"
#include "export/onnx_writer.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/clip/clip.h"
#include "models/clip/pretrained_image_text_model.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/pretrained_image_generator.h"

namespace loom::cli {
namespace {

struct ExportArguments {
  std::string checkpoint, what, format = "onnx", out, batch = "dynamic", noise = "const", opset, input = "ws";
  std::string psi = "1", cutoff = "-1";
  std::string normalize = "true";
};

template <class T>
T number(const std::string& key, const std::string& value) {
  size_t used = 0;
  T parsed{};
  try {
    if constexpr (std::is_same_v<T, double>)
      parsed = std::stod(value, &used);
    else
      parsed = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size()) throw UserError(cat("loom export: ", key, "=", value, " is not a number"));
  return parsed;
}

// Splits export's own key=value arguments from config overrides.
ExportArguments parse_arguments(const std::vector<std::string>& arguments, std::vector<std::string>& overrides) {
  ExportArguments a;
  std::map<std::string, std::string*> own{{"ckpt", &a.checkpoint}, {"what", &a.what},          {"format", &a.format},
                                          {"out", &a.out},         {"batch", &a.batch},        {"noise", &a.noise},
                                          {"opset", &a.opset},     {"input", &a.input},        {"psi", &a.psi},
                                          {"cutoff", &a.cutoff},   {"normalize", &a.normalize}};
  for (const auto& argument : arguments) {
    const size_t eq = argument.find('=');
    const std::string key = argument.substr(0, eq);
    if (eq != std::string::npos && own.count(key))
      *own[key] = argument.substr(eq + 1);
    else
      overrides.push_back(argument);
  }
  const char* usage =
      " (loom export CONFIG ckpt=RUN what=stylizer|generator|clip_image|clip_text format=onnx out=FILE)";
  if (a.checkpoint.empty() || a.what.empty() || a.out.empty())
    throw UserError(cat("loom export: give ckpt=, what= and out=", usage));
  if (a.format != "onnx") throw UserError(cat("loom export: format=", a.format, ": only onnx is written", usage));
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

onnx::ExportedGraph generator(const ConfigNode& config, const ExportArguments& a, const onnx::GraphOptions& options) {
  const PretrainedImageGenerator g = load_pretrained_image_generator(a.checkpoint, config.find("model"), "model");
  if (!g.is_student())
    onnx::unsupported(cat("ckpt=", g.source, " (a StyleGAN2 generator)"),
                      "the StyleGAN2 synthesis network (what=generator exports BlazeStyleGAN students)");
  g.student->eval();
  std::cout << "export: generator, " << g.tensors_loaded << " tensors from " << g.source << "\n";
  if (a.input == "ws") return onnx::generator_graph(*g.student->synthesis, options);
  if (!g.student->mapping)
    throw UserError(cat("loom export input=z: ", g.source, " has no mapping network (model.mapping_layers 0)"));
  const onnx::Truncation truncation{number<double>("psi", a.psi), number<int64_t>("cutoff", a.cutoff)};
  return onnx::generator_graph(*g.student->synthesis, options, g.student->mapping.get(), truncation);
}

onnx::ExportedGraph stylizer(const ConfigNode& config, const std::string& config_path, const ExportArguments& a,
                             const onnx::GraphOptions& options) {
  const FewShotStylizer s = load_fewshot_stylizer(config, config_path, a.checkpoint);
  std::cout << "export: stylizer, student " << s.tuned_tensors << " tensors from " << s.tuned_source << ", encoder "
            << s.encoder.source << "\n";
  return onnx::stylizer_graph(*s.encoder.encoder, *s.generator.student->synthesis, s.generator.w_avg(), options);
}

// The image or text tower of an image-text model loaded as `loom embed` loads it.
onnx::ExportedGraph clip_tower(const ConfigNode& config, const ExportArguments& a, const onnx::GraphOptions& options) {
  const PretrainedImageTextModel m = load_pretrained_image_text_model(a.checkpoint, config.find("model"), "model");
  auto* clip = dynamic_cast<Clip*>(m.model.get());
  if (!clip)
    onnx::unsupported(cat("ckpt=", m.source),
                      cat("model '", registered_name(model_registry(), m.section, "model"), "' (what=", a.what,
                          " exports open_clip's CLIP: a ViT image tower and a text transformer)"));
  std::cout << "export: " << a.what << ", " << m.tensors_loaded << " tensors from " << m.source << "\n";
  const bool normalize = a.normalize == "true";
  return a.what == "clip_image" ? onnx::clip_image_graph(*clip, options, normalize)
                                : onnx::clip_text_graph(*clip, options, normalize);
}

}  // namespace

int export_model(const std::string& config_path, const std::vector<std::string>& arguments) {
  std::vector<std::string> overrides;
  const ExportArguments a = parse_arguments(arguments, overrides);
  const ConfigNode config = load_config(config_path, overrides);
  c10::NoGradGuard no_grad;
  const onnx::GraphOptions options{.dynamic_batch = a.batch == "dynamic",
                                   .noise = a.noise == "const" ? NoiseMode::constant : NoiseMode::none};
  onnx::ExportedGraph exported{onnx::Graph(""), {}};
  if (a.what == "generator")
    exported = generator(config, a, options);
  else if (a.what == "stylizer")
    exported = stylizer(config, config_path, a, options);
  else if (a.what == "clip_image" || a.what == "clip_text")
    exported = clip_tower(config, a, options);
  else
    throw UserError(cat("loom export: what=", a.what, ": stylizer, generator, clip_image or clip_text"));
  exported.info.metadata["loom.config"] = config_path;
  exported.info.metadata["loom.checkpoint"] = a.checkpoint;
  const onnx::WrittenModel written = onnx::write_model(a.out, exported.graph, exported.info);
  std::cout << "wrote " << written.model.string() << " (" << written.model_bytes << " bytes"
            << (written.data.empty() ? std::string() : cat(", weights in ", written.data.string()))
            << "): " << exported.graph.nodes().size() << " nodes, " << exported.graph.initializer_bytes()
            << " bytes of weights, opset " << onnx::kOpsetVersion << ", batch " << a.batch << ", noise " << a.noise
            << "\n";
  return 0;
}

}  // namespace loom::cli
