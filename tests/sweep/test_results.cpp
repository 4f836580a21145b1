#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "support/test_env.h"
#include "sweep/results.h"

namespace {

using namespace loom::sweep;

Job job(const std::string& lr, const std::string& seed) {
  Assignment swept{{"optimizer.lr", {lr, lr}}, {"train.seed", {seed, seed}}};
  Columns columns{{"optimizer.lr", lr}, {"train.seed", seed}};
  return Job{job_id(columns, swept), swept, columns};
}

void write_job(const SweepLayout& layout, const Job& j, const std::string& metrics, JobState state) {
  std::filesystem::create_directories(layout.run(j.id));
  std::ofstream(layout.run(j.id) / "metrics.jsonl") << metrics;
  JobStatus s;
  s.state = state;
  write_status(layout.status(j.id), s);
}

}  // namespace

TEST_CASE("metrics a resume wrote again replace the earlier ones and a cut line is skipped", "[sweep][results]") {
  auto dir = loom::test::scratch("sweep_read_metrics");
  // Steps 10..40 logged, killed, resumed from the checkpoint at step 20: 30 and 40 come again.
  std::ofstream(dir / "metrics.jsonl") << R"({"step":10,"time":1,"train/main/loss":2.0}
{"step":20,"time":2,"train/main/loss":1.5,"val/accuracy":0.2}
{"step":30,"time":3,"train/main/loss":9.0}
{"step":40,"time":4,"train/main/loss":8.0,"val/accuracy":0.9}
{"step":30,"time":5,"train/main/loss":1.2}
{"step":40,"time":6,"train/main/loss":1.0,"val/accuracy":0.4}
{"step":50,"ti)";
  auto traces = read_metrics(dir / "metrics.jsonl");
  const MetricTrace& loss = traces.at("train/main/loss");
  REQUIRE(loss.points.size() == 4);
  CHECK(loss.points[2] == std::pair<int64_t, double>{30, 1.2});
  CHECK(loss.final == 1.0);
  CHECK(loss.best == 1.0);  // lower is better for a loss
  const MetricTrace& accuracy = traces.at("val/accuracy");
  CHECK(accuracy.points.size() == 2);
  CHECK(accuracy.best == 0.4);  // the 0.9 of the lost attempt is gone
  CHECK(accuracy.best_step == 40);
  CHECK(read_metrics(dir / "missing.jsonl").empty());
}

TEST_CASE("the results table sorts by the metric and averages over seeds", "[sweep][results]") {
  auto dir = loom::test::scratch("sweep_results_table");
  SweepLayout layout{dir};
  Manifest m;
  m.name = "t";
  m.metric = "val/accuracy";
  for (const auto& [lr, seed] : std::vector<std::pair<std::string, std::string>>{
           {"0.1", "0"}, {"0.1", "1"}, {"0.01", "0"}, {"0.01", "1"}, {"1", "0"}})
    m.jobs.push_back(job(lr, seed));
  auto record = [](double acc, double best) {
    return loom::cat(R"({"step":5,"val/accuracy":)", best, "}\n", R"({"step":10,"val/accuracy":)", acc,
                     R"(,"val/loss":)", 1 - acc, "}\n");
  };
  write_job(layout, m.jobs[0], record(0.5, 0.6), JobState::done);
  write_job(layout, m.jobs[1], record(0.7, 0.1), JobState::done);
  write_job(layout, m.jobs[2], record(0.8, 0.1), JobState::done);
  write_job(layout, m.jobs[3], record(0.9, 0.1), JobState::done);
  write_job(layout, m.jobs[4], "", JobState::failed);

  SweepResults r = collect_results(m, layout, "", "");
  CHECK(r.metric == "val/accuracy");
  CHECK_FALSE(r.minimize);
  CHECK(r.keys == std::vector<std::string>{"optimizer.lr", "train.seed"});
  const std::string md = markdown_tables(r);
  // Best first; the failed job without metrics last.
  const auto first = md.find("| 0.01 | 1 | done | 0.9 @ 10 | 0.9 | 0.1 |");
  const auto second = md.find("| 0.01 | 0 | done |");
  const auto best_at_5 = md.find("| 0.1 | 0 | done | 0.6 @ 5 | 0.5 | 0.5 |");
  const auto failed = md.find("| 1 | 0 | failed | - | - | - |");
  CHECK(first != std::string::npos);
  CHECK(best_at_5 != std::string::npos);
  CHECK(first < second);
  CHECK(failed != std::string::npos);
  CHECK(best_at_5 < failed);
  // Means over seeds: lr 0.01 -> 0.85 ± 0.07071 (sample std), lr 0.1 -> 0.6 ± 0.1414, lr 1 -> no values.
  CHECK_THAT(md, Catch::Contains("| optimizer.lr | seeds | val/accuracy | val/loss |"));
  const auto g1 = md.find("| 0.01 | 2 | 0.85 ± 0.07071 | 0.15 ± 0.07071 |");
  const auto g2 = md.find("| 0.1 | 2 | 0.6 ± 0.1414 |");
  CHECK(g1 != std::string::npos);
  CHECK(g1 < g2);
  CHECK_THAT(md, Catch::Contains("| 1 | 1 | - | - |"));

  // mode=min reverses the order; an unknown metric names what was logged.
  CHECK(markdown_tables(collect_results(m, layout, "val/accuracy", "min")).find("| 0.1 | 0 | done |") <
        markdown_tables(collect_results(m, layout, "val/accuracy", "min")).find("| 0.01 | 1 | done |"));
  CHECK_THROWS_WITH(collect_results(m, layout, "val/acc", ""),
                    Catch::Contains("metric 'val/acc' was not logged") && Catch::Contains("val/accuracy, val/loss"));

  const std::string csv = csv_table(r);
  CHECK_THAT(csv, Catch::StartsWith("job,optimizer.lr,train.seed,status,val/accuracy:final,val/accuracy:best,"
                                    "val/accuracy:best_step,val/loss:final"));
  CHECK_THAT(csv, Catch::Contains("\"optimizer.lr=0.01,train.seed=1\",0.01,1,done,0.9,0.9,10,0.1"));

  auto written = write_results(r, layout);
  REQUIRE(written.size() == 4);  // md, csv, curves, one bar chart (the seed is not an axis)
  for (const auto& path : written) CHECK(std::filesystem::file_size(path) > 0);
  CHECK(written[3].filename() == "val_accuracy_by_optimizer.lr.png");
}
