#pragma once
// Suggestions for misspelt names (config keys, registry entries, choices).
#include <string>
#include <vector>

namespace loom {

// The candidate closest to `word` by case-insensitive edit distance, or "" when none is close enough
// to be a typo (at most max(2, length / 3) edits). Failing that, the closest one with a '_'-separated
// part added or dropped: "max_stepz" -> "steps", "bucket" -> "bucket_mb".
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// "; did you mean 'steps'?" naming closest_match, or "" when there is none: the tail of an "unknown ..."
// message. `prefix` is spelled before the suggestion, for keys shown with their path ("train.").
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");

}  // namespace loom
