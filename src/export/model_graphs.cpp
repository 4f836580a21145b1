#include "export/model_graphs.h"

#include <functional>
#include <string>
#include <vector>

#include <ATen/ops/tensor.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text/cat.h"
#include "export/blazestylegan_onnx.h"
#include "export/clip_onnx.h"
#include "export/mapping_network_onnx.h"
#include "export/mobilenet_v2_encoder_onnx.h"
#include "export/onnx_ops.h"
#include "export/stylegan2_onnx.h"
#include "export/timm_vit_onnx.h"
#include "models/blazestylegan/blaze_synthesis.h"
#include "models/clip/clip.h"
#include "models/clip/siglip.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/stylegan2/synthesis_network.h"

namespace loom::onnx {

namespace {

Dim batch_dim(const GraphOptions& options) {
  return options.dynamic_batch ? Dim{std::string("batch")} : Dim{int64_t{1}};
}

std::string noise_name(NoiseMode noise) { return noise == NoiseMode::constant ? "const" : "none"; }

int64_t image_channels(BlazeSynthesisImpl& synthesis) {
  const UpToRgbImpl& head = *synthesis.levels().back()->up_to_rgb;
  return head.weight.size(0) / (head.output_scale() * head.output_scale());
}

}  // namespace

namespace {

// What generator_graph needs of either family's synthesis.
struct SynthesisExport {
  std::string family;
  int64_t resolution, channels, num_ws, w_dim;
  std::function<std::string(Graph&, const std::string& ws, NoiseMode)> emit;
};

ExportedGraph generator_graph(const SynthesisExport& synthesis, const GraphOptions& options,
                              MappingNetworkImpl* mapping, Truncation truncation) {
  ExportedGraph out{Graph("loom_generator", options.float16), {}};
  Graph& g = out.graph;
  const int64_t num_ws = synthesis.num_ws;
  std::string ws, input;
  if (mapping) {
    const int64_t z_dim = mapping->options().z_dim;
    if (mapping->options().num_ws < num_ws)
      throw UserError(cat("generator export: the mapping broadcasts ", mapping->options().num_ws,
                          " ws, the synthesis reads ", num_ws));
    ws = mapping_network(g, *mapping, g.input("z", {batch_dim(options), z_dim}), truncation.psi, truncation.cutoff);
    // The synthesis reads the first num_ws of the mapping's broadcast (BlazeSynthesisImpl::forward).
    if (mapping->options().num_ws != num_ws) ws = g.node("Slice", {ws, g.ints({0}), g.ints({num_ws}), g.ints({1})});
    input = cat("z [batch, ", z_dim, "] through the mapping, psi ", truncation.psi, ", cutoff ", truncation.cutoff);
  } else {
    ws = g.input("ws", {batch_dim(options), num_ws, synthesis.w_dim});
    input = cat("ws [batch, ", num_ws, ", ", synthesis.w_dim, "] W+");
  }
  const std::string image = synthesis.emit(g, ws, options.noise);
  g.output(image, "image", {batch_dim(options), synthesis.channels, synthesis.resolution, synthesis.resolution});
  out.info.doc = cat("Loom ", synthesis.family, ": ", mapping ? "z" : "W+", " -> image in [-1, 1]");
  out.info.metadata = {{"loom.what", "generator"},
                       {"loom.family", synthesis.family},
                       {"loom.input", input},
                       {"loom.output", "image in [-1, 1]"},
                       {"loom.noise", noise_name(options.noise)}};
  return out;
}

}  // namespace

ExportedGraph generator_graph(BlazeSynthesisImpl& synthesis, const GraphOptions& options, MappingNetworkImpl* mapping,
                              Truncation truncation) {
  const SynthesisExport e{
      "BlazeStyleGAN student",
      synthesis.resolution(),
      image_channels(synthesis),
      synthesis.num_ws(),
      synthesis.w_dim(),
      [&](Graph& g, const std::string& ws, NoiseMode noise) { return blaze_synthesis(g, synthesis, ws, noise); }};
  return generator_graph(e, options, mapping, truncation);
}

ExportedGraph generator_graph(SynthesisNetworkImpl& synthesis, const GraphOptions& options, MappingNetworkImpl* mapping,
                              Truncation truncation) {
  const auto& last = synthesis.blocks().back();
  const SynthesisExport e{
      "StyleGAN2 generator",
      last->conv1->resolution(),
      last->torgb->weight.size(0),
      synthesis.num_ws(),
      last->conv1->affine->weight.size(1),
      [&](Graph& g, const std::string& ws, NoiseMode noise) { return stylegan2_synthesis(g, synthesis, ws, noise); }};
  return generator_graph(e, options, mapping, truncation);
}

ExportedGraph stylizer_graph(MobileNetV2Encoder& encoder, BlazeSynthesisImpl& synthesis, const at::Tensor& w_avg,
                             const GraphOptions& options) {
  const auto& e = encoder.options();
  const int64_t r = synthesis.resolution();
  if (e.resolution != r || e.num_ws != synthesis.num_ws() || e.w_dim != synthesis.w_dim())
    throw UserError(cat("stylizer export: the encoder (", e.resolution, " px, ", e.num_ws, " ws of ", e.w_dim,
                        ") does not fit the student (", r, " px, ", synthesis.num_ws(), " ws of ", synthesis.w_dim(),
                        ")"));
  if (image_channels(synthesis) != 3)
    throw UserError(cat("stylizer export: the student makes ", image_channels(synthesis), "-channel images, not RGB"));
  if (w_avg.numel() != e.w_dim)
    throw UserError(cat("stylizer export: w_avg has ", w_avg.numel(), " values, not w_dim ", e.w_dim));

  ExportedGraph out{Graph("loom_stylizer", options.float16), {}};
  Graph& g = out.graph;
  const std::vector<Dim> shape{batch_dim(options), int64_t{3}, r, r};
  const std::string image = g.input("image", shape);
  std::string ws;
  {
    auto scope = g.scope("encoder");
    const std::string x = g.node("Sub", {mul(g, image, g.scalar(2.0f)), g.scalar(1.0f)});  // [0, 1] -> [-1, 1]
    ws = add(g, mobilenet_v2_encoder(g, encoder, x), g.constant(w_avg.reshape({1, 1, -1}), "w_avg"));
  }
  std::string y = blaze_synthesis(g, synthesis, ws, options.noise);
  {
    auto scope = g.scope("to_unit_range");
    y = clip(g, g.node("Div", {add(g, y, g.scalar(1.0f)), g.scalar(2.0f)}), 0.0f, 1.0f);
  }
  g.output(y, "stylized", shape);
  out.info.doc = "Loom stylizer: aligned face crop in [0, 1] -> encoder -> + w_avg -> student -> image in [0, 1]";
  out.info.metadata = {{"loom.what", "stylizer"},
                       {"loom.input", cat("image [batch, 3, ", r, ", ", r, "] in [0, 1], an aligned face crop")},
                       {"loom.output", "stylized image in [0, 1]"},
                       {"loom.noise", noise_name(options.noise)}};
  return out;
}

namespace {

// F.normalize(x, dim=-1) of Clip::encode_*: x / max(‖x‖₂, 1e-12).
std::string l2_normalized(Graph& g, const std::string& x) {
  auto scope = g.scope("normalize");
  const std::string norm = g.node("ReduceL2", {x}, {{"axes", std::vector<int64_t>{-1}}, {"keepdims", int64_t{1}}});
  return g.node("Div", {x, g.node("Max", {norm, g.scalar(1e-12f)})});
}

std::string embedding_meta(bool normalize) {
  return normalize ? "embedding [batch, embed_dim], L2-normalised" : "embedding [batch, embed_dim], unnormalised";
}

// The image tower of either layout (Clip: ViT; SigLip: timm ViT), unnormalised.
std::string image_tower(Graph& g, ImageTextModel& model, const std::string& images) {
  if (auto* clip = dynamic_cast<Clip*>(&model)) return vision_transformer(g, *clip->visual, images);
  if (auto* siglip = dynamic_cast<SigLip*>(&model)) return timm_vision_tower(g, *siglip->visual, images);
  unsupported("clip_image", "this image-text model");
}

// Both layouts share the text tower.
TextTransformerImpl& text_tower(ImageTextModel& model) {
  if (auto* clip = dynamic_cast<Clip*>(&model)) return *clip->text;
  if (auto* siglip = dynamic_cast<SigLip*>(&model)) return *siglip->text;
  unsupported("clip_text", "this image-text model");
}

}  // namespace

bool exports_image_text(const ImageTextModel& model) {
  return dynamic_cast<const Clip*>(&model) || dynamic_cast<const SigLip*>(&model);
}

ExportedGraph clip_image_graph(ImageTextModel& model, const GraphOptions& options, bool normalize) {
  const ImagePreprocessOptions& p = model.preprocess();
  const int64_t s = model.image_size();
  ExportedGraph out{Graph("loom_clip_image", options.float16), {}};
  Graph& g = out.graph;
  std::string x = g.input("image", {batch_dim(options), int64_t{3}, s, s});
  {
    // The Normalize of the model's preprocessing (data/transforms.cpp reads the first three values).
    auto scope = g.scope("preprocess");
    const auto per_channel = [](const std::vector<double>& v) {
      return at::tensor(std::vector<double>(v.begin(), v.begin() + 3), at::kDouble).view({1, 3, 1, 1});
    };
    x = g.node("Div",
               {g.node("Sub", {x, g.constant(per_channel(p.mean), "mean")}), g.constant(per_channel(p.std), "std")});
  }
  x = image_tower(g, model, x);
  if (normalize) x = l2_normalized(g, x);
  g.output(x, "embedding", {batch_dim(options), model.embed_dim()});
  const nlohmann::ordered_json preprocess{{"image_size", s},
                                          {"resize_mode", p.resize_mode},
                                          {"interpolation", p.interpolation},
                                          {"fill_color", p.fill_color},
                                          {"mean", p.mean},
                                          {"std", p.std}};
  out.info.doc = "Loom CLIP image tower: image in [0, 1] -> mean/std -> ViT -> embedding";
  out.info.metadata = {
      {"loom.what", "clip_image"},
      {"loom.input", cat("image [batch, 3, ", s, ", ", s, "] in [0, 1], resized and cropped (loom.preprocess); ",
                         "mean and std are applied in the graph")},
      {"loom.output", embedding_meta(normalize)},
      {"loom.preprocess", preprocess.dump()}};
  return out;
}

ExportedGraph clip_text_graph(ImageTextModel& model, const GraphOptions& options, bool normalize) {
  TextTransformerImpl& text = text_tower(model);
  const TextTransformerOptions& t = text.options();
  ExportedGraph out{Graph("loom_clip_text", options.float16), {}};
  Graph& g = out.graph;
  const std::string tokens = g.input("tokens", {batch_dim(options), t.context_length}, ElementType::int64);
  std::string x = text_transformer(g, text, tokens);
  if (normalize) x = l2_normalized(g, x);
  g.output(x, "embedding", {batch_dim(options), text.output_dim()});
  const nlohmann::ordered_json tokenizer{{"name", t.tokenizer.name},
                                         {"clean", t.tokenizer.clean},
                                         {"context_length", t.context_length},
                                         {"eot_token_id", t.eot_token_id}};
  out.info.doc = "Loom CLIP text tower: token ids -> transformer -> embedding";
  out.info.metadata = {
      {"loom.what", "clip_text"},
      {"loom.input", cat("tokens [batch, ", t.context_length, "] int64, the tokenizer's ids (loom.tokenizer)")},
      {"loom.output", embedding_meta(normalize)},
      {"loom.tokenizer", tokenizer.dump()}};
  return out;
}

}  // namespace loom::onnx
