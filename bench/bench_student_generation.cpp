// Teacher and student side by side: parameters, mult-adds and generation speed of a StyleGAN2 teacher's
// synthesis network and a BlazeStyleGAN student's, from the same W+ (random weights are fine for speed):
//   bench_student_generation TEACHER_CONFIG STUDENT_CONFIG [batch=8] [iterations=5]
// The configs are YAML files with a `model:` section (configs/stylegan2/..., configs/blazestylegan/...).
// Synthesis only (the mapping network is the same for both), no autograd, constant noise, inference
// heads only. Prints images/s of each and the ratio. Figures, not assertions.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/stylegan2/stylegan2.h"
#include "train/components.h"

namespace {

double seconds_per_call(const std::function<void()>& fn, int iterations) {
  fn();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
}

int64_t parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_student_generation TEACHER_CONFIG STUDENT_CONFIG [batch] [iterations]\n");
    return 2;
  }
  loom::register_all();
  const int64_t batch = argc > 3 ? std::stoll(argv[3]) : 8;
  const int iterations = argc > 4 ? std::stoi(argv[4]) : 5;
  const auto teacher_config = loom::load_config(argv[1], {}), student_config = loom::load_config(argv[2], {});
  auto teacher = loom::make_model<loom::StyleGan2>(*teacher_config.find("model"), "model", "a stylegan2 teacher");
  auto student = loom::make_model<loom::BlazeStyleGan>(*student_config.find("model"), "model", "a blazestylegan");
  teacher->eval();
  student->eval();
  torch::NoGradGuard no_grad;
  auto& t = *teacher->G->synthesis;
  auto& s = *student->synthesis;
  const at::Tensor ws = torch::randn({batch, t.num_ws(), teacher->options().w_dim});
  const double teacher_seconds = seconds_per_call([&] { t.forward(ws, loom::NoiseMode::constant); }, iterations);
  const double student_seconds =
      seconds_per_call([&] { s.forward(ws, loom::NoiseMode::constant, {}, /*all_levels=*/false); }, iterations);
  const int64_t r = teacher->options().resolution;
  std::printf("bench_student_generation %lldx%lld, batch %lld, %d threads, %d iterations\n", (long long)r, (long long)r,
              (long long)batch, at::get_num_threads(), iterations);
  std::printf("%-10s %14s %18s %12s\n", "synthesis", "parameters", "mult-adds/image", "images/s");
  const double teacher_rate = batch / teacher_seconds, student_rate = batch / student_seconds;
  std::printf("%-10s %14lld %18lld %12.2f\n", "teacher", (long long)parameters(t), (long long)t.multiply_accumulates(),
              teacher_rate);
  std::printf("%-10s %14lld %18lld %12.2f\n", "student", (long long)parameters(s), (long long)s.multiply_accumulates(),
              student_rate);
  std::printf("ratio      %13.2fx %17.2fx %11.2fx\n", double(parameters(t)) / double(parameters(s)),
              double(t.multiply_accumulates()) / double(s.multiply_accumulates()), student_rate / teacher_rate);
  return 0;
}
