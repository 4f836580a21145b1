#pragma once
// `loom export CONFIG ckpt=RUN what=... format=onnx|torch out=FILE [key=value ...]`: a trained model as an
// ONNX file (src/export/, opset 17) that onnxruntime and other ONNX tools run without Loom, or
// (format=torch) its modules' state dict as a torch.save zip with FILE.json beside it (the graph's
// inputs and outputs, each module's model section, the run's config).
//   what=stylizer   CONFIG is the fewshot run's config, ckpt= the fewshot run (or its checkpoint or
//                   exported weights): "image" [batch, 3, R, R] in [0, 1], an aligned face crop ->
//                   encoder -> + w_avg -> fine-tuned student -> "stylized" in [0, 1] (loom stylize's chain)
//   what=generator  CONFIG and ckpt= as for loom generate, a BlazeStyleGAN student or a StyleGAN2
//                   generator: "ws" W+ -> "image" in [-1, 1]; input=z: "z" through its mapping network,
//                   truncated by psi= (cutoff= the first ws only)
//   batch=dynamic|1 (default dynamic: a symbolic "batch" dimension)   noise=const|none (default const,
//                   baked in as constants)   fp16=true (float16 weights and arithmetic, float32 inputs
//                   and outputs)   opset=17 (the one written)
// Other key=value arguments are config overrides. Unsupported modules and ops are exit 2 naming them.
#include <string>
#include <vector>

namespace loom::cli {

int export_model(const std::string& config_path, const std::vector<std::string>& arguments);

}  // namespace loom::cli
