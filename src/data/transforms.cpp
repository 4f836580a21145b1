#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/config/config_schema.h"
#include "data/image_io.h"
#include "data/random.h"

namespace loom::data {

namespace {

using config_detail::fail;

const std::vector<std::string> kInterpolations = {"bilinear", "area", "nearest", "bicubic"};
// resize's: OpenCV's, and PIL's filters (antialias: true) under their PIL names.
const std::vector<std::string> kResizeInterpolations = {"bilinear", "area",    "nearest", "bicubic",
                                                        "box",      "hamming", "lanczos"};

int interpolation_flag(const std::string& name) {
  static const std::map<std::string, int> flags = {{"bilinear", cv::INTER_LINEAR},
                                                   {"area", cv::INTER_AREA},
                                                   {"nearest", cv::INTER_NEAREST},
                                                   {"bicubic", cv::INTER_CUBIC}};
  return flags.at(name);
}

const std::map<std::string, PilFilter>& pil_filters() {
  static const std::map<std::string, PilFilter> filters = {
      {"nearest", PilFilter::nearest}, {"box", PilFilter::box},         {"bilinear", PilFilter::bilinear},
      {"hamming", PilFilter::hamming}, {"bicubic", PilFilter::bicubic}, {"lanczos", PilFilter::lanczos}};
  return filters;
}

// `size` is one integer (a square, or the shorter side) or [height, width].
cv::Size read_size(const ConfigNode& node, const std::string& path, bool allow_pair) {
  std::vector<int> hw;
  if (node.is_list()) {
    config_detail::ConfigReader::convert(node, path, hw, {.min = 1});
  } else {
    int s = 0;
    config_detail::ConfigReader::convert(node, path, s, {.min = 1});
    hw = {s};
  }
  if (hw.size() == 2 && !allow_pair)
    fail(node, path, "expected one integer here (the shorter side), not [height, width]");
  if (hw.size() != 1 && hw.size() != 2) fail(node, path, "expected an integer or [height, width]");
  return {hw.back(), hw.front()};
}

std::array<double, 2> read_range(const std::vector<double>& v, const ConfigNode& item, const std::string& path) {
  if (v.size() != 2 || v[0] > v[1]) fail(item, path, "expected [low, high] with low <= high");
  return {v[0], v[1]};
}

struct ResizeOptions {
  std::string name;
  ConfigNode size;
  std::string mode = "shorter";
  std::string interpolation = "bilinear";
  bool antialias = false;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size,
      {.help = "shorter side (mode shorter), or size / [height, width] (modes exact, longest)", .required = true});
    v("mode", mode,
      {.help = "shorter: scale the shorter side to size; exact: resize to size; longest: fit inside size, aspect "
               "kept (open_clip's ResizeKeepRatio)",
       .choices = {"shorter", "exact", "longest"}});
    v("interpolation", interpolation,
      {.help = "resampling filter (box, hamming, lanczos: antialias only; area: not antialias)",
       .choices = kResizeInterpolations});
    v("antialias", antialias,
      {.help = "resample as PIL's Image.resize (torchvision on PIL images, open_clip) instead of OpenCV's cv::resize"});
  }
};

struct CenterCropOptions {
  std::string name;
  ConfigNode size;
  int fill = 0;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "crop size or [height, width]", .required = true});
    v("fill", fill,
      {.help = "value of the padding where the image is smaller than the crop (0..255, every channel)",
       .min = 0,
       .max = 255});
  }
};

struct RandomCropOptions {
  std::string name;
  ConfigNode size;
  int padding = 0;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "crop size or [height, width]", .required = true});
    v("padding", padding, {.help = "zero padding added on every side first", .min = 0});
  }
};

struct RandomResizedCropOptions {
  std::string name;
  ConfigNode size;
  std::vector<double> scale{0.08, 1.0};
  std::vector<double> ratio{3.0 / 4.0, 4.0 / 3.0};
  std::string interpolation = "bilinear";
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "output size or [height, width]", .required = true});
    v("scale", scale, {.help = "range of the crop's area fraction", .min = 0.0, .max = 1.0});
    v("ratio", ratio, {.help = "range of the crop's aspect ratio (width / height)", .min = 1e-6});
    v("interpolation", interpolation, {.help = "resampling filter", .choices = kInterpolations});
  }
};

struct FlipOptions {
  std::string name;
  double p = 0.5;
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("p", p, {.help = "probability of a horizontal flip", .min = 0.0, .max = 1.0});
  }
};

// ViTDet's large-scale jitter: detectron2's ResizeScale then FixedSizeCrop (see large_scale_jitter_step).
struct LargeScaleJitterOptions {
  std::string name;
  ConfigNode size;
  double min_scale = 0.1;
  double max_scale = 2.0;
  bool pad = true;
  int pad_value = 0;
  std::string interpolation = "bilinear";
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("size", size, {.help = "output size or [height, width] (1024 in ViTDet)", .required = true});
    v("min_scale", min_scale, {.help = "smallest scale of the output size the image is fitted into", .min = 1e-3});
    v("max_scale", max_scale, {.help = "largest scale of the output size the image is fitted into", .min = 1e-3});
    v("pad", pad, {.help = "pad a smaller image at the right and bottom to the output size"});
    v("pad_value", pad_value, {.help = "value of the padding pixels (0..255, every channel)", .min = 0, .max = 255});
    v("interpolation", interpolation, {.help = "resampling filter", .choices = kInterpolations});
  }
};

struct NormalizeOptions {
  std::string name;
  std::vector<double> mean{0.5, 0.5, 0.5};
  std::vector<double> std{0.5, 0.5, 0.5};
  template <class V>
  void visit(V& v) {
    v("name", name);
    v("mean", mean, {.help = "per-channel mean (RGB, on the [0, 1] scale)"});
    v("std", std, {.help = "per-channel standard deviation", .min = 1e-12});
  }
};

using Plan = std::vector<GeometricOp>;

// A resize step's resampling: OpenCV's flag, or PIL's filter (antialias). Filters one library lacks are
// errors at the interpolation key.
std::function<GeometricOp(cv::Size)> resampling(const ResizeOptions& o, const ConfigNode& item,
                                                const std::string& path) {
  const ConfigNode* node = item.find("interpolation");
  const ConfigNode& at = node ? *node : item;
  if (o.antialias) {
    if (o.interpolation == "area")
      fail(at, path + ".interpolation",
           "area is OpenCV's; with antialias: true choose one of PIL's filters (nearest, box, bilinear, hamming, "
           "bicubic, lanczos; box averages areas)");
    const PilFilter filter = pil_filters().at(o.interpolation);
    return [filter](cv::Size size) { return GeometricOp::antialiased_resize(size, filter); };
  }
  if (o.interpolation == "box" || o.interpolation == "hamming" || o.interpolation == "lanczos")
    fail(at, path + ".interpolation",
         cat(o.interpolation, " is one of PIL's antialiased filters: it needs antialias: true"));
  const int flag = interpolation_flag(o.interpolation);
  return [flag](cv::Size size) { return GeometricOp::resize(size, flag); };
}

Transforms::Step resize_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<ResizeOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", o.mode != "shorter");
  auto resize = resampling(o, item, path);
  if (o.mode == "exact") return [size, resize](cv::Size, std::mt19937_64&) { return Plan{resize(size)}; };
  if (o.mode == "longest")
    return [size, resize](cv::Size in, std::mt19937_64&) {
      // open_clip's ResizeKeepRatio(size, longest=1).get_params: ratio = max(h / th, w / tw), each side
      // round(side / ratio) (Python's round, half to even); at least 1, where PIL would refuse a 0 side.
      const double ratio =
          std::max(static_cast<double>(in.height) / size.height, static_cast<double>(in.width) / size.width);
      const cv::Size target(std::max(1, static_cast<int>(std::nearbyint(in.width / ratio))),
                            std::max(1, static_cast<int>(std::nearbyint(in.height / ratio))));
      return target == in ? Plan{} : Plan{resize(target)};
    };
  int side = size.height;
  return [side, resize](cv::Size in, std::mt19937_64&) {
    // torchvision's _compute_resized_output_size: the shorter side becomes `side`, the longer one
    // int(side * long / short): the same as this integer quotient while side * long < 2^53 (any image).
    int64_t h = in.height, w = in.width;
    cv::Size target =
        h <= w ? cv::Size(static_cast<int>(side * w / h), side) : cv::Size(side, static_cast<int>(side * h / w));
    return target == in ? Plan{} : Plan{resize(target)};
  };
}

// torchvision's center_crop: padding split evenly around an image smaller than the crop (the left and top
// get the smaller half), offsets rounded with Python's round() (half to even). torchvision pads with 0;
// `fill` makes it open_clip's CenterCropOrPad.
Transforms::Step center_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<CenterCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  const uint8_t fill = static_cast<uint8_t>(o.fill);
  return [size, fill](cv::Size in, std::mt19937_64&) {
    const int dh = std::max(0, size.height - in.height), dw = std::max(0, size.width - in.width);
    const int top = static_cast<int>(std::nearbyint((in.height + dh - size.height) / 2.0)) - dh / 2;
    const int left = static_cast<int>(std::nearbyint((in.width + dw - size.width) / 2.0)) - dw / 2;
    return Plan{GeometricOp::crop({left, top}, size, fill)};
  };
}

// A window of the image zero-padded by `padding` on every side, then evenly up to the crop size.
Transforms::Step random_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<RandomCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  int padding = o.padding;
  return [size, padding](cv::Size in, std::mt19937_64& rng) {
    const int ph = in.height + 2 * padding, pw = in.width + 2 * padding;
    const int dh = std::max(0, size.height - ph), dw = std::max(0, size.width - pw);
    const int top = static_cast<int>(uniform_int(rng, 0, ph + dh - size.height));
    const int left = static_cast<int>(uniform_int(rng, 0, pw + dw - size.width));
    return Plan{GeometricOp::crop({left - padding - dw / 2, top - padding - dh / 2}, size)};
  };
}

Transforms::Step random_resized_crop_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<RandomResizedCropOptions>(item, path);
  cv::Size size = read_size(o.size, path + ".size", true);
  std::array<double, 2> scale = read_range(o.scale, item, path + ".scale");
  std::array<double, 2> ratio = read_range(o.ratio, item, path + ".ratio");
  int flag = interpolation_flag(o.interpolation);
  return [=](cv::Size in, std::mt19937_64& rng) {
    CropBox box = random_resized_crop_box(in.height, in.width, scale, ratio, rng);
    return Plan{GeometricOp::crop({box.left, box.top}, {box.width, box.height}), GeometricOp::resize(size, flag)};
  };
}

Transforms::Step hflip_step(const ConfigNode& item, const std::string& path) {
  double p = read_config<FlipOptions>(item, path).p;
  return [p](cv::Size, std::mt19937_64& rng) { return uniform01(rng) >= p ? Plan{} : Plan{GeometricOp::hflip()}; };
}

// detectron2's ResizeScale(min_scale, max_scale, target_height, target_width): a scale s drawn
// uniformly, the image resized by min(s * target_h / h, s * target_w / w) (aspect kept, sides rounded
// half to even); then FixedSizeCrop(target): a random window of the target size where the image is
// larger (one uniform draw u for both offsets, round(u * (side - target))), padding at the right and
// bottom where it is smaller. Boxes are clipped to the window and those left without area removed.
Transforms::Step large_scale_jitter_step(const ConfigNode& item, const std::string& path) {
  auto o = read_config<LargeScaleJitterOptions>(item, path);
  cv::Size target = read_size(o.size, path + ".size", true);
  if (o.min_scale > o.max_scale) fail(item, path + ".min_scale", "must not be above max_scale");
  int flag = interpolation_flag(o.interpolation);
  const uint8_t fill = static_cast<uint8_t>(o.pad_value);
  return [=](cv::Size in, std::mt19937_64& rng) {
    const double s = uniform(rng, o.min_scale, o.max_scale);
    const double r = std::min(s * target.height / in.height, s * target.width / in.width);
    const cv::Size scaled(std::max(1, static_cast<int>(std::nearbyint(in.width * r))),
                          std::max(1, static_cast<int>(std::nearbyint(in.height * r))));
    const double u = uniform01(rng);
    const int top = static_cast<int>(std::nearbyint(std::max(0, scaled.height - target.height) * u));
    const int left = static_cast<int>(std::nearbyint(std::max(0, scaled.width - target.width) * u));
    const cv::Size window =
        o.pad ? target : cv::Size(std::min(target.width, scaled.width), std::min(target.height, scaled.height));
    return Plan{GeometricOp::resize(scaled, flag), GeometricOp::crop({left, top}, window, fill)};
  };
}

using StepFactory = Transforms::Step (*)(const ConfigNode&, const std::string&);
const std::map<std::string, StepFactory>& step_factories() {
  static const std::map<std::string, StepFactory> factories = {{"resize", resize_step},
                                                               {"center_crop", center_crop_step},
                                                               {"random_crop", random_crop_step},
                                                               {"random_resized_crop", random_resized_crop_step},
                                                               {"hflip", hflip_step},
                                                               {"large_scale_jitter", large_scale_jitter_step}};
  return factories;
}

}  // namespace

CropBox random_resized_crop_box(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                std::mt19937_64& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    double target = area * uniform(rng, scale[0], scale[1]);
    double aspect = std::exp(uniform(rng, log_lo, log_hi));
    int w = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    int h = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      int top = static_cast<int>(uniform_int(rng, 0, height - h));
      int left = static_cast<int>(uniform_int(rng, 0, width - w));
      return {top, left, h, w};
    }
  }
  // Fallback: the largest central crop whose aspect ratio is inside the range.
  double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio[0]) {
    h = std::max(1, static_cast<int>(std::lround(w / ratio[0])));
  } else if (in_ratio > ratio[1]) {
    w = std::max(1, static_cast<int>(std::lround(h * ratio[1])));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

std::vector<std::string> Transforms::names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : step_factories()) out.push_back(name);
  out.push_back("normalize");
  std::sort(out.begin(), out.end());
  return out;
}

Transforms Transforms::from_config(const ConfigNode& list, const std::string& path) {
  Transforms t;
  if (list.is_null()) return t;
  if (!list.is_list()) fail(list, path, cat("expected a list of transforms, got ", list.brief()));
  const auto& items = list.items();
  for (size_t i = 0; i < items.size(); ++i) {
    const ConfigNode& item = items[i];
    std::string item_path = cat(path, "[", i, "]");
    if (!item.is_map()) fail(item, item_path, cat("expected a mapping with a name, got ", item.brief()));
    if (t.mean_) fail(item, item_path, "normalize must be the last transform");
    const ConfigNode* name_node = item.find("name");
    if (!name_node) fail(item, item_path + ".name", "missing required value");
    std::string name;
    config_detail::ConfigReader::convert(*name_node, item_path + ".name", name, {.choices = names()});
    if (name == "normalize") {
      auto o = read_config<NormalizeOptions>(item, item_path);
      if (o.mean.size() != 3 || o.std.size() != 3) fail(item, item_path, "mean and std need three values (R, G, B)");
      t.mean_ = std::array<double, 3>{o.mean[0], o.mean[1], o.mean[2]};
      t.std_ = std::array<double, 3>{o.std[0], o.std[1], o.std[2]};
    } else {
      t.steps_.push_back(step_factories().at(name)(item, item_path));
    }
  }
  return t;
}

cv::Mat Transforms::geometry(const cv::Mat& rgb, Targets* targets, std::mt19937_64& rng) const {
  cv::Mat img = rgb;
  if (targets) targets->size();  // validates before any step
  for (const Step& step : steps_)
    for (const GeometricOp& op : step(img.size(), rng)) {
      if (targets) op.apply(*targets, img.size());
      img = op.apply(img);
    }
  return img;
}

cv::Mat Transforms::apply_geometry(const cv::Mat& rgb, std::mt19937_64& rng) const {
  return geometry(rgb, nullptr, rng);
}

cv::Mat Transforms::apply_geometry(const cv::Mat& rgb, Targets& targets, std::mt19937_64& rng) const {
  return geometry(rgb, &targets, rng);
}

at::Tensor Transforms::to_float(const cv::Mat& img) const {
  return mean_ ? to_tensor(img, mean_->data(), std_->data()) : to_tensor(img);
}

at::Tensor Transforms::operator()(const cv::Mat& rgb, std::mt19937_64& rng) const {
  return to_float(geometry(rgb, nullptr, rng));
}

at::Tensor Transforms::operator()(const cv::Mat& rgb, Targets& targets, std::mt19937_64& rng) const {
  return to_float(geometry(rgb, &targets, rng));
}

}  // namespace loom::data
