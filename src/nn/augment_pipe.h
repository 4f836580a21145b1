#pragma once
// Differentiable discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
// Networks with Limited Data"), with the semantics of the NVlabs stylegan2-ada-pytorch AugmentPipe:
// pixel blitting (x-flip, 90° rotations, integer translation), general geometry (isotropic scale,
// rotation, anisotropic scale, fractional translation) and colour (brightness, contrast, luma flip,
// hue, saturation). Every transform fires per sample with probability multiplier · p, where p is the
// buffer "p" (checkpointed with the module, driven by AdaController). Geometry composes one inverse
// 3×3 matrix per sample and resamples once, at 2× through an orthogonal wavelet (sym6) so that the
// bilinear resampling does not alias; colour composes one 4×4 matrix per sample. The whole pipe is
// differentiable w.r.t. the images, twice (R1 on augmented reals differentiates through the gradient).
// The image-space filtering and corruption groups of the NVlabs pipe ("f", "n", "cutout") are not here.
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/config/config_schema.h"

namespace loom::nn {

// Probability multipliers after the preset is applied (0 = the transform is off, draws no random numbers).
struct AugmentMultipliers {
  double xflip = 0, rotate90 = 0, xint = 0;
  double scale = 0, rotate = 0, aniso = 0, xfrac = 0;
  double brightness = 0, contrast = 0, lumaflip = 0, hue = 0, saturation = 0;

  bool any_geometric() const {
    return xflip > 0 || rotate90 > 0 || xint > 0 || scale > 0 || rotate > 0 || aniso > 0 || xfrac > 0;
  }
  bool any_color(int64_t channels) const {
    return brightness > 0 || contrast > 0 || lumaflip > 0 || (channels > 1 && (hue > 0 || saturation > 0));
  }
};

struct AugmentPipeOptions {
  // The NVlabs preset names: "bgc" (blit + geom + color, the paper's choice), "bg", "blit", "geom",
  // "color", or "none". A multiplier set explicitly overrides the preset's 0 or 1.
  std::string preset = "bgc";
  std::optional<double> xflip, rotate90, xint, scale, rotate, aniso, xfrac;
  std::optional<double> brightness, contrast, lumaflip, hue, saturation;
  double xint_max = 0.125;      // integer translation range, relative to image size
  double scale_std = 0.2;       // log2 std of isotropic scaling
  double rotate_max = 1.0;      // rotation range, 1 = full circle
  double aniso_std = 0.2;       // log2 std of anisotropic scaling
  double xfrac_std = 0.125;     // std of fractional translation, relative to image size
  double brightness_std = 0.2;  // std of the added brightness
  double contrast_std = 0.5;    // log2 std of contrast
  double hue_max = 1.0;         // hue rotation range, 1 = full circle
  double saturation_std = 1.0;  // log2 std of saturation

  template <class V>
  void visit(V& v) {
    v("preset", preset,
      {.help = "transform set (NVlabs names)", .choices = {"bgc", "bg", "blit", "geom", "color", "none"}});
    const FieldSpec m{.help = "probability multiplier (overrides the preset)", .min = 0.0};
    v("xflip", xflip, m);
    v("rotate90", rotate90, m);
    v("xint", xint, m);
    v("scale", scale, m);
    v("rotate", rotate, m);
    v("aniso", aniso, m);
    v("xfrac", xfrac, m);
    v("brightness", brightness, m);
    v("contrast", contrast, m);
    v("lumaflip", lumaflip, m);
    v("hue", hue, m);
    v("saturation", saturation, m);
    v("xint_max", xint_max, {.help = "integer translation range (fraction of size)", .min = 0.0, .max = 0.5});
    v("scale_std", scale_std, {.help = "log2 std of isotropic scaling", .min = 0.0});
    v("rotate_max", rotate_max, {.help = "rotation range, 1 = full circle", .min = 0.0, .max = 1.0});
    v("aniso_std", aniso_std, {.help = "log2 std of anisotropic scaling", .min = 0.0});
    v("xfrac_std", xfrac_std, {.help = "std of fractional translation (fraction of size)", .min = 0.0});
    v("brightness_std", brightness_std, {.help = "std of brightness offset", .min = 0.0});
    v("contrast_std", contrast_std, {.help = "log2 std of contrast", .min = 0.0});
    v("hue_max", hue_max, {.help = "hue rotation range, 1 = full circle", .min = 0.0, .max = 1.0});
    v("saturation_std", saturation_std, {.help = "log2 std of saturation", .min = 0.0});
  }
};

// The preset's multipliers with the explicit ones applied. Throws UserError for an unknown preset.
AugmentMultipliers resolve_multipliers(const AugmentPipeOptions& options);

// The geometric resampling alone: images [N, C, H, W] and inverse transforms g_inv [N, 3, 3] in pixel
// units about the image centre (g_inv · output pixel = input pixel), as the pipe composes them.
at::Tensor augment_geometric(const at::Tensor& images, const at::Tensor& g_inv);
// The colour transform alone: images [N, 3 or 1, H, W], colour matrices c [N, 4, 4] acting on RGB1.
at::Tensor augment_color(const at::Tensor& images, const at::Tensor& c);

class AugmentPipeImpl : public torch::nn::Module {
 public:
  explicit AugmentPipeImpl(const AugmentPipeOptions& options = {});

  // images [N, C, H, W] floating point (C = 3 or 1 when colour transforms are on) -> same shape, dtype,
  // device. Random numbers come from `generator`, else the default generator of the images' device.
  // With p = 0 (or nothing enabled) returns `images` itself and draws nothing.
  at::Tensor forward(const at::Tensor& images, std::optional<at::Generator> generator = std::nullopt);

  void set_p(double p);  // writes the buffer, on its device
  double p() const;      // reads the buffer (a device sync when it lives on a GPU)

  const AugmentMultipliers& multipliers() const { return multipliers_; }
  const AugmentPipeOptions& options() const { return options_; }

  at::Tensor p_;  // the buffer "p": overall probability scale, a 0-dim float32 tensor

 private:
  at::Tensor geometric_inverse(int64_t batch, int64_t height, int64_t width, float p,
                               const std::optional<at::Generator>& generator, const at::Device& device) const;
  at::Tensor color_matrix(int64_t batch, int64_t channels, float p, const std::optional<at::Generator>& generator,
                          const at::Device& device) const;

  AugmentPipeOptions options_;
  AugmentMultipliers multipliers_;
};
TORCH_MODULE(AugmentPipe);

}  // namespace loom::nn
