// pil_resize against PIL itself and open_clip_transforms against open_clip's image_transform, through
// tests/python/pil_resize_reference.py on structured synthetic images and photographs that scikit-image
// ships: resized pixels must be PIL's bit for bit, open_clip's normalised tensors equal to float rounding.
// Each parity case prints its mean and largest differences.
#include <catch2/catch.hpp>

#include <ATen/ops/from_blob.h>
#include <opencv2/core.hpp>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/io/weights.h"
#include "core/text/cat.h"
#include "data/open_clip_preprocess.h"
#include "data/pil_resize.h"
#include "data/transforms.h"
#include "support/skimage_photos.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;

namespace {

const std::map<std::string, PilFilter> kFilters = {{"nearest", PilFilter::nearest},   {"box", PilFilter::box},
                                                   {"bilinear", PilFilter::bilinear}, {"hamming", PilFilter::hamming},
                                                   {"bicubic", PilFilter::bicubic},   {"lanczos", PilFilter::lanczos}};

const std::vector<double> kMean{0.48145466, 0.4578275, 0.40821073};  // open_clip's OPENAI_DATASET_MEAN, _STD
const std::vector<double> kStd{0.26862954, 0.26130258, 0.27577711};

// An h x w image with what resampling finds hard: smooth ramps, hard edges between 0 and 255 (the
// overshoot of bicubic and lanczos must clip in both passes), fine stripes and noise.
cv::Mat structured(int h, int w, int channels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-40, 40);
  cv::Mat img(h, w, CV_8UC(channels));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        int v = (x * 255 / std::max(1, w - 1) + y * 97 / std::max(1, h - 1) + 60 * c) % 256;
        if ((x / 7 + y / 5) % 3 == 0) v = (x + c) % 2 ? 255 : 0;  // saturated blocks and stripes
        img.ptr<uint8_t>(y)[x * channels + c] = cv::saturate_cast<uint8_t>(v + ((x + y) % 4 ? 0 : noise(rng)));
      }
  return img;
}

at::Tensor to_hwc(const cv::Mat& img) {
  cv::Mat c = img.clone();
  return at::from_blob(c.data, {c.rows, c.cols, c.channels()}, at::kByte).clone();
}

std::string comma_list(const std::vector<double>& values) {  // round-trip digits, as the reference parses them
  std::string s;
  for (double v : values) {
    if (!s.empty()) s += ',';
    s += config_detail::format_double(v);
  }
  return s;
}

struct Difference {
  double mean = 0, max = 0;
};

Difference difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a.reshape(1), b.reshape(1), d);
  return {cv::mean(d)[0], cv::norm(d, cv::NORM_INF)};
}

// Runs the reference on `images` with their case specs; returns its tensors by name.
std::map<std::string, at::Tensor> reference(const std::filesystem::path& dir,
                                            const std::map<std::string, cv::Mat>& images,
                                            const weights::Metadata& specs) {
  weights::NamedTensors in;
  for (const auto& [name, img] : images) in.emplace_back(name, to_hwc(img));
  const std::string in_path = (dir / "in.safetensors").string(), out_path = (dir / "out.safetensors").string();
  weights::write(in_path, in, specs);
  REQUIRE(test::run_python("pil_resize_reference.py", cat("cases ", in_path, " ", out_path)) == 0);
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : weights::read(out_path)) out[name] = t;
  return out;
}

}  // namespace

TEST_CASE("pil_resize is PIL's Image.resize bit for bit: every filter, down, up, odd and one-pixel sizes",
          "[data][pil][python]") {
  const auto dir = test::scratch("pil_resize_parity");
  const auto photo = test::skimage_photos(dir);
  struct Shape {
    cv::Size in, out;
    int channels;
  };
  std::vector<Shape> shapes = {
      {{640, 480}, {224, 168}, 3},  // down
      {{97, 61}, {301, 199}, 3},    // up
      {{101, 77}, {33, 150}, 3},    // down in x, up in y
      {{300, 200}, {299, 201}, 3},  // barely
      {{64, 48}, {64, 20}, 3},      // the vertical pass alone
      {{64, 48}, {31, 48}, 3},      // the horizontal pass alone
      {{40, 200}, {30, 150}, 3},    // the vertical pass first (Pillow 13): 50 rows lost > 2 x 10 columns
      {{50, 101}, {40, 80}, 3},     // 21 > 2 x 10: vertical first
      {{50, 100}, {40, 80}, 3},     // 20 = 2 x 10: horizontal first
      {{20, 90}, {60, 30}, 3},      // up in x, down in y: vertical first
      {{1, 37}, {5, 12}, 3},       {{37, 1}, {9, 1}, 3},     {{1, 1}, {7, 3}, 3},
      {{50, 40}, {1, 1}, 3},       {{123, 77}, {45, 90}, 1},  // mode "L"
  };
  std::mt19937 rng(11);  // any sizes: both pass orders, both directions per axis, near-equal sides
  std::uniform_int_distribution<int> side(1, 90);
  for (int i = 0; i < 30; ++i) shapes.push_back({{side(rng), side(rng)}, {side(rng), side(rng)}, i % 5 ? 3 : 1});
  std::map<std::string, cv::Mat> images;
  weights::Metadata specs;
  for (const auto& [filter, f] : kFilters) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      const std::string name =
          cat(filter, ".", s.in.width, "x", s.in.height, "c", s.channels, "_to_", s.out.width, "x", s.out.height);
      images[name] = structured(s.in.height, s.in.width, s.channels, static_cast<uint32_t>(i));
      specs[name] = cat("resize ", filter, " ", s.out.width, " ", s.out.height);
    }
    images[filter + ".astronaut"] = photo.at("astronaut");
    specs[filter + ".astronaut"] = cat("resize ", filter, " 224 224");
    images[filter + ".coffee_up"] = photo.at("coffee");
    specs[filter + ".coffee_up"] = cat("resize ", filter, " 777 555");
    cv::transpose(photo.at("coffee"), images[filter + ".coffee_portrait"]);
    specs[filter + ".coffee_portrait"] = cat("resize ", filter, " 224 224");
    images[filter + ".camera"] = photo.at("camera");
    specs[filter + ".camera"] = cat("resize ", filter, " 100 333");
  }
  const auto ref = reference(dir, images, specs);
  for (const auto& [filter, f] : kFilters) {
    Difference worst;
    for (const auto& [name, img] : images) {
      if (name.rfind(filter + ".", 0) != 0) continue;
      INFO(name);
      const cv::Mat expected = test::hwc_to_mat(ref.at(name));
      const cv::Mat ours = pil_resize(img, expected.size(), f);
      REQUIRE(ours.size() == expected.size());
      REQUIRE(ours.type() == expected.type());
      const Difference d = difference(ours, expected);
      CHECK(d.max == 0);
      worst = {std::max(worst.mean, d.mean), std::max(worst.max, d.max)};
    }
    std::printf("pil_resize %-8s vs PIL: mean |diff| <= %.4f, max %.0f levels (%zu cases)\n", filter.c_str(),
                worst.mean, worst.max, shapes.size() + 4);
  }
}

TEST_CASE("pil: open_clip_transforms reproduce open_clip's eval image_transform on photographs",
          "[data][pil][python]") {
  const auto dir = test::scratch("pil_open_clip_parity");
  auto photo = test::skimage_photos(dir);
  cv::Mat portrait;
  cv::transpose(photo.at("coffee"), portrait);
  photo["coffee_portrait"] = portrait;
  photo["small"] = structured(100, 150, 3, 7);  // upscaled in every mode
  photo.erase("camera");
  struct Mode {
    int64_t size;
    std::string resize_mode, interpolation;
    int64_t fill;
  };
  const std::vector<Mode> modes = {{224, "shortest", "bicubic", 0}, {224, "shortest", "bilinear", 0},
                                   {224, "longest", "bicubic", 0},  {224, "longest", "bilinear", 128},
                                   {224, "squash", "bicubic", 0},   {224, "squash", "bilinear", 0},
                                   {384, "shortest", "bicubic", 0}, {336, "longest", "random", 255}};
  const std::string mean = comma_list(kMean), stdev = comma_list(kStd);
  std::map<std::string, cv::Mat> images;
  weights::Metadata specs;
  for (const Mode& m : modes)
    for (const auto& [photo_name, img] : photo) {
      const std::string name = cat(m.resize_mode, ".", m.interpolation, ".", m.size, ".", m.fill, ".", photo_name);
      images[name] = img;
      specs[name] =
          cat("open_clip ", m.size, " ", m.resize_mode, " ", m.interpolation, " ", m.fill, " ", mean, " ", stdev);
    }
  const auto ref = reference(dir, images, specs);
  for (const Mode& m : modes) {
    const ConfigNode list = open_clip_transforms(m.size, kMean, kStd, m.interpolation, m.resize_mode, m.fill);
    const Transforms transforms = Transforms::from_config(list, "open_clip");
    Difference pixels, normalised, levels;
    for (const auto& [photo_name, img] : photo) {
      const std::string name = cat(m.resize_mode, ".", m.interpolation, ".", m.size, ".", m.fill, ".", photo_name);
      INFO(name);
      std::mt19937_64 rng(0);
      const cv::Mat geometry = transforms.apply_geometry(img, rng);
      const Difference p = difference(geometry, test::hwc_to_mat(ref.at(name + ".pixels")));
      CHECK(p.max == 0);
      const at::Tensor expected = ref.at(name + ".tensor");
      const at::Tensor ours = transforms(img, rng);
      REQUIRE(ours.sizes() == expected.sizes());
      const at::Tensor d = (ours - expected).abs();
      const at::Tensor std_levels = at::tensor(kStd, at::kFloat).view({3, 1, 1}) * 255;
      const Difference n{d.mean().item<double>(), d.max().item<double>()};
      const Difference l{(d * std_levels).mean().item<double>(), (d * std_levels).max().item<double>()};
      CHECK(n.max < 1e-5);
      CHECK(l.mean <= 0.5);  // the acceptance bar; bit-exact pixels leave only float rounding
      CHECK(l.max <= 2);
      for (auto [worst, x] : {std::pair{&pixels, p}, {&normalised, n}, {&levels, l}})
        *worst = {std::max(worst->mean, x.mean), std::max(worst->max, x.max)};
    }
    std::printf(
        "open_clip %-8s %-8s %-4lld fill %-3lld vs open_clip: pixels mean %.4f max %.0f levels; tensor mean %.2e "
        "max %.2e (normalised), mean %.2e max %.2e levels\n",
        m.resize_mode.c_str(), m.interpolation.c_str(), static_cast<long long>(m.size), static_cast<long long>(m.fill),
        pixels.mean, pixels.max, normalised.mean, normalised.max, levels.mean, levels.max);
  }
}

TEST_CASE("pil_resize reads any row stride, and a grey image as each channel of an RGB one", "[data][pil]") {
  const cv::Mat big = structured(90, 120, 3, 3);
  const cv::Mat view = big(cv::Rect(7, 5, 61, 43));
  REQUIRE_FALSE(view.isContinuous());
  for (const auto& [filter, f] : kFilters) {
    INFO(filter);
    CHECK(difference(pil_resize(view, {20, 70}, f), pil_resize(view.clone(), {20, 70}, f)).max == 0);
    std::vector<cv::Mat> planes;
    cv::split(view, planes);
    std::vector<cv::Mat> resized_planes;
    cv::split(pil_resize(view, {33, 17}, f), resized_planes);
    for (int c = 0; c < 3; ++c) CHECK(difference(pil_resize(planes[c], {33, 17}, f), resized_planes[c]).max == 0);
  }
  CHECK(difference(pil_resize(view, view.size(), PilFilter::lanczos), view).max == 0);  // the same size: a copy
  CHECK_THROWS_AS(pil_resize(cv::Mat(4, 4, CV_8UC4), {2, 2}, PilFilter::box), std::invalid_argument);
  CHECK_THROWS_AS(pil_resize(cv::Mat(4, 4, CV_32FC3), {2, 2}, PilFilter::box), std::invalid_argument);
  CHECK_THROWS_AS(pil_resize(view, {0, 2}, PilFilter::box), std::invalid_argument);
}

TEST_CASE("pil: resize longest and center_crop fill as open_clip, with targets moving along the antialiased image",
          "[data][pil]") {
  const auto geometry = [](const std::string& yaml, const cv::Mat& img, Targets& targets) {
    std::mt19937_64 rng(0);
    return Transforms::from_config(parse_yaml(yaml, "t.yaml"), "dataset.transforms").apply_geometry(img, targets, rng);
  };
  Targets t;
  t.boxes = at::tensor({10.0f, 20.0f, 110.0f, 70.0f}, at::kFloat).reshape({1, 4});
  t.masks = at::zeros({1, 100, 300}, at::kByte);
  t.masks.slice(1, 20, 70).slice(2, 10, 110).fill_(1);
  // 300 x 100 into 224: ratio max(100 / 224, 300 / 224) = 300 / 224, sides round(224.0), round(74.67) = 75.
  const cv::Mat img = structured(100, 300, 3, 5);
  cv::Mat out = geometry(
      "- {name: resize, size: 224, mode: longest, antialias: true, interpolation: bicubic}\n"
      "- {name: center_crop, size: 224, fill: 114}",
      img, t);
  REQUIRE(out.size() == cv::Size(224, 224));
  // (224 - 75) // 2 = 74 rows of fill above, 75 below, as CenterCropOrPad pads.
  CHECK(out.at<cv::Vec3b>(73, 100) == cv::Vec3b(114, 114, 114));
  CHECK(out.at<cv::Vec3b>(74 + 75, 100) == cv::Vec3b(114, 114, 114));
  CHECK(difference(out(cv::Rect(0, 74, 224, 75)), pil_resize(img, {224, 75}, PilFilter::bicubic)).max == 0);
  const float s = 224.0f / 300.0f, sy = 75.0f / 100.0f;
  const at::Tensor expected = at::tensor({10 * s, 20 * sy + 74, 110 * s, 70 * sy + 74}, at::kFloat).reshape({1, 4});
  CHECK(at::allclose(t.boxes, expected, 1e-4, 1e-4));
  REQUIRE(t.masks.sizes() == at::IntArrayRef{1, 224, 224});
  CHECK(t.masks[0][74 + 40][40].item<uint8_t>() == 1);  // inside the moved box
  CHECK(t.masks[0][10][40].item<uint8_t>() == 0);       // padding
}

TEST_CASE("pil: antialias option errors name the key", "[data][pil]") {
  const auto parse = [](const std::string& yaml) {
    return Transforms::from_config(parse_yaml(yaml, "t.yaml"), "dataset.transforms");
  };
  CHECK_THROWS_WITH(parse("- {name: resize, size: 8, antialias: true, interpolation: area}"),
                    Catch::Contains("dataset.transforms[0].interpolation") && Catch::Contains("box"));
  CHECK_THROWS_WITH(parse("- {name: resize, size: 8, interpolation: lanczos}"),
                    Catch::Contains("dataset.transforms[0].interpolation") && Catch::Contains("antialias: true"));
  CHECK_THROWS_WITH(parse("- {name: resize, size: 8, antialias: true, interpolation: lanczoz}"),
                    Catch::Contains("dataset.transforms[0].interpolation") && Catch::Contains("lanczos"));
  CHECK_THROWS_WITH(parse("- {name: resize, size: 8, antialias: maybe}"),
                    Catch::Contains("dataset.transforms[0].antialias"));
  CHECK_THROWS_WITH(parse("- {name: center_crop, size: 8, fill: 256}"), Catch::Contains("dataset.transforms[0].fill"));
  CHECK_NOTHROW(parse("- {name: resize, size: [8, 9], mode: longest, antialias: true, interpolation: hamming}"));
}

TEST_CASE("pil: open_clip_transforms, the list of each resize_mode, and its argument errors", "[data][pil]") {
  const ConfigNode shortest = open_clip_transforms(224, kMean, kStd, "bicubic", "shortest", 7);
  REQUIRE(shortest.items().size() == 3);
  CHECK(to_flow_yaml(shortest.items()[0]) ==
        R"({name: "resize", size: 224, mode: "shorter", interpolation: "bicubic", antialias: true})");
  CHECK(to_flow_yaml(shortest.items()[1]) == R"({name: "center_crop", size: 224})");  // fill only pads in longest
  CHECK(shortest.items()[2].find("name")->scalar() == "normalize");
  const ConfigNode longest = open_clip_transforms(224, kMean, kStd, "random", "longest", 7);
  CHECK(to_flow_yaml(longest.items()[0]).find(R"(mode: "longest", interpolation: "bicubic")") != std::string::npos);
  CHECK(to_flow_yaml(longest.items()[1]) == R"({name: "center_crop", size: 224, fill: 7})");
  CHECK(open_clip_transforms(224, kMean, kStd, "bilinear", "squash", 0).items().size() == 2);
  CHECK_THROWS_WITH(open_clip_transforms(224, kMean, kStd, "area", "shortest", 0), Catch::StartsWith("interpolation:"));
  CHECK_THROWS_WITH(open_clip_transforms(224, kMean, kStd, "bicubic", "crop", 0), Catch::StartsWith("resize_mode:"));
  CHECK_THROWS_WITH(open_clip_transforms(224, kMean, kStd, "bicubic", "longest", 300),
                    Catch::StartsWith("fill_color:"));
  CHECK_THROWS_WITH(open_clip_transforms(0, kMean, kStd, "bicubic", "longest", 0), Catch::StartsWith("image_size:"));
  CHECK_NOTHROW(open_clip_transforms(224, kMean, kStd, "lanczos", "squash", 0));
}
