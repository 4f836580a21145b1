// RO-ViT cropped positional embeddings: the crop against torchvision's roi_align on the interpolated grid
// (tests/python/cropped_pe_reference.py), float64 central differences, and the box sampler's ranges,
// placement and determinism.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.h"
#include "nn/cropped_positional_embedding.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

using loom::nn::crop_positional_embedding;
using loom::nn::CroppedPositionalEmbeddingOptions;
using loom::nn::full_image_positional_embedding;
using loom::nn::sample_crop_boxes;
using loom::test::relative_error;

TEST_CASE("cropped positional embeddings match torchvision roi_align in value and gradient", "[nn][rovit]") {
  const auto dir = loom::test::scratch("cropped_pe");
  const std::string path = (dir / "reference.safetensors").string();
  REQUIRE(loom::test::run_python("cropped_pe_reference.py", path) == 0);
  const auto ref = loom::test::read_reference(path);
  const at::Tensor boxes = ref.at("boxes");
  for (auto [out_h, out_w] : {std::pair<int64_t, int64_t>{14, 14}, {6, 9}}) {
    const std::string size = std::to_string(out_h) + "x" + std::to_string(out_w) + ".";
    const at::Tensor grid = ref.at("grid").clone().requires_grad_(true);
    const at::Tensor out = crop_positional_embedding(grid, boxes, 64, out_h, out_w);
    REQUIRE(out.sizes() == ref.at(size + "out").sizes());
    const at::Tensor grad = torch::autograd::grad({(out * ref.at(size + "proj")).sum()}, {grid})[0];
    const double value_err = relative_error(out, ref.at(size + "out"));
    const double grad_err = relative_error(grad, ref.at(size + "grad"));
    // Per box too, so a wrong edge or tiny box is not hidden by the scale of the others.
    double worst_box = 0.0;
    for (int64_t b = 0; b < boxes.size(0); ++b)
      worst_box = std::max(worst_box, (out[b] - ref.at(size + "out")[b]).abs().max().item<double>());
    INFO(size << " value " << value_err << ", gradient " << grad_err << ", worst box abs " << worst_box);
    CHECK(value_err <= 1e-5);
    CHECK(grad_err <= 1e-5);
    CHECK(worst_box <= 1e-5);
    WARN("cropped PE " << size << " relative error vs torchvision: value " << value_err << ", gradient " << grad_err);
    // The first reference box is the whole grid: the evaluation PE.
    const at::Tensor full = full_image_positional_embedding(grid.detach(), 64, out_h, out_w);
    CHECK(relative_error(full, ref.at(size + "out")[0]) <= 1e-6);
  }
}

TEST_CASE("cropped positional embedding gradients agree with central differences", "[nn][rovit]") {
  torch::manual_seed(11);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor grid = torch::randn({4, 5, 3}, f64);
  const at::Tensor boxes =
      torch::tensor({0.0, 0.0, 1.0, 1.0, 0.2, 0.1, 0.7, 0.95, 0.9, 0.9, 1.0, 1.0}, f64).view({3, 4});
  const at::Tensor proj = torch::randn({3, 3, 2, 3}, f64);
  const double err = loom::test::gradient_check_error(
      [&](const std::vector<at::Tensor>& x) { return (crop_positional_embedding(x[0], boxes, 9, 3, 2) * proj).sum(); },
      {grid});
  INFO("relative error " << err);
  CHECK(err <= 1e-6);
}

TEST_CASE("crop boxes follow the configured area and aspect ranges", "[nn][rovit]") {
  CroppedPositionalEmbeddingOptions options;
  options.scale = {0.1, 1.0};
  options.aspect = {0.5, 2.0};
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(42);
  const int64_t n = 20000;
  const at::Tensor sampled = sample_crop_boxes(n, options, gen);
  REQUIRE(sampled.sizes() == at::IntArrayRef({n, 4}));
  REQUIRE(sampled.scalar_type() == at::kFloat);
  const at::Tensor boxes = sampled.to(at::kDouble);
  const at::Tensor x0 = boxes.select(1, 0), y0 = boxes.select(1, 1), x1 = boxes.select(1, 2), y1 = boxes.select(1, 3);
  const at::Tensor w = x1 - x0, h = y1 - y0, area = w * h, aspect = w / h;
  const double eps = 1e-6;  // the boxes are float32
  CHECK(x0.min().item<double>() >= 0.0);
  CHECK(y0.min().item<double>() >= 0.0);
  CHECK(x1.max().item<double>() <= 1.0);
  CHECK(y1.max().item<double>() <= 1.0);
  CHECK(area.min().item<double>() >= 0.1 - eps);
  CHECK(area.max().item<double>() <= 1.0 + eps);
  CHECK(aspect.min().item<double>() >= 0.5 * (1 - 1e-5));
  CHECK(aspect.max().item<double>() <= 2.0 * (1 + 1e-5));
  // Log-aspect is symmetric about 0 for [0.5, 2]; placements spread over the whole square.
  CHECK(std::abs(at::log(aspect).mean().item<double>()) < 0.02);
  CHECK(x0.min().item<double>() < 0.01);
  CHECK(y0.min().item<double>() < 0.01);
  CHECK(x1.max().item<double>() > 0.99);
  CHECK(y1.max().item<double>() > 0.99);
  CHECK(std::abs(((x0 + x1) / 2).mean().item<double>() - 0.5) < 0.01);
  CHECK(std::abs(((y0 + y1) / 2).mean().item<double>() - 0.5) < 0.01);
  // Rejection keeps the accepted areas below the drawn U(0.1, 1) mean of 0.55 (large areas fit less often).
  const double mean_area = area.mean().item<double>();
  INFO("mean area " << mean_area);
  CHECK(mean_area > 0.3);
  CHECK(mean_area < 0.55);

  options.scale = {0.25, 0.25};
  options.aspect = {1.0, 1.0};
  const at::Tensor fixed = sample_crop_boxes(100, options, gen);
  CHECK(((fixed.select(1, 2) - fixed.select(1, 0)) - 0.5).abs().max().item<double>() < 1e-6);
  CHECK(((fixed.select(1, 3) - fixed.select(1, 1)) - 0.5).abs().max().item<double>() < 1e-6);
}

TEST_CASE("crop boxes are reproducible from a seeded generator", "[nn][rovit]") {
  CroppedPositionalEmbeddingOptions options;
  at::Generator a = at::make_generator<at::CPUGeneratorImpl>(7), b = at::make_generator<at::CPUGeneratorImpl>(7);
  const at::Tensor first = sample_crop_boxes(64, options, a);
  CHECK(at::equal(first, sample_crop_boxes(64, options, b)));
  CHECK_FALSE(at::equal(first, sample_crop_boxes(64, options, a)));
  torch::manual_seed(3);
  const at::Tensor global = sample_crop_boxes(8, options);
  torch::manual_seed(3);
  CHECK(at::equal(global, sample_crop_boxes(8, options)));
}

TEST_CASE("bad crop ranges are user errors", "[nn][rovit]") {
  CroppedPositionalEmbeddingOptions options;
  options.scale = {0.8, 0.2};
  CHECK_THROWS_AS(sample_crop_boxes(2, options), loom::UserError);
  options.scale = {0.1};
  CHECK_THROWS_WITH(sample_crop_boxes(2, options), Catch::Contains("scale"));
  options.scale = {0.1, 1.0};
  options.aspect = {0.0, 2.0};
  CHECK_THROWS_WITH(sample_crop_boxes(2, options), Catch::Contains("aspect"));
}
