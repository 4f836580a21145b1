// Two ranks of tests/support/workers/rank_worker.cpp on 127.0.0.1 (Gloo), launched by hand and by torchrun. Each
// worker checks its own results; these cases check exit codes and what the ranks print.

#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/text/cat.h"
#include "support/test_env.h"

using loom::cat;

namespace {

std::string worker() { return (loom::test::bin_dir() / "dist_rank_worker").string(); }

using Rank = loom::test::CommandResult;

// Runs `dist_rank_worker args` as ranks 0 and 1; `hard_limit` bounds each rank (a hang fails the test).
std::vector<Rank> launch(const std::string& name, const std::string& args, double timeout_seconds = 30,
                         int hard_limit = 120) {
  return loom::test::run_ranks(2, cat(worker(), " ", args), loom::test::scratch(cat("distributed/", name)),
                               cat("LOOM_DIST_TIMEOUT=", timeout_seconds), hard_limit);
}

void require_success(const std::vector<Rank>& ranks, const std::string& ok) {
  for (size_t r = 0; r < ranks.size(); ++r) {
    INFO("rank " << r << " output:\n" << ranks[r].output);
    CHECK(ranks[r].code == 0);
    CHECK_THAT(ranks[r].output, Catch::Contains(cat("[rank ", r, "] ", ok)));
  }
}

}  // namespace

TEST_CASE("two ranks: all_reduce, all_gather, broadcast, barrier", "[distributed]") {
  require_success(launch("collectives", "collectives"), "collectives ok");
}

TEST_CASE("two ranks x half batch give the single-process gradients", "[distributed]") {
  SECTION("one bucket") { require_success(launch("reducer1", "reducer 33554432 1"), "reducer ok"); }
  SECTION("two buckets, accumulate 2") {
    auto ranks = launch("reducer2", "reducer 2000 2");
    require_success(ranks, "reducer ok");
    CHECK_THAT(ranks[0].output, Catch::Contains("buckets 2"));
  }
}

TEST_CASE("InfoNCE on all_gather_with_grad features equals the global-batch loss and gradients", "[distributed]") {
  require_success(launch("gather", "gather"), "gather ok");
}

TEST_CASE("a dead or hung rank makes the other fail with DistributedError within the timeout", "[distributed]") {
  for (std::string mode : {"kill", "stall"}) {
    INFO(mode);
    auto start = std::chrono::steady_clock::now();
    auto ranks = launch(mode, mode, 5, 60);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("rank 0 output:\n" << ranks[0].output);
    CHECK(ranks[0].code == 0);
    CHECK_THAT(ranks[0].output, Catch::Contains("DistributedError") &&
                                    Catch::Contains("rank 0 of 2: all_reduce failed") &&
                                    Catch::Contains("timeout 5 s") && Catch::Contains("peer rank 1"));
    // kill: rank 1 dies at once; stall: it sleeps 7.5 s, and only rank 0's failure must come within 5 s.
    if (mode == "kill") CHECK(seconds < 5 + 10);
    std::string line = ranks[0].output.substr(ranks[0].output.find("DistributedError after ") + 23);
    CHECK(std::stod(line) < 5 + 2);
  }
}

TEST_CASE("the worker runs under torchrun (agent-hosted store)", "[distributed]") {
  auto dir = loom::test::scratch("distributed/torchrun");
  auto result = loom::test::run_command(
      cat("cd ", dir.string(), " && OMP_NUM_THREADS=1 timeout 180 ", loom::test::python(),
          " -m torch.distributed.run --standalone --nproc-per-node 2 --no-python ", worker(), " collectives"));
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK_THAT(result.output, Catch::Contains("[rank 0] source torchrun world 2 agent_store 1"));
  CHECK_THAT(result.output, Catch::Contains("[rank 0] collectives ok"));
  CHECK_THAT(result.output, Catch::Contains("[rank 1] collectives ok"));
}
