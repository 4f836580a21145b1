#pragma once
// The distill recipe's pieces around its two generators: the frozen teacher from its file, the checks
// that a student fits it, the student levels the losses use and their targets, and the discriminator.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/io/weights.h"
#include "models/stylegan2/generator.h"
#include "train/recipe.h"

namespace loom {

class BlazeStyleGan;
class DiscriminatorImpl;
struct DistillRecipeOptions;

// The teacher named by recipe.teacher, built from its file's model section (reconciled with
// recipe.teacher_model), loaded, frozen into setup.frozen["teacher"]; and the file's D tensors, if any.
struct DistillTeacher {
  Generator generator{nullptr};
  weights::NamedTensors discriminator;
};
DistillTeacher load_distill_teacher(const DistillRecipeOptions& options, TrainSetup& setup, c10::Device device);

// ConfigError at `key` when the student cannot take the teacher's W+ and noise maps: other w_dim or
// resolution, more ws than the teacher makes, a mapping of another shape.
void check_student_fits_teacher(const BlazeStyleGan& student, const GeneratorImpl& teacher, const std::string& key);
// The student's mapping network becomes a copy of the teacher's (so it generates from seeds alone).
void copy_teacher_mapping(BlazeStyleGan& student, const GeneratorImpl& teacher);

// Indices into `sides` (the student's per-level RGB sides) of the `wanted` sides, all when empty;
// ConfigError at `key` naming a side the student does not have and the ones it has.
std::vector<size_t> choose_levels(const std::vector<int64_t>& sides, const std::vector<int64_t>& wanted,
                                  const std::string& key);
// The image bilinearly resized to side × side (align_corners, as Anycost GAN's get_teacher_multi_res).
at::Tensor resize_to(const at::Tensor& image, int64_t side);
// Of the teacher's per-block images (4, 8, …, R), the one of this side; UserError at `key` otherwise.
at::Tensor teacher_level(const std::vector<at::Tensor>& levels, int64_t side, const std::string& key);

// D of the teacher's architecture at the student's resolution, from the teacher file's D when
// recipe.d_init is "teacher" and the file has one.
std::shared_ptr<DiscriminatorImpl> build_distill_discriminator(const DistillRecipeOptions& options,
                                                               const DistillTeacher& teacher, c10::Device device);

}  // namespace loom
