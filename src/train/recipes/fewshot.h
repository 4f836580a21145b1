#pragma once
// Recipe `fewshot`: a distilled BlazeStyleGAN student fine-tuned to a style from a handful of images,
// MediaPipe Model Maker's face stylizer algorithm (FaceStylizer._train_model) generalised from its one
// image to any number. Frozen: the inversion encoder, the mapping network, D; trained: the synthesis.
//   style codes  s_k = E(style image k) + w_avg, once, for every style image k;
//   each step    B samples; sample b takes style image k = (step·B + b) mod N, so every step draws
//                from all images in turn; z ~ N(0, I) through the mapping gives a random w, mixed into
//                the swap layers: w[l] = a·s_k[l] + (1 − a)·w_rand[l] for l in swap_layers, s_k elsewhere;
//   loss         l1·|G(w) − x_k| + perceptual (VGG19 content + Gram style) + d_l1 · L1 between the
//                frozen D's outputs for x_k and for G(w).
// Presets (recipe.preset), every value overridable:
//   mediapipe  a = alpha (the style code's weight; MediaPipe's default 0.1), swap [4, 5, 10, 11],
//              l1 0.5, VGG19 content 4 (tap weights .1, .1, 1, 1, 1) + Gram style 1, d_l1 0.2 on D's
//              logits; with Adam lr 8e-4, betas (0, 0.99), batch 4, 100 steps (configs/fewshot/).
//              MediaPipe's code sums only the last tap's Gram loss (its _get_style_loss returns the
//              last loop value); recipe.mediapipe_style_bug: true reproduces that, off by default.
//   jojogan    JoJoGAN's stylize.ipynb: alpha is its user-facing "strength" and the mix uses
//              a = 1 − alpha (strength 1, its default, replaces the swap layers by the random w), swap
//              layers 7 … num_ws − 1 (its range(7, n_latent)), no pixel or VGG term, d_l1 1 as the mean
//              over D's block outputs of the L1 between their features (JoJoGAN's feature matching);
//              with Adam lr 2e-3, betas (0, 0.99).
// Evaluation on held-out faces (data.eval): the stylized output's Gram and LPIPS distance to the style
// images (style), its LPIPS to the untouched generator's reconstruction (content) and, when the data
// carries true landmarks, dlib's landmark error on the output; grids input | reconstruction | stylized.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "losses/perceptual/perceptual_loss.h"
#include "train/components.h"
#include "train/recipe.h"

namespace loom {

class BlazeStyleGan;
class DiscriminatorImpl;
class MobileNetV2Encoder;

struct FewShotRecipeOptions {
  std::string name = "fewshot";
  std::string preset = "mediapipe";
  std::string generator;      // the student: a distill run folder, checkpoint or weight file
  std::string encoder;        // an encoder run folder, checkpoint or weight file
  std::string discriminator;  // a file with D (a stylegan2 or distill run); "" = the generator file's own
  std::vector<int64_t> swap_layers;
  std::optional<double> alpha, l1, perceptual, d_l1;
  std::string d_features;  // logits | blocks; "" = the preset's
  bool mediapipe_style_bug = false;
  std::string style_align = "none";  // none | ffhq | mediapipe: cut the style images' faces first
  PerceptualLossOptions perceptual_loss = default_perceptual();

  static PerceptualLossOptions default_perceptual() {
    PerceptualLossOptions p;
    p.kind = "vgg_style";
    p.net = "vgg19";
    p.content_weight = 4.0;
    p.style_weight = 1.0;
    return p;
  }

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("preset", preset,
      {.help = "the algorithm and its defaults: mediapipe (MediaPipe Model Maker) or jojogan",
       .choices = {"mediapipe", "jojogan"}});
    v("generator", generator, {.help = "the student to fine-tune: a distill run folder, checkpoint or weight file"});
    v("encoder", encoder, {.help = "the inversion encoder: an encoder run folder, checkpoint or weight file"});
    v("discriminator", discriminator,
      {.help = "a file holding the frozen D (stylegan2 or distill run); empty = the generator file's"});
    v("swap_layers", swap_layers,
      {.help = "W+ layers mixed with random ws (default: mediapipe 4,5,10,11; jojogan 7..num_ws-1)"});
    v("alpha", alpha,
      {.help = "mediapipe: the style code's weight on the swap layers (0.1); jojogan: strength, mixed as 1 - alpha (1)",
       .min = 0.0,
       .max = 1.0});
    v("l1", l1, {.help = "weight of the pixel L1 to the style image (mediapipe 0.5, jojogan 0)", .min = 0.0});
    v("perceptual", perceptual,
      {.help = "weight of the perceptual loss (content + style, mediapipe 1, jojogan 0)", .min = 0.0});
    v("d_l1", d_l1, {.help = "weight of the L1 between frozen-D outputs (mediapipe 0.2, jojogan 1)", .min = 0.0});
    v("d_features", d_features,
      {.help = "what of D is compared: logits (mediapipe) or every block's output (jojogan)",
       .choices = {"", "logits", "blocks"}});
    v("mediapipe_style_bug", mediapipe_style_bug,
      {.help = "reproduce MediaPipe's style loss, which counts only the last VGG tap's Gram term"});
    v("style_align", style_align,
      {.help = "align the style images first: none (they are aligned crops), ffhq or mediapipe (dlib's landmarks; "
               "images without a face are skipped and reported)",
       .choices = {"none", "ffhq", "mediapipe"}});
    v("perceptual_loss", perceptual_loss, {.help = "the perceptual loss (default VGG19 content 4 + Gram style 1)"});
  }
};

struct FewShotDataOptions {
  ConfigNode style, eval;

  template <class V>
  void visit(V& v) {
    v("style", style, {.help = "the style images (aligned faces, [0, 1]); every one of them is used"});
    v("eval", eval, {.help = "held-out aligned faces the evaluation stylizes (with `landmarks` when known)"});
  }
};

struct FewShotEvalOptions {
  int64_t num_images = 64;
  int64_t batch_size = 16;
  int64_t grid_images = 8;
  PerceptualLossOptions perceptual;  // LPIPS, for the style and content distances
  bool landmarks = true;             // dlib's landmark error on the output where data.eval has landmarks

  template <class V>
  void visit(V& v) {
    v("num_images", num_images, {.help = "held-out faces stylized per evaluation", .min = 1});
    v("batch_size", batch_size, {.help = "evaluation batch size", .min = 1});
    v("grid_images", grid_images, {.help = "faces in the input | reconstruction | stylized grid", .min = 1});
    v("perceptual", perceptual, {.help = "the perceptual distance (LPIPS) of the style and content scores"});
    v("landmarks", landmarks, {.help = "score content by dlib's landmarks on the output against the true ones"});
  }
};

class FewShotRecipe : public Recipe {
 public:
  explicit FewShotRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;
  void write_samples(const EvalContext& context) override;
  void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) override;

 private:
  struct Resolved {  // the preset's defaults filled in
    std::vector<int64_t> swap_layers;
    double style_weight_on_swap = 0;  // `a` of the mix
    double l1 = 0, perceptual = 0, d_l1 = 0;
    bool d_blocks = false;
  };
  Resolved resolve(int64_t num_ws) const;
  void load_style_images(c10::Device device);
  std::vector<at::Tensor> d_outputs(const at::Tensor& images);
  LossOutput loss(const data::Batch& batch, const StepInfo& info);
  at::Tensor stylize(BlazeStyleGan& generator, const at::Tensor& images);  // [-1, 1] in and out

  RecipeSections sections_;
  FewShotRecipeOptions options_;
  FewShotDataOptions data_;
  FewShotEvalOptions eval_;
  Resolved r_;
  std::shared_ptr<BlazeStyleGan> student_, original_;
  std::shared_ptr<MobileNetV2Encoder> encoder_;
  std::shared_ptr<DiscriminatorImpl> discriminator_;
  PerceptualLoss perceptual_{nullptr}, eval_perceptual_{nullptr}, gram_{nullptr};
  at::Tensor styles_, style_codes_;         // [N, 3, R, R] in [-1, 1]; [N, num_ws, w_dim]
  at::Tensor swap_mask_;                    // [1, num_ws, 1]: 1 on the swap layers
  std::vector<at::Tensor> style_d_;         // D's outputs for the style images (the compared ones)
  std::vector<at::Tensor> style_features_;  // their perceptual features per tap; empty = per step
  std::shared_ptr<const data::Dataset> eval_data_;
  uint64_t seed_ = 0;
};

void register_fewshot_recipe();

}  // namespace loom
