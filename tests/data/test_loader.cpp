#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/error.h"
#include "data/collate.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/sampler.h"
#include "support/batches.h"

using namespace loom;
using namespace loom::data;

using loom::test::check_same;
using loom::test::take;

namespace {

// Sample i: {"x": [i, a draw from the sample's generator]}; BadSample for `bad`, std::runtime_error for `broken`.
struct FakeDataset : Dataset {
  int64_t n;
  std::set<int64_t> bad, broken;
  explicit FakeDataset(int64_t n, std::set<int64_t> bad = {}, std::set<int64_t> broken = {})
      : n(n), bad(bad), broken(broken) {}
  int64_t size() const override { return n; }
  Sample get(int64_t index, std::mt19937_64& rng) const override {
    if (bad.count(index)) throw BadSample(cat("/fake/", index, ".png"), "cannot decode");
    if (broken.count(index)) throw std::runtime_error(cat("boom at ", index));
    Sample s;
    s.tensors["x"] = at::tensor({static_cast<double>(index), uniform01(rng)}, at::kDouble);
    s.text["path"] = cat("/fake/", index, ".png");
    return s;
  }
  std::string describe() const override { return cat("fake (", n, ")"); }
};

LoaderOptions options(int64_t batch, int64_t workers, bool repeat = true) {
  LoaderOptions o;
  o.batch_size = batch;
  o.workers = workers;
  o.prefetch = 2;
  o.repeat = repeat;
  return o;
}

}  // namespace

TEST_CASE("sampler: the epoch order is a deterministic permutation of (seed, epoch)") {
  Sampler s(50, 7, true, false);
  auto e0 = s.epoch_indices(0), e1 = s.epoch_indices(1);
  CHECK(e0 == Sampler(50, 7, true, false).epoch_indices(0));
  CHECK(e0 != e1);
  CHECK(e0 != Sampler(50, 8, true, false).epoch_indices(0));
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
  auto plain = Sampler(5, 7, false, false).epoch_indices(3);
  CHECK(plain == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("sampler: ranks partition an epoch and get the same count") {
  SECTION("drop_last: the tail is dropped, shares are disjoint") {
    std::set<int64_t> seen;
    for (int64_t r = 0; r < 3; ++r) {
      Sampler s(10, 1, true, true, r, 3);
      auto mine = s.epoch_indices(2);
      CHECK(mine.size() == 3);
      for (auto i : mine) CHECK(seen.insert(i).second);
    }
    CHECK(seen.size() == 9);
  }
  SECTION("no drop_last: padded by wrapping, every index covered") {
    std::set<int64_t> seen;
    auto full = Sampler(10, 1, true, false).epoch_indices(2);
    for (int64_t r = 0; r < 3; ++r) {
      auto mine = Sampler(10, 1, true, false, r, 3).epoch_indices(2);
      CHECK(mine.size() == 4);
      CHECK(mine[0] == full[r]);  // every world_size-th element of the shared order
      CHECK(mine[1] == full[r + 3]);
      seen.insert(mine.begin(), mine.end());
    }
    CHECK(seen.size() == 10);
  }
}

TEST_CASE("loader: batches are identical with 0, 1 and 3 workers") {
  auto ds = std::make_shared<FakeDataset>(37);
  Loader l0(ds, options(4, 0), 11), l1(ds, options(4, 1), 11), l3(ds, options(4, 3), 11);
  CHECK(l0.batches_per_epoch() == 9);
  auto a = take(l0, 20), b = take(l1, 20), c = take(l3, 20);  // crosses two epoch boundaries
  check_same(a, b);
  check_same(a, c);
  CHECK(l3.position().epoch == 2);
  CHECK(l3.position().batch == 2);
  // A different seed gives a different order and different draws.
  Loader other(ds, options(4, 0), 12);
  CHECK_FALSE(at::equal(other.next()->at("x"), a[0].at("x")));
}

TEST_CASE("loader: seek resumes exactly where position() was taken") {
  auto ds = std::make_shared<FakeDataset>(30);
  for (int64_t workers : {0, 2}) {
    Loader first(ds, options(4, workers), 3);
    take(first, 10);
    LoaderPosition pos = first.position();
    CHECK(pos.epoch == 1);
    CHECK(pos.batch == 3);
    auto rest = take(first, 6);
    Loader resumed(ds, options(4, workers), 3);
    resumed.seek(pos);
    check_same(take(resumed, 6), rest);
    // Seeking back on a loader with prefetched work drops that work.
    first.seek(pos);
    check_same(take(first, 6), rest);
  }
  Loader l(ds, options(4, 0), 3);
  CHECK_THROWS_AS(l.seek({0, 99}), UserError);
}

TEST_CASE("loader: a pass without repeat covers every index once") {
  auto ds = std::make_shared<FakeDataset>(23);
  for (int64_t workers : {0, 2}) {
    auto o = options(5, workers, false);
    o.drop_last = false;
    Loader loader(ds, o, 5);
    std::vector<int64_t> seen;
    std::vector<int64_t> sizes;
    while (auto b = loader.next()) {
      seen.insert(seen.end(), b->indices.begin(), b->indices.end());
      sizes.push_back(b->size());
      CHECK(b->at("x").size(0) == b->size());
    }
    CHECK(sizes == std::vector<int64_t>{5, 5, 5, 5, 3});
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 23; ++i) CHECK(seen[i] == i);
    CHECK_FALSE(loader.next());
  }
}

TEST_CASE("loader: unreadable samples are skipped and counted, too many stop the run") {
  auto ds = std::make_shared<FakeDataset>(12, std::set<int64_t>{3, 7});
  auto o = options(4, 2, false);
  o.shuffle = false;
  o.max_bad_fraction = 0.5;
  Loader loader(ds, o, 0);
  std::vector<int64_t> sizes;
  while (auto b = loader.next()) sizes.push_back(b->size());
  CHECK(sizes == std::vector<int64_t>{3, 3, 4});
  CHECK(loader.bad_samples() == 2);

  o.max_bad_fraction = 0.1;  // 2 of 12 is more: found at the end of the pass
  Loader strict(ds, o, 0);
  CHECK_THROWS_WITH(
      [&] {
        while (strict.next()) {
        }
      }(),
      Catch::Contains("2 of 12 samples") && Catch::Contains("/fake/3.png") && Catch::Contains("0.1"));
}

TEST_CASE("loader: a dataset exception that is not BadSample reaches next()") {
  auto ds = std::make_shared<FakeDataset>(40, std::set<int64_t>{}, std::set<int64_t>{13});
  for (int64_t workers : {0, 3}) {
    auto o = options(4, workers, false);
    o.shuffle = false;
    Loader loader(ds, o, 0);
    take(loader, 3);
    CHECK_THROWS_WITH(loader.next(), Catch::Contains("boom at 13"));
  }
}

TEST_CASE("loader: destruction with a full prefetch queue joins cleanly") {
  auto ds = std::make_shared<FakeDataset>(1000);
  for (int i = 0; i < 5; ++i) {
    Loader loader(ds, options(8, 3), 0);
    loader.next();
  }
  Loader unused(ds, options(8, 2), 0);
  SUCCEED();
}

TEST_CASE("loader: too small a dataset for one batch is a user error") {
  auto ds = std::make_shared<FakeDataset>(3);
  CHECK_THROWS_WITH(Loader(ds, options(4, 0), 0), Catch::Contains("fake (3)") && Catch::Contains("too few"));
}

TEST_CASE("collate names the key whose shapes differ") {
  Sample a, b;
  a.tensors["image"] = at::zeros({3, 4, 4});
  b.tensors["image"] = at::zeros({3, 5, 4});
  CHECK_THROWS_WITH(collate({a, b}, {10, 11}), Catch::Contains("'image'") && Catch::Contains("11"));
  b.tensors["image"] = at::ones({3, 4, 4});
  a.text["path"] = "p";
  b.text["path"] = "q";
  Batch batch = collate({a, b}, {10, 11});
  CHECK(batch.at("image").sizes() == at::IntArrayRef{2, 3, 4, 4});
  CHECK(batch.text.at("path") == std::vector<std::string>{"p", "q"});
  CHECK_THROWS_WITH(batch.at("label"), Catch::Contains("no tensor 'label'") && Catch::Contains("image"));
}
