#pragma once
// The values of one sweep axis as the command line gives them, in Hydra's multirun syntax:
//   key=a,b,c                  three values
//   key=range(1,4)             1, 2, 3 (range(start, stop[, step]); a float step gives floats)
//   key=choice(a,b)            the same as a,b
//   key='a,b',c  key=[1,2],[3] quotes, brackets and braces keep their commas: two values each
// A value without a top-level comma or function is one fixed override, as for `loom train`.
#include <string>
#include <vector>

namespace loom {
class ConfigNode;
}

namespace loom::sweep {

struct AxisValue {
  std::string text;   // what `key=text` hands the config loader (YAML)
  std::string label;  // how job names and tables show it (quotes removed)
};

// True when `value` names several values (a top-level comma, or range(...) / choice(...)).
bool is_sweep_value(const std::string& value);

// The values of `key=value`, in order. UserError naming the whole assignment for an empty element,
// unbalanced quotes or brackets, a bad range, an unknown function or no values at all.
std::vector<AxisValue> parse_axis_values(const std::string& key, const std::string& value);

// A YAML value of a sweep file as an axis value: its flow-style text, labelled without quotes.
AxisValue axis_value(const ConfigNode& node);

}  // namespace loom::sweep
