#include <catch2/catch.hpp>

#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/tensor.h>

#include "app/register_all.h"
#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/loader.h"
#include "data/mixture.h"
#include "data/random.h"

using namespace loom;
using namespace loom::data;

namespace {

// Captions-like (tensor "x", text "caption") or classes-like (tensors "x" and "label", ragged "boxes").
struct KeyedDataset : Dataset {
  int64_t n;
  bool classes;
  KeyedDataset(int64_t n, bool classes) : n(n), classes(classes) {}
  int64_t size() const override { return n; }
  Sample get(int64_t index, std::mt19937_64& rng) const override {
    Sample s;
    s.tensors["x"] = at::tensor({static_cast<double>(index), uniform01(rng)}, at::kDouble);
    if (classes) {
      s.tensors["label"] = at::scalar_tensor(index % 2, at::kLong);
      s.ragged["boxes"] = {at::ones({index % 3, 4}), RaggedCollate::pad, -1};
    } else {
      s.text["caption"] = cat("caption ", index);
    }
    return s;
  }
  std::string describe() const override { return cat(classes ? "classes" : "captions", " (", n, ")"); }
};

std::shared_ptr<Dataset> make(const std::string& yaml) {
  register_all();
  ConfigNode node = parse_yaml(yaml, "data.yaml");
  return dataset_registry().get(registered_name(dataset_registry(), node, "dataset"))(node, "dataset");
}

}  // namespace

TEST_CASE("mixture: sources drawn by weight, each sample tagged with its source and every key filled") {
  Mixture mix({{"captions", 0.7, std::make_shared<KeyedDataset>(50, false)},
               {"classes", 0.3, std::make_shared<KeyedDataset>(3, true)}});
  CHECK(mix.size() == 53);
  CHECK(mix.sources().size() == 2);
  int64_t from_classes = 0;
  const int64_t draws = 20000;
  for (int64_t i = 0; i < draws; ++i) {
    std::mt19937_64 rng(mix_seed({1, 0, static_cast<uint64_t>(i)}));
    Sample s = mix.get(i, rng);
    const int64_t source = s.tensors.at("source").item<int64_t>();
    REQUIRE((source == 0 || source == 1));
    from_classes += source;
    if (source == 1) {
      CHECK(s.text.at("caption").empty());
      CHECK(s.tensors.at("x")[0].item<double>() < 3);
    } else {
      CHECK(s.tensors.at("label").item<int64_t>() == -1);  // filled
      CHECK(s.ragged.at("boxes").value.sizes() == at::IntArrayRef{0, 4});
      CHECK(s.ragged.at("boxes").collate == RaggedCollate::pad);
    }
  }
  // 0.3 of 20000 draws: the standard deviation is 65.
  CHECK(std::abs(static_cast<double>(from_classes) / draws - 0.3) < 0.015);
  // The same (seed, epoch, index) gives the same sample.
  std::mt19937_64 a(5), b(5);
  CHECK(at::equal(mix.get(0, a).tensors.at("x"), mix.get(0, b).tensors.at("x")));
  CHECK_THAT(mix.describe(), Catch::Contains("mixture of 2 sources") &&
                                 Catch::Contains("captions (70%): captions (50)") &&
                                 Catch::Contains("classes (30%): classes (3)"));
  CHECK_THROWS_AS(Mixture({{"none", 0.0, std::make_shared<KeyedDataset>(3, true)}}), std::invalid_argument);
}

TEST_CASE("mixture: from the registry, batched by the loader with the source ids") {
  auto ds = make(
      "name: mixture\n"
      "size: 40\n"
      "sources:\n"
      "  - {name: train_scenes, weight: 3, dataset: {name: synthetic_scenes, size: 10, image_size: 32}}\n"
      "  - {weight: 1, dataset: {name: synthetic_scenes, size: 5, image_size: 32, split: heldout, caption: first}}\n");
  CHECK(ds->size() == 40);
  CHECK_THAT(ds->describe(), Catch::Contains("train_scenes (75%)") && Catch::Contains("synthetic_scenes (25%)"));
  LoaderOptions o;
  o.batch_size = 8;
  o.workers = 2;
  Loader loader(ds, o, 3), again(ds, o, 3);
  int64_t heldout = 0;
  for (int i = 0; i < 5; ++i) {
    Batch batch = *loader.next();
    const at::Tensor& source = batch.at("source");
    REQUIRE(source.sizes() == at::IntArrayRef{8});
    CHECK(source.scalar_type() == at::kLong);
    CHECK(at::equal(source, again.next()->at("source")));
    heldout += source.sum().item<int64_t>();
    CHECK(batch.list("gt_boxes").size() == 8);
  }
  CHECK((heldout > 0 && heldout < 40));
}

TEST_CASE("mixture: bad sources are config errors naming the key") {
  const std::string scenes = "{name: synthetic_scenes, size: 4, image_size: 32}";
  CHECK_THROWS_WITH(
      make(cat("name: mixture\nsources:\n  - {weight: 1, dataset: ", scenes, "}\n  - {weight: -0.5, dataset: ", scenes,
               "}\n")),
      Catch::Contains("data.yaml:4") && Catch::Contains("dataset.sources[1].weight") && Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(make(cat("name: mixture\nsources:\n  - {weight: 0, dataset: ", scenes,
                             "}\n  - {weight: 0, dataset: ", scenes, "}\n")),
                    Catch::Contains("dataset.sources") && Catch::Contains("sum to 0"));
  CHECK_THROWS_WITH(make("name: mixture\nsources: []\n"),
                    Catch::Contains("dataset.sources") && Catch::Contains("at least one"));
  CHECK_THROWS_WITH(make("name: mixture\n"), Catch::Contains("dataset.sources: missing required value"));
  CHECK_THROWS_WITH(make("name: mixture\nsources:\n  - {weight: 1}\n"), Catch::Contains("dataset.sources[0].dataset"));
  CHECK_THROWS_WITH(make("name: mixture\nsources:\n  - {weight: 1, dataset: {name: image_foldr}}\n"),
                    Catch::Contains("dataset.sources[0].dataset.name") && Catch::Contains("image_folder"));
  CHECK_THROWS_WITH(make(cat("name: mixture\nsources:\n  - {wieght: 1, dataset: ", scenes, "}\n")),
                    Catch::Contains("did you mean 'dataset.sources[0].weight'"));
  CHECK_THROWS_AS(make(cat("name: mixture\nsources:\n  - {weight: -1, dataset: ", scenes, "}\n")), ConfigError);
}
