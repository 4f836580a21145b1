// CLIP training throughput: forward + backward + AdamW step of the model in a Loom config on random
// images and token ids (eot at a random position), InfoNCE loss, float32 on CPU. Prints samples/s;
// scripts/bench_clip_vs_open_clip runs it beside open_clip on the same shapes and threads.
//   usage: bench_clip_train CONFIG [batch=64] [steps=10] [warmup=3]
#include <chrono>
#include <cstdio>
#include <string>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "losses/loss.h"
#include "models/clip/clip.h"
#include "train/components.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_clip_train CONFIG [batch] [steps] [warmup]\n");
    return 2;
  }
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 64;
  const int steps = argc > 3 ? std::stoi(argv[3]) : 10, warmup = argc > 4 ? std::stoi(argv[4]) : 3;
  loom::register_all();
  loom::ConfigNode config = loom::load_config(argv[1]);
  auto model =
      std::dynamic_pointer_cast<loom::Clip>(loom::make_model(loom::required_section(config, "model"), "model"));
  auto loss = std::dynamic_pointer_cast<loom::ContrastiveLoss>(
      loom::loss_registry().get("clip")(loom::parse_yaml("name: clip\n", "bench"), "loss"));
  auto optimizer =
      loom::make_optimizer(loom::named_parameters(*model),
                           loom::parse_yaml("{name: adamw, lr: 1.0e-4, weight_decay: 0.1}", "bench"), "optimizer");
  torch::manual_seed(0);
  const auto& o = model->options();
  at::Tensor images = torch::randn({batch, 3, o.vision.image_size, o.vision.image_size});
  at::Tensor tokens = torch::randint(1, 49406, {batch, o.text.context_length}, torch::kLong);
  at::Tensor eot = torch::randint(1, o.text.context_length, {batch}, torch::kLong);
  tokens.scatter_(1, eot.unsqueeze(1), 49407);
  auto step = [&] {
    optimizer->zero_grad();
    at::Tensor l =
        loss->forward(model->encode_image(images, true), model->encode_text(tokens, true), model->logit_scale_value());
    l.backward();
    optimizer->step();
  };
  for (int i = 0; i < warmup; ++i) step();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loom      %-28s batch %lld threads %d: %.1f samples/s (%.1f ms/step)\n", argv[1],
              static_cast<long long>(batch), at::get_num_threads(), static_cast<double>(batch * steps) / seconds,
              1000.0 * seconds / steps);
  return 0;
}
