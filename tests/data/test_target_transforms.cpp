#include <catch2/catch.hpp>

#include <ATen/ops/equal.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <opencv2/core.hpp>

#include "app/register_all.h"
#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/synthetic/scenes.h"
#include "data/transforms.h"

using namespace loom;
using namespace loom::data;

namespace {

Transforms parse(const std::string& yaml) {
  return Transforms::from_config(parse_yaml(yaml, "t.yaml"), "dataset.transforms");
}

cv::Mat gray(int h, int w, uint8_t value = 50) { return cv::Mat(h, w, CV_8UC3, cv::Scalar::all(value)); }

Targets boxes(std::vector<float> xyxy) {
  Targets t;
  const int64_t k = static_cast<int64_t>(xyxy.size() / 4);
  t.boxes = at::tensor(xyxy, at::kFloat).reshape({k, 4});
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < k; ++i) labels.push_back(10 + i);
  t.attributes["labels"] = at::tensor(labels, at::kLong);
  return t;
}

std::vector<float> values(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// Geometry of `yaml` on an image of h x w, moving `targets`; the output size comes back.
cv::Size run(const std::string& yaml, int h, int w, Targets& targets, uint64_t seed = 0) {
  std::mt19937_64 rng(seed);
  return parse(yaml).apply_geometry(gray(h, w), targets, rng).size();
}

}  // namespace

TEST_CASE("targets: hflip mirrors boxes (x1' = W - x2) and keypoints (x' = W - x)") {
  Targets t = boxes({2, 3, 5, 7, 0, 0, 10, 1});
  t.keypoints = at::tensor({2.5f, 3.5f, 2.0f, 0.0f, 1.0f, 1.0f}, at::kFloat).reshape({2, 1, 3});
  CHECK(run("- {name: hflip, p: 1}", 8, 10, t) == cv::Size(10, 8));
  CHECK_THAT(values(t.boxes), Catch::Matchers::Approx(std::vector<float>{5, 3, 8, 7, 0, 0, 10, 1}));
  CHECK_THAT(values(t.keypoints), Catch::Matchers::Approx(std::vector<float>{7.5f, 3.5f, 2, 10, 1, 1}));
  Targets same = boxes({2, 3, 5, 7});
  run("- {name: hflip, p: 0}", 8, 10, same);
  CHECK_THAT(values(same.boxes), Catch::Matchers::Approx(std::vector<float>{2, 3, 5, 7}));
}

TEST_CASE("targets: resize scales x by W'/W and y by H'/H in every mode") {
  Targets t = boxes({2, 4, 6, 8});
  t.keypoints = at::tensor({3.0f, 4.0f, 2.0f}, at::kFloat).reshape({1, 1, 3});
  CHECK(run("- {name: resize, size: [5, 40], mode: exact}", 10, 20, t) == cv::Size(40, 5));
  CHECK_THAT(values(t.boxes), Catch::Matchers::Approx(std::vector<float>{4, 2, 12, 4}));
  CHECK_THAT(values(t.keypoints), Catch::Matchers::Approx(std::vector<float>{6, 2, 2}));
  Targets shorter = boxes({10, 10, 30, 20});
  CHECK(run("- {name: resize, size: 20}", 40, 100, shorter) == cv::Size(50, 20));
  CHECK_THAT(values(shorter.boxes), Catch::Matchers::Approx(std::vector<float>{5, 5, 15, 10}));
}

TEST_CASE("targets: center_crop shifts, clips and removes boxes left without area") {
  // 6 x 8 to 4: the window starts at (left 2, top 1).
  Targets t = boxes({1, 0, 3, 2, 7, 5, 8, 6, 2, 1, 6, 5});
  t.keypoints = at::tensor({2.5f, 1.5f, 2.0f, 7.5f, 5.5f, 2.0f, 0.5f, 0.5f, 2.0f}, at::kFloat).reshape({3, 1, 3});
  CHECK(run("- {name: center_crop, size: 4}", 6, 8, t) == cv::Size(4, 4));
  CHECK(t.removed == 1);  // (7, 5, 8, 6) lies right of the window
  CHECK_THAT(values(t.boxes), Catch::Matchers::Approx(std::vector<float>{0, 0, 1, 1, 0, 0, 4, 4}));
  CHECK(values(t.attributes.at("labels")) == std::vector<float>{10, 12});
  // Keypoints go with their instance; outside the window they stay but become invisible.
  CHECK_THAT(values(t.keypoints), Catch::Matchers::Approx(std::vector<float>{0.5f, 0.5f, 2.0f, -1.5f, -0.5f, 0.0f}));
  // Padding (a 2 x 2 image in a 4 x 2 window): one row above.
  Targets padded = boxes({0, 0, 2, 2});
  CHECK(run("- {name: center_crop, size: [4, 2]}", 2, 2, padded) == cv::Size(2, 4));
  CHECK_THAT(values(padded.boxes), Catch::Matchers::Approx(std::vector<float>{0, 1, 2, 3}));
  CHECK(padded.removed == 0);
}

TEST_CASE("targets: random_crop moves boxes by the window it drew") {
  // Image pixel (y, x) holds (y, x, 7): the window's offset is read off the output.
  cv::Mat img(6, 6, CV_8UC3);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(y), static_cast<uchar>(x), 7);
  auto t = parse("- {name: random_crop, size: 4, padding: 2}");
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Targets target = boxes({2, 2, 4, 4});
    std::mt19937_64 rng(seed), plain(seed);
    cv::Mat out = t.apply_geometry(img, target, rng);
    CHECK(cv::norm(out, t.apply_geometry(img, plain), cv::NORM_INF) == 0);  // the same window with or without targets
    // Where is image pixel (2, 2), i.e. the box's top-left pixel, in the output?
    int oy = -100, ox = -100;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x)
        if (out.at<cv::Vec3b>(y, x) == cv::Vec3b(2, 2, 7)) oy = y, ox = x;
    if (oy < 0) continue;  // left the window: checked by the clipping cases
    REQUIRE(target.size() == 1);
    const auto b = values(target.boxes);
    CHECK(b[0] == static_cast<float>(ox));
    CHECK(b[1] == static_cast<float>(oy));
    CHECK(b[2] == std::min(4.0f, static_cast<float>(ox + 2)));
  }
}

TEST_CASE("targets: random_resized_crop crops at its drawn window, then scales") {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Targets t = boxes({10, 20, 30, 40, 0, 0, 1, 1});
    CHECK(run("- {name: random_resized_crop, size: [25, 50]}", 60, 80, t, seed) == cv::Size(50, 25));
    std::mt19937_64 rng(seed);
    const CropBox c = random_resized_crop_box(60, 80, {0.08, 1.0}, {3.0 / 4, 4.0 / 3}, rng);  // the step's draws
    const double sx = 50.0 / c.width, sy = 25.0 / c.height;
    std::vector<float> expected;
    int64_t removed = 0;
    for (std::array<float, 4> b : {std::array<float, 4>{10, 20, 30, 40}, std::array<float, 4>{0, 0, 1, 1}}) {
      float x1 = std::clamp(b[0] - c.left, 0.0f, float(c.width)), x2 = std::clamp(b[2] - c.left, 0.0f, float(c.width));
      float y1 = std::clamp(b[1] - c.top, 0.0f, float(c.height)), y2 = std::clamp(b[3] - c.top, 0.0f, float(c.height));
      if (!(x2 > x1 && y2 > y1)) {
        ++removed;
        continue;
      }
      for (double v : {x1 * sx, y1 * sy, x2 * sx, y2 * sy}) expected.push_back(static_cast<float>(v));
    }
    CHECK(t.removed == removed);
    CHECK_THAT(values(t.boxes), Catch::Matchers::Approx(expected).margin(1e-4));
  }
}

TEST_CASE("targets: large_scale_jitter resizes into the scaled target, crops or pads to the size") {
  // Scale 0.5 of 32: a 40 x 80 image fits 16 x 16 at r = min(16/40, 16/80) = 0.2 -> 8 x 16, padded at
  // the right and bottom to 32 x 32 with pad_value.
  Targets t = boxes({10, 20, 30, 40});
  std::mt19937_64 rng(3);
  cv::Mat out = parse("- {name: large_scale_jitter, size: 32, min_scale: 0.5, max_scale: 0.5, pad_value: 114}")
                    .apply_geometry(gray(40, 80), t, rng);
  REQUIRE(out.size() == cv::Size(32, 32));
  CHECK(out.at<cv::Vec3b>(7, 15) == cv::Vec3b(50, 50, 50));
  CHECK(out.at<cv::Vec3b>(8, 0) == cv::Vec3b(114, 114, 114));
  CHECK(out.at<cv::Vec3b>(0, 16) == cv::Vec3b(114, 114, 114));
  CHECK_THAT(values(t.boxes), Catch::Matchers::Approx(std::vector<float>{2, 4, 6, 8}));
  Targets unpadded = boxes({10, 20, 30, 40});
  CHECK(run("- {name: large_scale_jitter, size: 32, min_scale: 0.5, max_scale: 0.5, pad: false}", 40, 80, unpadded) ==
        cv::Size(16, 8));

  // Scale 2 of 16: a 20 x 20 image becomes 32 x 32 (r = 1.6), then a 16 x 16 window at
  // round(u * 16) for the step's second draw u, both axes.
  int64_t removed = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Targets jittered = boxes({5, 5, 10, 10, 15, 15, 20, 20});
    jittered.masks = at::zeros({2, 20, 20}, at::kByte);
    jittered.masks[0].slice(0, 5, 10).slice(1, 5, 10).fill_(1);
    jittered.masks[1].slice(0, 15, 20).slice(1, 15, 20).fill_(1);
    CHECK(run("- {name: large_scale_jitter, size: 16, min_scale: 2, max_scale: 2, interpolation: nearest}", 20, 20,
              jittered, seed) == cv::Size(16, 16));
    std::mt19937_64 draws(seed);
    uniform(draws, 2, 2);
    const float off = static_cast<float>(std::nearbyint(16 * uniform01(draws)));
    std::vector<float> expected;
    int64_t gone = 0;
    for (float lo : {8.0f, 24.0f}) {  // the boxes' corners after the scale: (8, 16) and (24, 32)
      float a = std::clamp(lo - off, 0.0f, 16.0f), b = std::clamp(lo + 8 - off, 0.0f, 16.0f);
      if (b > a) {
        for (float v : {a, a, b, b}) expected.push_back(v);
      } else {
        ++gone;
      }
    }
    CHECK_THAT(values(jittered.boxes), Catch::Matchers::Approx(expected));
    CHECK(jittered.removed == gone);
    CHECK(jittered.attributes.at("labels").size(0) == 2 - gone);
    // The masks went through the same resize and crop: each one's pixels fill its box exactly.
    REQUIRE(jittered.masks.sizes() == at::IntArrayRef{2 - gone, 16, 16});
    for (int64_t k = 0; k < jittered.size(); ++k) {
      const auto b = values(jittered.boxes[k]);
      const int64_t area = static_cast<int64_t>((b[2] - b[0]) * (b[3] - b[1]));
      CHECK(jittered.masks[k].sum().item<int64_t>() == area);
      CHECK(jittered.masks[k][static_cast<int64_t>(b[1])][static_cast<int64_t>(b[0])].item<uint8_t>() == 1);
    }
    removed += gone;
  }
  CHECK(removed > 0);  // some windows missed a box
  CHECK_THROWS_WITH(parse("- {name: large_scale_jitter, size: 16, min_scale: 2, max_scale: 1}"),
                    Catch::Contains("dataset.transforms[0].min_scale"));
  CHECK_THROWS_AS(parse("- {name: large_scale_jitter}"), ConfigError);
}

TEST_CASE("targets: the image is the same with or without targets, normalize leaves targets alone") {
  auto t = parse("- {name: random_resized_crop, size: 16}\n- {name: hflip}\n- {name: normalize}\n");
  cv::Mat img(40, 50, CV_8UC3);
  cv::randu(img, 0, 255);
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Targets target = boxes({0, 0, 50, 40});
    std::mt19937_64 a(seed), b(seed);
    CHECK(at::equal(t(img, a), t(img, target, b)));
    CHECK(target.size() == 1);
  }
  Targets only_normalize = boxes({1, 2, 3, 4});
  std::mt19937_64 rng(0);
  parse("- {name: normalize}")(img, only_normalize, rng);
  CHECK_THAT(values(only_normalize.boxes), Catch::Matchers::Approx(std::vector<float>{1, 2, 3, 4}));
  Targets bad = boxes({1, 2, 3, 4});
  bad.masks = at::zeros({1, 3, 3}, at::kByte);
  CHECK_THROWS_WITH(parse("- {name: hflip, p: 1}").apply_geometry(img, bad, rng),
                    Catch::Contains("masks must be [K, 40, 50]"));
}

TEST_CASE("synthetic_scenes: gt_boxes move with geometric transforms, as lists or padded") {
  register_all();
  auto make = [](const std::string& yaml) {
    ConfigNode node = parse_yaml(yaml, "data.yaml");
    return dataset_registry().get(registered_name(dataset_registry(), node, "dataset"))(node, "dataset");
  };
  auto flipped =
      make("name: synthetic_scenes\nsize: 8\nimage_size: 48\nmax_objects: 3\ntransforms: [{name: hflip, p: 1}]\n");
  auto* scenes = dynamic_cast<SyntheticScenes*>(flipped.get());
  REQUIRE(scenes);
  std::mt19937_64 rng(0);
  for (int64_t i = 0; i < 8; ++i) {
    Sample s = flipped->get(i, rng);
    Scene scene = scenes->world().render(i);
    const auto k = static_cast<int64_t>(scene.objects.size());
    const RaggedField& gt = s.ragged.at("gt_boxes");
    REQUIRE(gt.value.sizes() == at::IntArrayRef{k, 4});
    CHECK(gt.collate == RaggedCollate::list);
    for (int64_t j = 0; j < k; ++j) {
      const auto& box = scene.objects[static_cast<size_t>(j)].box;
      CHECK_THAT(values(gt.value[j]),
                 Catch::Matchers::Approx(std::vector<float>{48 - box[2], box[1], 48 - box[0], box[3]}));
      CHECK(s.ragged.at("gt_labels").value[j].item<int64_t>() ==
            object_label(scene.objects[static_cast<size_t>(j)], ClassKind::shape));
      CHECK(s.tensors.at("boxes")[j][0].item<float>() == 48 - box[2]);  // the fixed layout follows too
    }
  }
  auto padded = make(
      "name: synthetic_scenes\nsize: 8\nimage_size: 32\nmax_objects: 4\nbox_collate: pad\n"
      "transforms: [{name: random_resized_crop, size: 24, scale: [0.3, 0.6]}]\n");
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.workers = 0;
  Loader loader(padded, lo, 0);
  Batch batch = *loader.next();
  const at::Tensor& boxes = batch.at("gt_boxes");
  REQUIRE(boxes.dim() == 3);
  CHECK(boxes.size(0) == 4);
  const at::Tensor& mask = batch.at("gt_boxes_mask");
  CHECK(mask.sizes() == at::IntArrayRef{4, boxes.size(1)});
  // Real rows lie inside the 24 x 24 crop with area; padding rows are -1.
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t j = 0; j < boxes.size(1); ++j) {
      const auto b = values(boxes[n][j]);
      if (mask[n][j].item<bool>()) {
        CHECK((b[0] >= 0 && b[2] <= 24 && b[1] >= 0 && b[3] <= 24 && b[2] > b[0] && b[3] > b[1]));
      } else {
        CHECK(b == std::vector<float>{-1, -1, -1, -1});
      }
    }
  CHECK(batch.at("gt_labels").sizes() == mask.sizes());
}
