// loom::Clip without the Python reference: open_clip's state-dict layout, initialisation, pooling edge
// cases, the RO-ViT variant (no class token, average pooling, cropped positional embeddings), and a
// few training steps of the tiny config.
#include <torch/torch.h>

#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "models/clip/clip.h"
#include "support/test_env.h"

namespace {

using loom::Clip;
using loom::ClipOptions;

ClipOptions tiny_options() {
  loom::ConfigNode config = loom::load_config((loom::test::source_dir() / "configs/clip/models/tiny.yaml").string());
  return loom::read_config<ClipOptions>(*config.find("model"), "model");
}

ClipOptions rovit_options() {
  ClipOptions o = tiny_options();
  o.vision.class_token = false;
  o.vision.pool = "avg";
  o.vision.cropped_pe.enabled = true;
  o.vision.cropped_pe.upsample = 16;
  return o;
}

// SOT (vocab - 2), random words, EOT (vocab - 1), zero padding: the CLIP tokenizer's layout.
at::Tensor captions(int64_t batch, int64_t length, int64_t vocab = 49408) {
  at::Tensor tokens = torch::zeros({batch, length}, torch::kLong);
  for (int64_t i = 0; i < batch; ++i) {
    int64_t words = 2 + i % (length - 3);
    tokens[i][0] = vocab - 2;
    tokens[i].narrow(0, 1, words).copy_(torch::randint(0, vocab - 2, {words}, torch::kLong));
    tokens[i][words + 1] = vocab - 1;
  }
  return tokens;
}

double std_of(const at::Tensor& t) { return t.std().item<double>(); }

}  // namespace

TEST_CASE("Clip's state dict has exactly open_clip's CLIP names", "[clip]") {
  Clip clip(tiny_options());
  std::set<std::string> names;
  for (const auto& [name, t] : loom::weights::state_dict(clip)) names.insert(name);
  std::set<std::string> expected{"visual.class_embedding",
                                 "visual.positional_embedding",
                                 "visual.proj",
                                 "visual.conv1.weight",
                                 "visual.ln_pre.weight",
                                 "visual.ln_pre.bias",
                                 "visual.ln_post.weight",
                                 "visual.ln_post.bias",
                                 "token_embedding.weight",
                                 "positional_embedding",
                                 "ln_final.weight",
                                 "ln_final.bias",
                                 "text_projection",
                                 "logit_scale"};
  for (const std::string tower : {"visual.transformer", "transformer"})
    for (int block = 0; block < 2; ++block)
      for (const char* key : {"ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias",
                              "attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight", "ln_2.bias",
                              "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"})
        expected.insert(loom::cat(tower, ".resblocks.", block, ".", key));
  CHECK(names == expected);
  CHECK(clip.named_parameters()["visual.positional_embedding"].sizes() == at::IntArrayRef{17, 64});
  CHECK(clip.named_parameters()["text_projection"].sizes() == at::IntArrayRef{64, 64});
  CHECK(clip.named_parameters()["logit_scale"].dim() == 0);
  CHECK_FALSE(clip.logit_bias_value().defined());
}

TEST_CASE("Clip initialises like open_clip", "[clip]") {
  ClipOptions o = tiny_options();
  o.text.width = o.vision.width = 256;  // enough values for the standard deviations to settle
  o.text.layers = 4;
  torch::manual_seed(0);
  Clip clip(o);
  auto p = clip.named_parameters();
  CHECK(p["logit_scale"].item<double>() == Approx(std::log(1 / 0.07)));
  CHECK(clip.logit_scale_value().item<double>() == Approx(1 / 0.07));
  CHECK(std_of(p["token_embedding.weight"]) == Approx(0.02).epsilon(0.02));
  CHECK(std_of(p["positional_embedding"]) == Approx(0.01).epsilon(0.05));
  CHECK(std_of(p["transformer.resblocks.0.attn.in_proj_weight"]) == Approx(1 / 16.0).epsilon(0.02));
  CHECK(std_of(p["transformer.resblocks.3.attn.out_proj.weight"]) == Approx(1 / 16.0 / std::sqrt(8.0)).epsilon(0.02));
  CHECK(std_of(p["transformer.resblocks.1.mlp.c_fc.weight"]) == Approx(1 / std::sqrt(512.0)).epsilon(0.02));
  CHECK(std_of(p["text_projection"]) == Approx(1 / 16.0).epsilon(0.02));
  CHECK(std_of(p["visual.positional_embedding"]) == Approx(1 / 16.0).epsilon(0.1));
  CHECK(p["visual.transformer.resblocks.0.attn.in_proj_bias"].abs().max().item<double>() == 0);
  CHECK(p["visual.ln_pre.weight"].eq(1).all().item<bool>());
  {
    torch::NoGradGuard no_grad;
    p["logit_scale"].fill_(10.0);
  }
  CHECK(clip.logit_scale_value().item<double>() == Approx(100.0));
  o.init_logit_bias = -10.0;
  CHECK(Clip(o).logit_bias_value().item<double>() == Approx(-10.0));
}

TEST_CASE("Clip encodes images and captions into the joint space", "[clip]") {
  Clip clip(tiny_options());
  clip.eval();
  torch::NoGradGuard no_grad;
  at::Tensor images = torch::randn({3, 3, 32, 32});
  at::Tensor tokens = captions(3, 32);
  at::Tensor image = clip.encode_image(images, true), text = clip.encode_text(tokens, true);
  CHECK(image.sizes() == at::IntArrayRef{3, 64});
  CHECK(text.sizes() == at::IntArrayRef{3, 64});
  CHECK(torch::allclose(image.norm(2, -1), torch::ones({3}), 1e-5, 1e-5));
  CHECK(torch::allclose(text.norm(2, -1), torch::ones({3}), 1e-5, 1e-5));
  // Shorter captions than the context work (causal attention: padding after EOT changes nothing).
  CHECK(torch::allclose(clip.encode_text(tokens.narrow(1, 0, 20), false), clip.encode_text(tokens, false), 1e-5, 1e-5));
  // A caption without EOT (truncated by hand) pools its last position.
  at::Tensor no_eot = torch::full({1, 8}, 320, torch::kLong);
  CHECK(clip.text->eot_positions(no_eot).item<int64_t>() == 7);
  CHECK_THROWS_AS(clip.encode_text(torch::zeros({1, 33}, torch::kLong), false), loom::UserError);
  CHECK_THROWS_AS(clip.encode_image(torch::randn({1, 3, 64, 64}), false), loom::UserError);
}

TEST_CASE("an image tower without class token pools the average and crops positional embeddings", "[clip][rovit]") {
  ClipOptions o = rovit_options();
  Clip clip(o);
  auto p = clip.named_parameters();
  CHECK(p.find("visual.class_embedding") == nullptr);
  CHECK(p["visual.positional_embedding"].sizes() == at::IntArrayRef{16, 64});
  at::Tensor images = torch::randn({4, 3, 32, 32});

  clip.train();
  at::Tensor a = clip.encode_image(images, false), b = clip.encode_image(images, false);
  CHECK(torch::isfinite(a).all().item<bool>());
  CHECK_FALSE(torch::allclose(a, b));  // a fresh random crop per call and sample
  a.sum().backward();
  CHECK(p["visual.positional_embedding"].grad().abs().sum().item<double>() > 0);

  clip.eval();
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(clip.encode_image(images, false), clip.encode_image(images, false)));
  // The whole-image PE follows the patch grid, so other resolutions work (detection fine-tuning).
  CHECK(clip.visual->tokens(torch::randn({1, 3, 64, 48})).sizes() == at::IntArrayRef{1, 48, 64});

  o.vision.pool = "tok";
  CHECK_THROWS_AS(Clip(o), loom::UserError);
}

TEST_CASE("the tiny config learns to match its pairs", "[clip][train]") {
  // Tensors this small gain nothing from intra-op threads; on a busy machine the OpenMP barriers of
  // ~100 small ops per step turned 1 s into 20-40 s.
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  torch::manual_seed(0);
  ClipOptions o = tiny_options();
  o.text.vocab_size = 1000;  // the full vocabulary's embedding would dominate the optimizer steps
  o.text.eot_token_id = 999;
  Clip clip(o);
  clip.train();
  at::Tensor images = torch::randn({8, 3, 32, 32}), tokens = captions(8, 32, 1000);
  torch::optim::AdamW optimizer(clip.parameters(), torch::optim::AdamWOptions(1e-3));
  at::Tensor labels = torch::arange(8);
  auto loss_of = [&] {
    at::Tensor logits =
        clip.logit_scale_value() * clip.encode_image(images, true).matmul(clip.encode_text(tokens, true).t());
    return (torch::nn::functional::cross_entropy(logits, labels) +
            torch::nn::functional::cross_entropy(logits.t(), labels)) /
           2;
  };
  double first = loss_of().item<double>();
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    at::Tensor loss = loss_of();
    loss.backward();
    optimizer.step();
  }
  double last = loss_of().item<double>();
  at::set_num_threads(threads);
  CHECK(first > 1.5);
  CHECK(last < 0.1 * first);
}
