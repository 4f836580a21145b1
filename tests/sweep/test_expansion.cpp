#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "core/error.h"
#include "sweep/expansion.h"

namespace {

using namespace loom::sweep;

Axis axis(const std::string& key, const std::vector<std::string>& values) {
  Axis a{key, {}};
  for (const auto& v : values) a.values.push_back({v, v});
  return a;
}

std::vector<std::string> ids(const std::vector<Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

}  // namespace

TEST_CASE("the grid expands as a cartesian product with the last axis fastest and seeds innermost",
          "[sweep][expansion]") {
  SweepSpec spec;
  spec.grid = {axis("a", {"1", "2"}), axis("b", {"x", "y", "z"})};
  spec.seeds = {{"0", "0"}, {"1", "1"}};
  std::vector<Job> jobs = expand(spec);
  REQUIRE(jobs.size() == 12);
  CHECK(jobs[0].id == "a=1,b=x,train.seed=0");
  CHECK(jobs[1].id == "a=1,b=x,train.seed=1");
  CHECK(jobs[2].id == "a=1,b=y,train.seed=0");
  CHECK(jobs[11].id == "a=2,b=z,train.seed=1");
  CHECK(jobs[5].overrides() == std::vector<std::string>{"a=1", "b=z", "train.seed=1"});
  CHECK(ids(expand(spec)) == ids(jobs));  // deterministic

  // Growing an axis keeps the ids of the jobs that were there.
  spec.grid[1].values.push_back({"w", "w"});
  std::set<std::string> grown;
  for (const auto& id : ids(expand(spec))) grown.insert(id);
  for (const auto& id : ids(jobs)) CHECK(grown.count(id) == 1);
}

TEST_CASE("list entries and random draws cross the grid", "[sweep][expansion]") {
  SweepSpec spec;
  spec.grid = {axis("a", {"1", "2"})};
  spec.list = {{"", {{"b", {"3", "3"}}}}, {"", {{"b", {"4", "4"}}, {"c", {"[1, 2]", "[1, 2]"}}}}};
  std::vector<Job> jobs = expand(spec);
  REQUIRE(jobs.size() == 4);
  CHECK_THAT(jobs[1].id, Catch::StartsWith("a=1,b=4,c=_1,_2_-"));  // unsafe characters replaced, a hash added
  CHECK(jobs[1].id.size() == std::string("a=1,b=4,c=_1,_2_-").size() + 8);
  CHECK(jobs[1].overrides() == std::vector<std::string>{"a=1", "b=4", "c=[1, 2]"});
  // A named entry stands for its keys in the id and the tables.
  spec.list[1].name = "wide";
  jobs = expand(spec);
  CHECK(jobs[1].id == "a=1,variant=wide");
  CHECK(jobs[1].overrides() == std::vector<std::string>{"a=1", "b=4", "c=[1, 2]"});
  CHECK(*jobs[1].label("variant") == "wide");
  CHECK(jobs[1].label("b") == nullptr);

  SweepSpec random;
  random.random_draws = 200;
  random.random_seed = 7;
  random.random = {{"lr", "log_uniform", 1e-4, 1e-2, {}},
                   {"w", "uniform", -1, 1, {}},
                   {"n", "int_uniform", 2, 4, {}},
                   {"opt", "choice", 0, 0, {{"adam", "adam"}, {"sgd", "sgd"}}}};
  std::vector<Job> draws = expand(random);
  REQUIRE(draws.size() == 200);
  std::set<std::string> ns, opts;
  int low_decade = 0;
  for (const auto& job : draws) {
    const double lr = std::stod(job.swept[0].second.text), w = std::stod(job.swept[1].second.text);
    CHECK((lr >= 1e-4 && lr <= 1e-2));
    CHECK((w >= -1 && w <= 1));
    low_decade += lr < 1e-3;
    ns.insert(job.swept[2].second.text);
    opts.insert(job.swept[3].second.text);
  }
  CHECK(ns == std::set<std::string>{"2", "3", "4"});
  CHECK(opts == std::set<std::string>{"adam", "sgd"});
  CHECK((low_decade > 70 && low_decade < 130));  // log-uniform: half the draws in each decade
  CHECK(ids(expand(random)) == ids(draws));
  random.random_seed = 8;
  CHECK(ids(expand(random)) != ids(draws));
  // A draw depends on (seed, index, key) only: more draws leave the first ones as they were.
  random.random_seed = 7;
  random.random_draws = 300;
  std::vector<Job> more = expand(random);
  for (size_t i = 0; i < draws.size(); ++i) CHECK(more[i].id == draws[i].id);
}

TEST_CASE("an empty sweep, a key swept twice and a repeated value are refused", "[sweep][expansion]") {
  SweepSpec spec;
  spec.source = "base.yaml";
  CHECK_THROWS_WITH(expand(spec), Catch::Contains("nothing to sweep in base.yaml"));
  spec.grid = {axis("a", {"1", "2"})};
  spec.list = {{"", {{"a", {"3", "3"}}}}};
  CHECK_THROWS_WITH(expand(spec), Catch::Contains("sweep key 'a' is swept twice"));
  spec.list.clear();
  spec.grid = {axis("a", {"1", "1"})};
  CHECK_THROWS_WITH(expand(spec), Catch::Contains("'a=1' comes out twice"));
  spec.grid = {axis("a", {})};
  CHECK_THROWS_WITH(expand(spec), Catch::Contains("axis 'a' has no values"));
}

TEST_CASE("job ids are readable, folder-safe and unique", "[sweep][expansion]") {
  auto id_of = [](const std::string& key, const std::string& value) {
    return job_id({{key, value}}, {{key, {value, value}}});
  };
  CHECK(job_id({{"optimizer.lr", "0.001"}, {"train.seed", "1"}}, {}) == "optimizer.lr=0.001,train.seed=1");
  const std::string a = id_of("data.root", "/a/b"), b = id_of("data.root", "/a_b");
  CHECK(a.find('/') == std::string::npos);
  CHECK(a != b);
  std::string long_value(300, 'x');
  const std::string id = id_of("k", long_value);
  CHECK(id.size() <= 96);
  CHECK(id != id_of("k", long_value + "y"));
}
