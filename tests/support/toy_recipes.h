#pragma once
// Small recipes registered only in the trainer tests: a GAN-style recipe with two optimizers, a lazy
// regularisation phase (interval > 1) and an EMA, and a one-phase regression; both train on 2-D points.
// Options let tests inject a non-finite loss or a SIGTERM at a given step. "toy_student"
// (toy_student_recipe.cpp) exercises frozen modules, step hooks and staged phases.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include "models/stylegan2/mapping_network.h"

namespace loom::test {

void register_toy_recipes();  // idempotent; registers "toy_gan", "toy_regression" and "toy_student"
void register_toy_student_recipe();

// toy_student's frozen teacher: a StyleGAN2 mapping network (z 8 -> w 256, with w_avg), BatchNorm and
// a linear head to 2-D (about 0.5 M parameters).
class ToyTeacherImpl : public torch::nn::Module {
 public:
  ToyTeacherImpl();
  at::Tensor forward(const at::Tensor& z);
  MappingNetwork mapping{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ToyTeacher);

}  // namespace loom::test
