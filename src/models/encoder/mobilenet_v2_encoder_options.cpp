#include "models/encoder/mobilenet_v2_encoder_options.h"

#include <algorithm>

#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom {

std::vector<int64_t> MobileNetV2EncoderOptions::level_ws() const {
  const int64_t coarse = std::min(coarse_ws, num_ws);
  const int64_t middle = std::min(middle_ws, num_ws - coarse);
  return {coarse, middle, num_ws - coarse - middle};
}

std::optional<EncoderOptionsProblem> find_problem(const MobileNetV2EncoderOptions& o) {
  if ((o.resolution & (o.resolution - 1)) != 0)
    return EncoderOptionsProblem{"resolution", cat(o.resolution,
                                                   " is not a power of two (the style blocks halve "
                                                   "each tap down to 1x1)")};
  const auto& t = o.tap_stages;
  if (t.size() != 2 || t[0] >= t[1] || t[1] >= o.stages)
    return EncoderOptionsProblem{"tap_stages", cat("[", join(t, ", "), "] must be two increasing stages below stages (",
                                                   o.stages, "), the last kept stage being c3")};
  return std::nullopt;
}

void validate(const MobileNetV2EncoderOptions& options, const ConfigNode& section, const std::string& path) {
  if (const auto problem = find_problem(options)) {
    const ConfigNode* at = section.is_map() ? section.find(problem->key) : nullptr;
    fail_config(at ? *at : section, path + "." + problem->key, problem->message);
  }
}

}  // namespace loom
