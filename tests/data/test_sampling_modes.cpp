#include <catch2/catch.hpp>

#include <ATen/ops/equal.h>
#include <ATen/ops/tensor.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/text/cat.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/sampler.h"
#include "support/batches.h"

using namespace loom;
using namespace loom::data;

using loom::test::check_same;
using loom::test::take;

namespace {

// Sample i: {"x": [i, a draw from the sample's generator]}, like an augmentation would draw.
struct TinyDataset : Dataset {
  int64_t n;
  explicit TinyDataset(int64_t n) : n(n) {}
  int64_t size() const override { return n; }
  Sample get(int64_t index, std::mt19937_64& rng) const override {
    Sample s;
    s.tensors["x"] = at::tensor({static_cast<double>(index), uniform01(rng)}, at::kDouble);
    return s;
  }
  std::string describe() const override { return cat("tiny (", n, ")"); }
};

LoaderOptions options(int64_t batch, int64_t workers, const std::string& sampler) {
  LoaderOptions o;
  o.batch_size = batch;
  o.workers = workers;
  o.prefetch = 2;
  o.sampler = sampler;
  return o;
}

}  // namespace

TEST_CASE("sampler with replacement: one sample fills a batch of 4, seeded by (seed, epoch)") {
  Sampler s(1, 7, true, true, 0, 1, SamplingMode::with_replacement, 4);
  CHECK(s.epoch_size() == 4);
  CHECK(s.epoch_indices(0) == std::vector<int64_t>{0, 0, 0, 0});
  Sampler big(50, 7, true, true, 0, 1, SamplingMode::with_replacement, 4);
  CHECK(big.epoch_size() == 50);  // at least the dataset
  auto e0 = big.epoch_indices(0);
  CHECK(e0 == Sampler(50, 7, true, true, 0, 1, SamplingMode::with_replacement, 4).epoch_indices(0));
  CHECK(e0 != big.epoch_indices(1));
  CHECK(std::set<int64_t>(e0.begin(), e0.end()).size() < 50);  // draws repeat (the chance of none is 50!/50^50)
  // Ranks share one order: every world_size-th draw.
  Sampler r0(5, 3, true, false, 0, 2, SamplingMode::with_replacement, 8),
      r1(5, 3, true, false, 1, 2, SamplingMode::with_replacement, 8);
  CHECK(r0.epoch_size() == 8);
  CHECK(r0.samples_per_rank() == 4);
  auto all = Sampler(5, 3, true, false, 0, 1, SamplingMode::with_replacement, 8).epoch_indices(2);
  auto a = r0.epoch_indices(2), b = r1.epoch_indices(2);
  for (size_t k = 0; k < 4; ++k) {
    CHECK(a[k] == all[2 * k]);
    CHECK(b[k] == all[2 * k + 1]);
  }
}

TEST_CASE("sampler repeat: whole copies of the permutation, each index equally often") {
  Sampler s(3, 5, true, false, 0, 1, SamplingMode::repeat, 8);
  CHECK(s.epoch_size() == 9);  // three copies of 3
  auto order = s.epoch_indices(1);
  std::map<int64_t, int> counts;
  for (auto i : order) ++counts[i];
  CHECK(counts == std::map<int64_t, int>{{0, 3}, {1, 3}, {2, 3}});
  // The first copy is the permutation; a dataset of a batch or more gets exactly the permutation.
  auto perm = Sampler(3, 5, true, false).epoch_indices(1);
  CHECK(std::vector<int64_t>(order.begin(), order.begin() + 3) == perm);
  CHECK(Sampler(40, 5, true, true, 0, 1, SamplingMode::repeat, 8).epoch_indices(2) ==
        Sampler(40, 5, true, true).epoch_indices(2));
  CHECK(Sampler(2, 5, false, true, 0, 1, SamplingMode::repeat, 4).epoch_indices(0) == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(sampling_mode("repeat") == SamplingMode::repeat);
  CHECK_THROWS_AS(sampling_mode("bootstrap"), std::invalid_argument);
}

TEST_CASE("loader: one image at batch 4 with replacement, deterministic and resumable") {
  auto ds = std::make_shared<TinyDataset>(1);
  for (const char* mode : {"with_replacement", "repeat"}) {
    Loader l0(ds, options(4, 0, mode), 11), l2(ds, options(4, 2, mode), 11);
    CHECK(l0.batches_per_epoch() == 1);
    auto a = take(l0, 8), b = take(l2, 8);
    check_same(a, b);
    CHECK(a[3].indices == std::vector<int64_t>{0, 0, 0, 0});
    // The four copies are augmented differently (their generators differ by position), and so are epochs.
    at::Tensor draws = a[0].at("x").select(1, 1).contiguous();
    CHECK(std::set<double>(draws.data_ptr<double>(), draws.data_ptr<double>() + 4).size() == 4);
    CHECK_FALSE(at::equal(a[0].at("x"), a[1].at("x")));
    CHECK(l0.position().epoch == 8);

    // Resume: a fresh loader sought to a saved position gives the same batches.
    Loader resumed(ds, options(4, 2, mode), 11);
    resumed.seek({5, 0});
    check_same(take(resumed, 3), {a[5], a[6], a[7]});
    l2.seek({2, 0});
    check_same(take(l2, 2), {a[2], a[3]});
  }
  // Two ranks: each gets four draws of the one image, different ones.
  Loader rank0(ds, options(4, 0, "with_replacement"), 3, 0, 2), rank1(ds, options(4, 0, "with_replacement"), 3, 1, 2);
  CHECK_FALSE(at::equal(rank0.next()->at("x"), rank1.next()->at("x")));
}

TEST_CASE("loader: the permutation sampler keeps refusing a dataset smaller than a batch, naming the option") {
  auto ds = std::make_shared<TinyDataset>(3);
  CHECK_THROWS_WITH(Loader(ds, options(4, 0, "permutation"), 0), Catch::Contains("tiny (3)") &&
                                                                     Catch::Contains("too few") &&
                                                                     Catch::Contains("sampler: with_replacement"));
  CHECK_THROWS_WITH(read_config<LoaderOptions>(parse_yaml("sampler: with_replacment\n", "l.yaml"), "train.loader"),
                    Catch::Contains("train.loader.sampler") && Catch::Contains("did you mean 'with_replacement'"));
  CHECK(read_config<LoaderOptions>(parse_yaml("sampler: repeat\n", "l.yaml"), "train.loader").sampler == "repeat");
}
