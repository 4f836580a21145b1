#include "sweep/results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "sweep/charts.h"

namespace loom::sweep {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Training-side records (losses per window, learning rates, counters): not evaluation results.
bool is_training_metric(const std::string& name) {
  return name.starts_with("train/") || name.starts_with("lr/") || name.starts_with("progress/");
}

std::string number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "-" : (v > 0 ? "inf" : "-inf");
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

double final_value(const JobResult& r, const std::string& metric) {
  auto it = r.metrics.find(metric);
  return it == r.metrics.end() ? kNan : it->second.final;
}

// Evaluation metrics any job logged, the sort metric first.
std::vector<std::string> shown_metrics(const SweepResults& results) {
  std::vector<std::string> names{results.metric};
  for (const auto& r : results.jobs)
    for (const auto& [name, trace] : r.metrics)
      if (!is_training_metric(name) && std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(name);
  return names;
}

struct Group {
  std::vector<std::string> labels;  // of the non-seed keys
  std::vector<const JobResult*> jobs;
};

struct MeanStd {
  double mean = kNan, std = kNan;
  int64_t n = 0;
};

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd m;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++m.n;
    }
  if (m.n == 0) return m;
  m.mean = sum / static_cast<double>(m.n);
  double squares = 0;
  for (double v : values)
    if (std::isfinite(v)) squares += (v - m.mean) * (v - m.mean);
  m.std = m.n > 1 ? std::sqrt(squares / static_cast<double>(m.n - 1)) : 0.0;  // sample std, as pandas
  return m;
}

// Jobs that differ only in their seed, in order of first appearance.
std::vector<Group> seed_groups(const SweepResults& results) {
  std::vector<Group> groups;
  for (const auto& r : results.jobs) {
    std::vector<std::string> labels;
    for (const auto& key : results.keys)
      if (key != kSeedKey) {
        const std::string* l = r.job->label(key);
        labels.push_back(l ? *l : "");
      }
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.labels == labels; });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{labels, {}});
    it->jobs.push_back(&r);
  }
  return groups;
}

std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '=') c = '_';
  return out;
}

// CSV keeps what a later analysis needs; the Markdown table rounds for reading.
std::string precise(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", v);
  return buffer;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void pick_best(MetricTrace& trace, bool minimize) {
  trace.best = kNan;
  for (const auto& [step, value] : trace.points)
    if (std::isfinite(value) && (std::isnan(trace.best) || (minimize ? value < trace.best : value > trace.best))) {
      trace.best = value;
      trace.best_step = step;
    }
}

// "enabled=true variant=siglip seed=0": the last part of each key keeps legends short and readable.
std::string legend_label(const Job& job) {
  std::string label;
  for (const auto& [column, value] : job.columns)
    label += cat(label.empty() ? "" : " ", column.substr(column.rfind('.') + 1), "=", value);
  return label;
}

// Best first by the sort metric; jobs without it last, in manifest order.
std::vector<const JobResult*> sorted_jobs(const SweepResults& results) {
  std::vector<const JobResult*> jobs;
  for (const auto& r : results.jobs) jobs.push_back(&r);
  std::stable_sort(jobs.begin(), jobs.end(), [&](const JobResult* a, const JobResult* b) {
    const double x = final_value(*a, results.metric), y = final_value(*b, results.metric);
    if (std::isnan(y)) return !std::isnan(x);
    if (std::isnan(x)) return false;
    return results.minimize ? x < y : x > y;
  });
  return jobs;
}

}  // namespace

bool lower_is_better(const std::string& metric) {
  std::string name = metric;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"loss", "fid", "kid", "lpips", "error", "mse", "l1", "l2", "distance"})
    if (name.find(word) != std::string::npos) return true;
  return false;
}

std::map<std::string, MetricTrace> read_metrics(const std::filesystem::path& jsonl) {
  std::vector<std::pair<int64_t, std::vector<std::pair<std::string, double>>>> records;
  std::ifstream in(jsonl);
  int64_t latest = -1;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
      if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut by a crash
    }
    const auto step = j["step"].get<int64_t>();
    if (step < latest)  // a resume from an earlier checkpoint: what came after it is replaced
      std::erase_if(records, [&](const auto& r) { return r.first >= step; });
    latest = step;
    std::vector<std::pair<std::string, double>> values;
    for (const auto& [name, value] : j.items())
      if (name != "step" && name != "time") values.emplace_back(name, value.is_number() ? value.get<double>() : kNan);
    records.emplace_back(step, std::move(values));
  }
  std::map<std::string, MetricTrace> traces;
  for (const auto& [step, values] : records)
    for (const auto& [name, value] : values) traces[name].points.emplace_back(step, value);
  for (auto& [name, trace] : traces) {
    trace.final = trace.points.back().second;
    pick_best(trace, lower_is_better(name));
  }
  return traces;
}

SweepResults collect_results(const Manifest& manifest, const SweepLayout& layout, std::string metric,
                             const std::string& mode) {
  SweepResults results;
  std::set<std::string> all_metrics;
  for (const auto& job : manifest.jobs) {
    JobResult r{&job, read_status(layout.status(job.id)).state, read_metrics(layout.run(job.id) / "metrics.jsonl")};
    for (const auto& [key, label] : job.columns)
      if (key != kSeedKey && std::find(results.keys.begin(), results.keys.end(), key) == results.keys.end())
        results.keys.push_back(key);
    for (const auto& [name, trace] : r.metrics) all_metrics.insert(name);
    results.jobs.push_back(std::move(r));
  }
  for (const auto& job : manifest.jobs)
    if (job.label(kSeedKey)) {
      results.keys.push_back(kSeedKey);
      break;
    }
  if (metric.empty()) metric = manifest.metric;
  if (metric.empty())
    for (const auto& name : all_metrics)
      if (!is_training_metric(name)) {
        metric = name;
        break;
      }
  if (!metric.empty() && !all_metrics.empty() && !all_metrics.count(metric))
    throw UserError(cat("metric '", metric, "' was not logged by any job of ", layout.root.string(),
                        " (logged: ", join(all_metrics, ", "), ")"));
  results.metric = metric;
  results.minimize = mode.empty() ? lower_is_better(metric) : mode == "min";
  for (auto& r : results.jobs)  // the sort metric's best follows the chosen mode
    if (auto it = r.metrics.find(metric); it != r.metrics.end()) pick_best(it->second, results.minimize);
  return results;
}

std::string markdown_tables(const SweepResults& results) {
  const std::vector<std::string> metrics = shown_metrics(results);
  std::string out = cat("Sorted by ", results.metric, " (", results.minimize ? "lower" : "higher",
                        " is better); final values, best with its step.\n\n");
  std::vector<std::string> header = results.keys;
  header.push_back("status");
  header.push_back(cat(results.metric, " (best @ step)"));
  for (const auto& m : metrics) header.push_back(m);
  auto row = [](const std::vector<std::string>& cells) { return cat("| ", join(cells, " | "), " |\n"); };
  out += row(header) + row(std::vector<std::string>(header.size(), "---"));
  for (const JobResult* job : sorted_jobs(results)) {
    const JobResult& r = *job;
    std::vector<std::string> cells;
    for (const auto& key : results.keys) {
      const std::string* l = r.job->label(key);
      cells.push_back(l ? *l : "");
    }
    cells.emplace_back(state_name(r.state));
    auto it = r.metrics.find(results.metric);
    cells.push_back(it == r.metrics.end() ? "-" : cat(number(it->second.best), " @ ", it->second.best_step));
    for (const auto& m : metrics) cells.push_back(number(final_value(r, m)));
    out += row(cells);
  }
  if (std::find(results.keys.begin(), results.keys.end(), kSeedKey) == results.keys.end()) return out;

  std::vector<Group> groups = seed_groups(results);
  auto group_mean = [&](const Group& g, const std::string& m) {
    std::vector<double> values;
    for (const auto* r : g.jobs) values.push_back(final_value(*r, m));
    return mean_std(values);
  };
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    const double x = group_mean(a, results.metric).mean, y = group_mean(b, results.metric).mean;
    if (std::isnan(y)) return !std::isnan(x);
    if (std::isnan(x)) return false;
    return results.minimize ? x < y : x > y;
  });
  out += "\nMean ± std over the seeds (final values).\n\n";
  header.clear();
  for (const auto& key : results.keys)
    if (key != kSeedKey) header.push_back(key);
  header.emplace_back("seeds");
  for (const auto& m : metrics) header.push_back(m);
  out += row(header) + row(std::vector<std::string>(header.size(), "---"));
  for (const auto& g : groups) {
    std::vector<std::string> cells = g.labels;
    cells.push_back(std::to_string(g.jobs.size()));
    for (const auto& m : metrics) {
      const MeanStd s = group_mean(g, m);
      cells.push_back(s.n == 0 ? "-" : cat(number(s.mean), " ± ", number(s.std)));
    }
    out += row(cells);
  }
  return out;
}

std::string csv_table(const SweepResults& results) {
  std::set<std::string> names;
  for (const auto& r : results.jobs)
    for (const auto& [name, trace] : r.metrics) names.insert(name);
  std::vector<std::string> header{"job"};
  header.insert(header.end(), results.keys.begin(), results.keys.end());
  header.emplace_back("status");
  for (const auto& n : names) {
    header.push_back(n + ":final");
    header.push_back(n + ":best");
    header.push_back(n + ":best_step");
  }
  std::string out = join(header, ",", csv_field) + "\n";
  for (const JobResult* job : sorted_jobs(results)) {
    const JobResult& r = *job;
    std::vector<std::string> cells{r.job->id};
    for (const auto& key : results.keys) {
      const std::string* l = r.job->label(key);
      cells.push_back(l ? *l : "");
    }
    cells.emplace_back(state_name(r.state));
    for (const auto& n : names) {
      auto it = r.metrics.find(n);
      const bool has = it != r.metrics.end();
      cells.push_back(has ? precise(it->second.final) : "");
      cells.push_back(has && std::isfinite(it->second.best) ? precise(it->second.best) : "");
      cells.push_back(has && std::isfinite(it->second.best) ? std::to_string(it->second.best_step) : "");
    }
    out += join(cells, ",", csv_field) + "\n";
  }
  return out;
}

std::vector<std::filesystem::path> write_results(const SweepResults& results, const SweepLayout& layout) {
  std::vector<std::filesystem::path> written{layout.root / "results.md", layout.root / "results.csv"};
  write_file_atomically(written[0], cat("# Sweep ", layout.root.filename().string(), "\n\n", markdown_tables(results)));
  write_file_atomically(written[1], csv_table(results));
  if (results.metric.empty()) return written;
  const std::filesystem::path plots = layout.root / "plots";
  std::vector<ChartSeries> curves;
  for (const auto& r : results.jobs)
    if (auto it = r.metrics.find(results.metric); it != r.metrics.end())
      curves.push_back({legend_label(*r.job), it->second.points});
  written.push_back(plots / cat(file_safe(results.metric), "_curves.png"));
  write_line_chart(written.back(), cat(results.metric, " against the step"), results.metric, curves);
  for (const auto& key : results.keys) {
    if (key == kSeedKey) continue;
    std::vector<std::string> labels;
    std::vector<std::vector<double>> values;
    for (const auto& r : results.jobs) {
      const std::string* l = r.job->label(key);
      if (!l) continue;
      auto it = std::find(labels.begin(), labels.end(), *l);
      if (it == labels.end()) {
        labels.push_back(*l);
        values.emplace_back();
        it = labels.end() - 1;
      }
      values[static_cast<size_t>(it - labels.begin())].push_back(final_value(r, results.metric));
    }
    std::vector<ChartBar> bars;
    for (size_t i = 0; i < labels.size(); ++i) {
      const MeanStd s = mean_std(values[i]);
      bars.push_back({labels[i], s.mean, s.std, s.n});
    }
    written.push_back(plots / cat(file_safe(results.metric), "_by_", file_safe(key), ".png"));
    write_bar_chart(written.back(), cat(results.metric, " by ", key), results.metric, bars);
  }
  return written;
}

}  // namespace loom::sweep
