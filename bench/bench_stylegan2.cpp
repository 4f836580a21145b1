// StyleGAN2 step costs on this machine, per phase of the stylegan2 recipe's work (forward + backward):
//   bench_stylegan2 [config: small|paper256|f1024] [batch] [iterations]
// "small" is configs/stylegan2/small_shapes.yaml's model (32x32), "paper256" NVlabs' paper256 G and D.
// Prints milliseconds per phase and per full step (Gmain + Dmain + Greg/4 + Dreg/16), and generation
// images/s. Figures, not assertions.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "losses/gan_regularizers.h"
#include "models/stylegan2/stylegan2.h"

namespace {

double milliseconds(const std::function<void()>& fn, int iterations) {
  fn();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string config = argc > 1 ? argv[1] : "small";
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 16;
  const int iterations = argc > 3 ? std::stoi(argv[3]) : 5;
  loom::StyleGan2Options o;
  if (config == "small") {
    o.resolution = 32, o.z_dim = 128, o.w_dim = 128, o.mapping_layers = 2, o.channel_base = 4096, o.channel_max = 128;
  } else if (config == "paper256") {
    o.resolution = 256, o.channel_base = 16384, o.mbstd_group_size = std::min<int64_t>(8, batch);
  } else if (config == "f1024") {
    o.resolution = 1024;
  } else {
    std::fprintf(stderr, "config: small | paper256 | f1024\n");
    return 2;
  }
  loom::StyleGan2 model(o);
  auto& G = *model.G;
  auto& D = *model.D;
  const int64_t r = o.resolution;
  std::printf("bench_stylegan2 %s: %lldx%lld, batch %lld, %d threads\n", config.c_str(), (long long)r, (long long)r,
              (long long)batch, at::get_num_threads());
  auto z = [&](int64_t n) { return torch::randn({n, o.z_dim}); };
  const at::Tensor reals = torch::rand({batch, 3, r, r}) * 2 - 1;
  const double gmain = milliseconds(
      [&] {
        at::Tensor img = G.forward(z(batch), {});
        loom::generator_logistic_loss(D.forward(img, {})).mean().backward();
      },
      iterations);
  const double dmain = milliseconds(
      [&] {
        at::Tensor fake;
        {
          torch::NoGradGuard no_grad;
          fake = G.forward(z(batch), {});
        }
        loom::discriminator_logistic_loss(D.forward(fake, {}), D.forward(reals, {})).mean().backward();
      },
      iterations);
  const double greg = milliseconds(
      [&] {
        const int64_t n = std::max<int64_t>(batch / 2, 1);
        at::Tensor ws = G.mapping->forward(z(n), {});
        at::Tensor img = G.synthesis->forward(ws);
        at::Tensor lengths = loom::path_lengths(img, ws, torch::randn_like(img) / static_cast<double>(r));
        double mean = 0;
        loom::path_length_penalty(lengths, mean, 0.01).mean().backward();
      },
      iterations);
  const double dreg = milliseconds(
      [&] {
        at::Tensor x = reals.clone().requires_grad_(true);
        loom::r1_penalty(D.forward(x, {}), x).mean().backward();
      },
      iterations);
  double generate = 0;
  {
    torch::NoGradGuard no_grad;
    G.eval();
    generate = milliseconds([&] { G.forward(z(batch), {}, {.noise_mode = loom::NoiseMode::constant}); }, iterations);
  }
  const double step = gmain + dmain + greg / 4 + dreg / 16;
  std::printf("  Gmain %.1f ms  Dmain %.1f ms  Greg %.1f ms  Dreg %.1f ms\n", gmain, dmain, greg, dreg);
  std::printf("  step (Gmain + Dmain + Greg/4 + Dreg/16) %.1f ms = %.2f steps/s = %.1f images/s\n", step, 1000 / step,
              1000 * static_cast<double>(batch) / step);
  std::printf("  generation (no grad, const noise): %.1f ms per batch = %.1f images/s\n", generate,
              1000 * static_cast<double>(batch) / generate);
  return 0;
}
