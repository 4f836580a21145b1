#include "train/recipes/distill_teacher.h"

#include <ATen/ops/upsample_bilinear2d.h>
#include <c10/core/GradMode.h>

#include <map>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/pretrained_generator.h"
#include "train/frozen_modules.h"
#include "train/recipes/distill.h"

namespace loom {

DistillTeacher load_distill_teacher(const DistillRecipeOptions& options, TrainSetup& setup, c10::Device device) {
  const ConfigNode* section = options.teacher_model.is_null() ? nullptr : &options.teacher_model;
  PretrainedGenerator loaded = load_pretrained_generator(options.teacher, section, "recipe.teacher_model");
  if (loaded.generator->options().c_dim > 0)
    throw ConfigError(cat("recipe.teacher: ", options.teacher, " is a conditional generator (c_dim ",
                          loaded.generator->options().c_dim, "); the distill recipe distils unconditional ones"));
  FrozenModule frozen = freeze_module(loaded.generator.ptr(), "", device, "recipe.teacher");
  frozen.source = loaded.source;
  setup.frozen["teacher"] = frozen;
  LOOM_INFO("teacher: ", loaded.source, " (", loaded.tensors_loaded, " tensors, ",
            loaded.generator->options().resolution, " px, ", loaded.generator->num_ws(), " ws)");
  return {loaded.generator, std::move(loaded.discriminator)};
}

void check_student_fits_teacher(const BlazeStyleGan& student, const GeneratorImpl& teacher, const std::string& key) {
  const BlazeStyleGanOptions& s = student.options();
  const StyleGan2Options& t = teacher.options();
  auto fail = [&](const std::string& field, const std::string& what) {
    throw ConfigError(cat(key, ".", field, ": ", what));
  };
  if (s.resolution != t.resolution)
    fail("resolution", cat(s.resolution, " differs from the teacher's ", t.resolution, " (recipe.teacher)"));
  if (s.w_dim != t.w_dim) fail("w_dim", cat(s.w_dim, " differs from the teacher's ", t.w_dim));
  if (student.synthesis->num_ws() > teacher.num_ws())
    fail("num_ws", cat("the student reads ", student.synthesis->num_ws(), " ws; the teacher makes ", teacher.num_ws()));
  if (!student.mapping) return;
  if (s.z_dim != t.z_dim) fail("z_dim", cat(s.z_dim, " differs from the teacher's ", t.z_dim));
  if (s.mapping_layers != t.mapping_layers)
    fail("mapping_layers", cat(s.mapping_layers, " differs from the teacher's ", t.mapping_layers,
                               " (the student's mapping is a copy of the teacher's)"));
  if (s.mapping_num_ws() != teacher.num_ws())
    fail("teacher_num_ws",
         cat("the mapping broadcasts ", s.mapping_num_ws(), " ws; the teacher's makes ", teacher.num_ws()));
}

void copy_teacher_mapping(BlazeStyleGan& student, const GeneratorImpl& teacher) {
  c10::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> from_teacher;
  if (student.mapping)
    for (auto& [name, tensor] : weights::state_dict(*teacher.mapping)) from_teacher["mapping." + name] = tensor;
  // The teacher's constant noise maps, so `noise: const` images of the two line up.
  for (auto& [name, tensor] : weights::state_dict(*teacher.synthesis))
    if (name.ends_with("noise_const")) from_teacher["synthesis." + name] = tensor;
  for (auto& [name, tensor] : weights::state_dict(student)) {
    const auto it = from_teacher.find(name);
    if (it == from_teacher.end()) continue;
    if (it->second.sizes() != tensor.sizes())
      throw ConfigError(
          cat("model: the student's ", name, " ", tensor.sizes(), " does not fit the teacher's ", it->second.sizes()));
    tensor.copy_(it->second);
  }
}

std::vector<size_t> choose_levels(const std::vector<int64_t>& sides, const std::vector<int64_t>& wanted,
                                  const std::string& key) {
  std::vector<size_t> out;
  if (wanted.empty()) {
    for (size_t i = 0; i < sides.size(); ++i) out.push_back(i);
    return out;
  }
  for (int64_t side : wanted) {
    const auto it = std::find(sides.begin(), sides.end(), side);
    if (it == sides.end())
      throw ConfigError(
          cat(key, ": the student has no level of side ", side, " (its levels: ", join(sides, ", "), ")"));
    out.push_back(static_cast<size_t>(it - sides.begin()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

at::Tensor resize_to(const at::Tensor& image, int64_t side) {
  if (image.size(2) == side && image.size(3) == side) return image;
  return at::upsample_bilinear2d(image, {side, side}, /*align_corners=*/true);
}

at::Tensor teacher_level(const std::vector<at::Tensor>& levels, int64_t side, const std::string& key) {
  for (const at::Tensor& level : levels)
    if (level.size(2) == side) return level;
  throw UserError(cat(key, ": the teacher has no image of side ", side));
}

std::shared_ptr<DiscriminatorImpl> build_distill_discriminator(const DistillRecipeOptions& options,
                                                               const DistillTeacher& teacher, c10::Device device) {
  auto d = std::make_shared<DiscriminatorImpl>(teacher.generator->options());
  if (options.d_init == "teacher" && !teacher.discriminator.empty()) {
    const weights::LoadReport report = weights::load_into(*d, teacher.discriminator, {}, options.teacher);
    LOOM_INFO("D starts from the teacher's: ", report.summary());
  } else if (options.d_init == "teacher") {
    LOOM_WARN("recipe.d_init: teacher, but ", options.teacher, " has no discriminator: D starts at random");
  }
  d->to(device);
  return d;
}

}  // namespace loom
