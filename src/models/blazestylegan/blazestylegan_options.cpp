#include "models/blazestylegan/blazestylegan_options.h"

#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom {

namespace {

int64_t log2_of(int64_t n) {
  int64_t k = 0;
  while ((int64_t{1} << k) < n) ++k;
  return k;
}

}  // namespace

int64_t BlazeStyleGanOptions::num_levels() const { return log2_of(resolution) - 1 - (head_scale() == 2 ? 1 : 0); }

int64_t BlazeStyleGanOptions::mapping_num_ws() const {
  return teacher_num_ws > 0 ? teacher_num_ws : 2 * log2_of(resolution) - 2;
}

StudentConv BlazeStyleGanOptions::conv_at(int64_t level) const {
  const std::string& kind = level == 0 && first_conv ? *first_conv : conv;
  return kind == "full" ? StudentConv::full : StudentConv::depthwise;
}

LevelUpsample BlazeStyleGanOptions::level_upsample() const {
  if (upsample == "transposed") return LevelUpsample::transposed;
  return upsample == "bilinear" ? LevelUpsample::bilinear : LevelUpsample::haar;
}

FinalUpsample BlazeStyleGanOptions::final() const {
  if (final_upsample == "haar") return FinalUpsample::haar;
  return final_upsample == "pixel_shuffle" ? FinalUpsample::pixel_shuffle : FinalUpsample::none;
}

std::optional<OptionsProblem> find_problem(const BlazeStyleGanOptions& o) {
  if ((int64_t{1} << log2_of(o.resolution)) != o.resolution)
    return OptionsProblem{"resolution", cat(o.resolution, " is not a power of two")};
  const int64_t levels = o.num_levels();
  if (static_cast<int64_t>(o.channels.size()) != levels) {
    std::vector<int64_t> sides;
    for (int64_t l = 0; l < levels; ++l) sides.push_back(BlazeStyleGanOptions::level_resolution(l));
    return OptionsProblem{
        "channels", cat(o.channels.size(), " widths given, the ", levels, " levels (", join(sides, ", "),
                        " for resolution ", o.resolution, ", final_upsample ", o.final_upsample, ") need one each")};
  }
  if (o.level_upsample() == LevelUpsample::haar)
    for (int64_t l = 0; l + 1 < levels; ++l)
      if (o.channels[l] % 4 != 0)
        return OptionsProblem{cat("channels[", l, "]"), cat(o.channels[l],
                                                            " is not divisible by 4 (upsample: haar hands C/4 "
                                                            "channels to the next level)")};
  const int64_t read = o.layer_num_ws();
  if (o.num_ws > 0 && o.num_ws != read)
    return OptionsProblem{
        "num_ws", cat(o.num_ws, " is ", o.num_ws > read ? "larger" : "smaller", " than the ", read,
                      " ws the layers read (", o.num_convs(), " convs, ", levels, " heads, head_ws ", o.head_ws, ")")};
  if (o.mapping_num_ws() < o.synthesis_num_ws())
    return OptionsProblem{"teacher_num_ws", cat(o.mapping_num_ws(), " ws from the mapping are fewer than the ",
                                                o.synthesis_num_ws(), " the synthesis reads")};
  return std::nullopt;
}

void validate(const BlazeStyleGanOptions& options, const ConfigNode& section, const std::string& path) {
  if (const auto problem = find_problem(options)) {
    const std::string top = problem->key.substr(0, problem->key.find('['));
    const ConfigNode* at = section.is_map() ? section.find(top) : nullptr;
    fail_config(at ? *at : section, path + "." + problem->key, problem->message);
  }
}

}  // namespace loom
