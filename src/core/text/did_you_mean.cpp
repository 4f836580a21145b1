#include "core/text/did_you_mean.h"

#include <algorithm>
#include <cctype>

namespace loom {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Edits a typo may have: a third of the word, at least two.
size_t allowed_edits(const std::string& word) { return std::max<size_t>(2, word.size() / 3); }

// The runs of '_'-separated parts of `name` shorter than it, of at least four characters
// ("max_stepz" -> "stepz"; "bucket_mb" -> "bucket").
std::vector<std::string> part_runs(const std::string& name) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t end = name.find('_', start);
    parts.push_back(name.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::vector<std::string> runs;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string run;
    for (size_t j = i; j < parts.size(); ++j) {
      run += (j > i ? "_" : "") + parts[j];
      if (run.size() >= 4 && run.size() < name.size()) runs.push_back(run);
    }
  }
  return runs;
}

}  // namespace

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = allowed_edits(word) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (!best.empty()) return best;
  // No typo of a whole name: perhaps one with a part added or dropped ("max_stepz" for "steps").
  best_distance = std::string::npos;
  auto consider = [&](const std::string& a, const std::string& b, const std::string& candidate) {
    const size_t d = edit_distance(a, b);
    if (d <= allowed_edits(a.size() < b.size() ? a : b) && d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  };
  for (const auto& c : candidates) {
    for (const auto& run : part_runs(word)) consider(run, c, c);
    for (const auto& run : part_runs(c)) consider(word, run, c);
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix) {
  std::string match = closest_match(word, candidates);
  return match.empty() ? "" : "; did you mean '" + prefix + match + "'?";
}

}  // namespace loom
