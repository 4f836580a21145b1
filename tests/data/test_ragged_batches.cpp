#include <catch2/catch.hpp>

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "data/collate.h"
#include "data/device_prefetcher.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/to_device.h"

using namespace loom;
using namespace loom::data;

namespace {

// Sample with k boxes [k, 4] (rows k*10 + 0..3) and k labels, collated by `policy`.
Sample with_boxes(int64_t k, RaggedCollate policy) {
  Sample s;
  s.tensors["image"] = at::zeros({3, 2, 2});
  s.ragged["boxes"] = {at::arange(4 * k, at::kFloat).reshape({k, 4}) + 10.0f * static_cast<float>(k), policy, -1};
  s.ragged["labels"] = {at::arange(k, at::kLong), policy, -1};
  return s;
}

// Sample i: {"x": [i, a draw]} and a ragged "r" of i % 3 rows.
struct RaggedDataset : Dataset {
  int64_t n;
  explicit RaggedDataset(int64_t n) : n(n) {}
  int64_t size() const override { return n; }
  Sample get(int64_t index, std::mt19937_64& rng) const override {
    Sample s;
    s.tensors["x"] = at::tensor({static_cast<double>(index), uniform01(rng)}, at::kDouble);
    s.ragged["r"] = {at::full({index % 3, 2}, static_cast<double>(index), at::kDouble), RaggedCollate::list, 0};
    return s;
  }
  std::string describe() const override { return cat("ragged (", n, ")"); }
};

}  // namespace

TEST_CASE("collate: ragged fields as lists, one tensor per sample") {
  Batch batch = collate(
      {with_boxes(2, RaggedCollate::list), with_boxes(0, RaggedCollate::list), with_boxes(3, RaggedCollate::list)},
      {5, 6, 7});
  CHECK(batch.at("image").sizes() == at::IntArrayRef{3, 3, 2, 2});
  const auto& boxes = batch.list("boxes");
  REQUIRE(boxes.size() == 3);
  CHECK(boxes[0].sizes() == at::IntArrayRef{2, 4});
  CHECK(boxes[1].sizes() == at::IntArrayRef{0, 4});
  CHECK(boxes[2].sizes() == at::IntArrayRef{3, 4});
  CHECK(boxes[2][1][3].item<float>() == 37.0f);  // row 1, column 3 of sample k = 3: 4 + 3 + 30
  CHECK(batch.list("labels")[0].scalar_type() == at::kLong);
  CHECK(batch.tensors.count("boxes") == 0);
  CHECK_THROWS_WITH(batch.list("masks"), Catch::Contains("no list 'masks'") && Catch::Contains("boxes, labels"));
}

TEST_CASE("collate: ragged fields padded to the most rows, with a mask") {
  Batch batch =
      collate({with_boxes(2, RaggedCollate::pad), with_boxes(0, RaggedCollate::pad), with_boxes(3, RaggedCollate::pad)},
              {5, 6, 7});
  CHECK(batch.lists.empty());
  const at::Tensor& boxes = batch.at("boxes");
  REQUIRE(boxes.sizes() == at::IntArrayRef{3, 3, 4});
  CHECK(boxes.scalar_type() == at::kFloat);
  CHECK(at::equal(boxes[0].slice(0, 0, 2), with_boxes(2, RaggedCollate::pad).ragged["boxes"].value));
  CHECK(boxes[0][2][0].item<float>() == -1.0f);  // pad rows
  CHECK((boxes[1] == -1.0f).all().item<bool>());
  CHECK(at::equal(boxes[2], with_boxes(3, RaggedCollate::pad).ragged["boxes"].value));
  const at::Tensor& mask = batch.at("boxes_mask");
  REQUIRE(mask.scalar_type() == at::kBool);
  CHECK(at::equal(mask.to(at::kLong), at::tensor({1, 1, 0, 0, 0, 0, 1, 1, 1}, at::kLong).reshape({3, 3})));
  CHECK(at::equal(batch.at("labels"), at::tensor({0, 1, -1, -1, -1, -1, 0, 1, 2}, at::kLong).reshape({3, 3})));
  CHECK(batch.at("labels_mask").sizes() == at::IntArrayRef{3, 3});

  // No rows anywhere: [N, 0, ...].
  Batch empty = collate({with_boxes(0, RaggedCollate::pad), with_boxes(0, RaggedCollate::pad)}, {0, 1});
  CHECK(empty.at("boxes").sizes() == at::IntArrayRef{2, 0, 4});
  CHECK(empty.at("boxes_mask").sizes() == at::IntArrayRef{2, 0});
}

TEST_CASE("collate: ragged fields that cannot be batched name the key and the samples") {
  Sample a = with_boxes(2, RaggedCollate::pad), b = with_boxes(1, RaggedCollate::list);
  CHECK_THROWS_WITH(collate({a, b}, {3, 4}),
                    Catch::Contains("'boxes'") && Catch::Contains("pad") && Catch::Contains("4"));
  b = with_boxes(1, RaggedCollate::pad);
  b.ragged["boxes"].value = at::zeros({1, 5});
  CHECK_THROWS_WITH(collate({a, b}, {3, 4}),
                    Catch::Contains("cannot pad 'boxes'") && Catch::Contains("first dimension"));
  b = with_boxes(1, RaggedCollate::pad);
  b.ragged.erase("labels");
  CHECK_THROWS_WITH(collate({a, b}, {3, 4}), Catch::Contains("different keys"));
  a.tensors["boxes_mask"] = at::zeros({1});
  b = with_boxes(1, RaggedCollate::pad);
  b.tensors["boxes_mask"] = at::zeros({1});
  CHECK_THROWS_WITH(collate({a, b}, {3, 4}), Catch::Contains("already has a tensor 'boxes_mask'"));
}

TEST_CASE("to_device moves stacked tensors and lists, on the CPU nothing is copied") {
  Batch batch = collate({with_boxes(2, RaggedCollate::list), with_boxes(1, RaggedCollate::list)}, {0, 1});
  batch.text["caption"] = {"a", "b"};
  const void* image = batch.at("image").data_ptr();
  const void* box = batch.list("boxes")[1].data_ptr();
  Batch same = to_device(batch, c10::Device(c10::kCPU));
  CHECK(same.at("image").data_ptr() == image);
  CHECK(same.list("boxes")[1].data_ptr() == box);
  CHECK(same.text.at("caption") == std::vector<std::string>{"a", "b"});
  // The meta device stands in for an accelerator: every tensor goes there, pinning is CUDA-only.
  Batch meta = to_device(batch, c10::Device(c10::kMeta), /*pin=*/true);
  CHECK(meta.at("image").is_meta());
  CHECK(meta.list("boxes")[0].is_meta());
  CHECK(meta.list("labels")[1].is_meta());
  CHECK(meta.list("boxes")[0].sizes() == at::IntArrayRef{2, 4});
  CHECK(meta.indices == std::vector<int64_t>{0, 1});
  CHECK(batch.at("image").is_cpu());  // the source batch is a copy, untouched
}

TEST_CASE("DevicePrefetcher on the CPU passes the loader's batches through and resumes by its position") {
  auto ds = std::make_shared<RaggedDataset>(30);
  LoaderOptions o;
  o.batch_size = 4;
  o.workers = 2;
  Loader reference(ds, o, 9), loader(ds, o, 9);
  DevicePrefetcher prefetcher(loader, c10::Device(c10::kCPU));
  CHECK(prefetcher.device() == c10::Device(c10::kCPU));
  std::vector<Batch> expected;
  for (int i = 0; i < 12; ++i) expected.push_back(*reference.next());
  for (int i = 0; i < 5; ++i) {
    Batch b = *prefetcher.next();
    CHECK(b.indices == expected[static_cast<size_t>(i)].indices);
    CHECK(at::equal(b.at("x"), expected[static_cast<size_t>(i)].at("x")));
    REQUIRE(b.list("r").size() == 4);
    CHECK(b.list("r")[0].size(0) == b.indices[0] % 3);
  }
  LoaderPosition pos = prefetcher.position();
  CHECK((pos.epoch == 0 && pos.batch == 5));
  for (int i = 5; i < 9; ++i) prefetcher.next();
  prefetcher.seek(pos);
  for (int i = 5; i < 12; ++i) CHECK(prefetcher.next()->indices == expected[static_cast<size_t>(i)].indices);
}
