// detect_launch_environment from torchrun's and SLURM's variables, set in this process for each case.
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "train/distributed/process_group.h"

using loom::detect_launch_environment;

namespace {

constexpr const char* kVariables[] = {"RANK",
                                      "LOCAL_RANK",
                                      "WORLD_SIZE",
                                      "MASTER_ADDR",
                                      "MASTER_PORT",
                                      "TORCHELASTIC_RESTART_COUNT",
                                      "TORCHELASTIC_USE_AGENT_STORE",
                                      "SLURM_PROCID",
                                      "SLURM_LOCALID",
                                      "SLURM_NTASKS",
                                      "SLURM_JOB_NODELIST",
                                      "SLURM_NODELIST"};

// Sets exactly the given launch variables for the lifetime of the object.
struct ScopedLaunchEnv {
  explicit ScopedLaunchEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    clear();
    for (auto [name, value] : values) setenv(name, value, 1);
  }
  ~ScopedLaunchEnv() { clear(); }
  static void clear() {
    for (const char* name : kVariables) unsetenv(name);
  }
};

}  // namespace

TEST_CASE("without launch variables the process runs alone", "[distributed]") {
  ScopedLaunchEnv env({});
  auto e = detect_launch_environment();
  CHECK(e.source == "single");
  CHECK(e.rank == 0);
  CHECK(e.world_size == 1);
}

TEST_CASE("torchrun variables", "[distributed]") {
  ScopedLaunchEnv env({{"RANK", "3"},
                       {"LOCAL_RANK", "1"},
                       {"WORLD_SIZE", "4"},
                       {"MASTER_ADDR", "node07"},
                       {"MASTER_PORT", "29611"},
                       {"TORCHELASTIC_RESTART_COUNT", "2"},
                       {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  auto e = detect_launch_environment();
  CHECK(e.source == "torchrun");
  CHECK(e.rank == 3);
  CHECK(e.local_rank == 1);
  CHECK(e.world_size == 4);
  CHECK(e.master_addr == "node07");
  CHECK(e.port == 29611);
  CHECK(e.restart_count == 2);
  CHECK(e.agent_store);
}

TEST_CASE("SLURM variables take the first host of the node list", "[distributed]") {
  ScopedLaunchEnv env({{"SLURM_PROCID", "5"},
                       {"SLURM_LOCALID", "1"},
                       {"SLURM_NTASKS", "8"},
                       {"SLURM_JOB_NODELIST", "gpu[03-04,07],login1"}});
  auto e = detect_launch_environment();
  CHECK(e.source == "slurm");
  CHECK(e.rank == 5);
  CHECK(e.local_rank == 1);
  CHECK(e.world_size == 8);
  CHECK(e.master_addr == "gpu03");
  CHECK(e.port == 29500);
  CHECK_FALSE(e.agent_store);
  setenv("MASTER_PORT", "40000", 1);
  setenv("MASTER_ADDR", "10.0.0.1", 1);
  e = detect_launch_environment();
  CHECK(e.port == 40000);
  CHECK(e.master_addr == "10.0.0.1");
}

TEST_CASE("SLURM node lists expand like scontrol show hostnames", "[distributed]") {
  using V = std::vector<std::string>;
  CHECK(loom::expand_slurm_nodelist("node[01-04,07]") == V{"node01", "node02", "node03", "node04", "node07"});
  CHECK(loom::expand_slurm_nodelist("a,b") == V{"a", "b"});
  CHECK(loom::expand_slurm_nodelist("n[8-10]x,m1") == V{"n8x", "n9x", "n10x", "m1"});
  CHECK(loom::expand_slurm_nodelist("r[1-2]-n[1,3]") == V{"r1-n1", "r1-n3", "r2-n1", "r2-n3"});
  CHECK_THROWS_AS(loom::expand_slurm_nodelist("node[01-"), loom::UserError);
  CHECK_THROWS_AS(loom::expand_slurm_nodelist("node[3-1]"), loom::UserError);
  CHECK_THROWS_AS(loom::expand_slurm_nodelist("a,,b"), loom::UserError);
}

TEST_CASE("malformed launch variables name the variable", "[distributed]") {
  {
    ScopedLaunchEnv env({{"RANK", "x1"}, {"WORLD_SIZE", "2"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("RANK=\"x1\""));
  }
  {
    ScopedLaunchEnv env({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("RANK=2 is not below WORLD_SIZE=2"));
  }
  {
    ScopedLaunchEnv env({{"RANK", "0"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("WORLD_SIZE is missing"));
  }
  {
    ScopedLaunchEnv env({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "70000"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("MASTER_PORT"));
  }
  {
    ScopedLaunchEnv env({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"TORCHELASTIC_USE_AGENT_STORE", "maybe"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("TORCHELASTIC_USE_AGENT_STORE"));
  }
  {
    ScopedLaunchEnv env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_NODELIST", "gpu[1-"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("SLURM_JOB_NODELIST"));
  }
  {
    ScopedLaunchEnv env({{"SLURM_PROCID", "0"}, {"SLURM_JOB_NODELIST", "gpu1"}});
    CHECK_THROWS_WITH(detect_launch_environment(), Catch::Contains("SLURM_NTASKS"));
  }
}

TEST_CASE("a single-process group needs no peers", "[distributed]") {
  loom::LaunchEnvironment env;
  loom::DistributedOptions options;
  options.backend = "gloo";
  auto pg = loom::ProcessGroup::create(env, options);
  CHECK(pg->world_size() == 1);
  std::vector<at::Tensor> t{at::ones({3})};
  pg->all_reduce_sum(t);
  CHECK(t[0].equal(at::ones({3})));
  CHECK(pg->all_gather(at::ones({2, 2})).sizes() == at::IntArrayRef({2, 2}));
  pg->barrier();
}
