#include "sweep/expansion.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/io/crc32c.h"
#include "core/text/cat.h"

namespace loom::sweep {

namespace {

constexpr size_t kMaxIdLength = 96;

// splitmix64: a fixed, platform-independent stream (std::uniform_*_distribution differ between
// standard libraries, and a sweep must expand to the same values everywhere).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Six significant digits: the value a job trains with is the one its name shows.
std::string six_digits(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

// One draw of a parameter, from (sweep seed, draw, key) alone: adding a parameter or a draw leaves the
// other draws as they were.
AxisValue draw(const RandomParameter& p, uint64_t seed, int64_t index) {
  const uint64_t bits = mix(mix(seed) ^ mix(static_cast<uint64_t>(index) + 1) ^ crc32c(p.key));
  const double u = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
  std::string text;
  if (p.distribution == "choice") {
    return p.values[std::min(p.values.size() - 1, static_cast<size_t>(u * static_cast<double>(p.values.size())))];
  } else if (p.distribution == "uniform") {
    text = six_digits(p.min + u * (p.max - p.min));
  } else if (p.distribution == "log_uniform") {
    text = six_digits(std::exp(std::log(p.min) + u * (std::log(p.max) - std::log(p.min))));
  } else {  // int_uniform: min..max inclusive
    const double lo = std::ceil(p.min), hi = std::floor(p.max);
    text = std::to_string(static_cast<int64_t>(lo + std::floor(u * (hi - lo + 1))));
  }
  return {text, text};
}

// A piece of a job: what it sets and how that is shown.
struct Part {
  Assignment swept;
  Columns columns;
};

Part axis_part(const std::string& key, const AxisValue& value) { return {{{key, value}}, {{key, value.label}}}; }

std::vector<Part> cross(const std::vector<Part>& left, const std::vector<Part>& right) {
  if (right.empty()) return left;
  std::vector<Part> out;
  for (const auto& l : left)
    for (const auto& r : right) {
      Part p = l;
      p.swept.insert(p.swept.end(), r.swept.begin(), r.swept.end());
      p.columns.insert(p.columns.end(), r.columns.begin(), r.columns.end());
      out.push_back(std::move(p));
    }
  return out;
}

// Every combination of the axes, the last fastest.
std::vector<Part> product(const std::vector<Axis>& axes) {
  std::vector<Part> out{{}};
  for (const auto& axis : axes) {
    std::vector<Part> values;
    for (const auto& value : axis.values) values.push_back(axis_part(axis.key, value));
    out = cross(out, values);
  }
  return out;
}

}  // namespace

std::vector<std::string> Job::overrides() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : swept) out.push_back(cat(key, "=", value.text));
  return out;
}

const std::string* Job::label(const std::string& column) const {
  for (const auto& [c, l] : columns)
    if (c == column) return &l;
  return nullptr;
}

std::string job_id(const Columns& columns, const Assignment& swept) {
  std::string id, exact;
  for (const auto& [column, label] : columns) id += (id.empty() ? "" : ",") + column + "=" + label;
  for (const auto& [key, value] : swept) exact += key + "=" + value.text + "\n";
  bool changed = false;
  for (char& c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("._=,+-").find(c) == std::string_view::npos) {
      c = '_';
      changed = true;
    }
  if (!changed && id.size() <= kMaxIdLength) return id;
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08x", crc32c(exact));
  return cat(id.substr(0, kMaxIdLength - 9), "-", hash);
}

std::vector<Job> expand(const SweepSpec& spec) {
  for (const auto& axis : spec.grid)
    if (axis.values.empty()) throw UserError(cat("sweep axis '", axis.key, "' has no values"));
  std::vector<Part> list, draws;
  for (const auto& entry : spec.list) {
    Part p{entry.values, {}};
    if (!entry.name.empty()) p.columns.emplace_back(kVariantColumn, entry.name);
    for (const auto& [key, value] : entry.values)
      if (entry.name.empty()) p.columns.emplace_back(key, value.label);
    list.push_back(std::move(p));
  }
  for (int64_t i = 0; i < spec.random_draws; ++i) {
    Part p;
    for (const auto& r : spec.random) {
      Part one = axis_part(r.key, draw(r, spec.random_seed, i));
      p = cross({p}, {one}).front();
    }
    draws.push_back(std::move(p));
  }
  std::vector<Part> parts = cross(cross(product(spec.grid), list), draws);
  if (!spec.seeds.empty()) parts = cross(parts, product({Axis{kSeedKey, spec.seeds}}));
  if (parts.size() == 1 && parts.front().swept.empty())
    throw UserError(cat("nothing to sweep in ", spec.source,
                        ": give key=v1,v2 or key=range(a,b) on the command line, or grid/list/random/seeds in a "
                        "sweep file (configs/sweeps/)"));
  std::vector<Job> jobs;
  std::set<std::string> ids;
  for (auto& part : parts) {
    std::set<std::string> keys;
    for (const auto& [key, value] : part.swept)
      if (!keys.insert(key).second)
        throw UserError(cat("sweep key '", key, "' is swept twice (by two axes, or an axis and a list entry)"));
    Job job{job_id(part.columns, part.swept), std::move(part.swept), std::move(part.columns)};
    if (!ids.insert(job.id).second)
      throw UserError(cat("sweep job '", job.id, "' comes out twice: an axis lists the same value twice"));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace loom::sweep
