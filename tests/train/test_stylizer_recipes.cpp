// The stylizer chain end to end on tiny random networks at 64 px: an `encoder` run inverting a
// BlazeStyleGAN student (pSp losses, e4e's progressive stages), `fewshot` runs fine-tuning the student
// from style images with both presets (exact resume, MediaPipe's style-loss bug behind its flag), and
// `loom stylize` on a folder with a real face (scikit-image's astronaut), a photograph without one and
// an unreadable file, and the trained stylizer exported as ONNX and run by onnxruntime. Bad settings
// are errors naming the key.
#include <cmath>
#include <fstream>
#include <map>

#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <opencv2/imgproc.hpp>

#include "app/fewshot_stylizer.h"
#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/io/weights.h"
#include "data/image_io.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/model_metadata.h"
#include "support/lpips_heads.h"
#include "support/onnx_runs.h"
#include "support/skimage_photos.h"
#include "support/trainer_test_util.h"
#include "train/components.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

const char* kStudent =
    "{name: blazestylegan, resolution: 64, z_dim: 16, w_dim: 16, mapping_layers: 2, channels: [16, 16, 16, 16]}";
const char* kTeacher =
    "{name: stylegan2, resolution: 64, z_dim: 16, w_dim: 16, mapping_layers: 2, channel_base: 256, channel_max: 16}";
// What every case shares (weight files, the encoder run, style images), made once per test binary run
// in a folder the cases' own scratch folders do not wipe.
const std::filesystem::path& fixtures() {
  static const std::filesystem::path dir = scratch("stylizer_fixtures");
  return dir;
}

const char* kEncoder = "{name: mobilenet_v2_encoder, resolution: 64, num_ws: 8, w_dim: 16, width_mult: 0.25}";

// A random student (8 ws) as a weight file that records its model section, once per test binary run.
std::string student_file() {
  const std::filesystem::path& root = fixtures();
  static std::string made;
  if (!made.empty()) return made;
  const ConfigNode section = yaml(kStudent);
  torch::manual_seed(1);
  auto student = make_model(section, "model");
  made = (root / "student.safetensors").string();
  weights::write(made, weights::state_dict(*student), model_metadata(section));
  return made;
}

// A random StyleGAN2 generator and its D at 64 px, as a converted file holds them (G. and D.).
std::string teacher_file() {
  const std::filesystem::path& root = fixtures();
  static std::string made;
  if (!made.empty()) return made;
  const ConfigNode section = yaml(kTeacher);
  torch::manual_seed(2);
  auto model = make_model(section, "model");  // StyleGan2: G. and D. tensors
  made = (root / "teacher.safetensors").string();
  weights::write(made, weights::state_dict(*model), model_metadata(section));
  return made;
}

std::string common(const std::filesystem::path& root, const std::string& name, const std::string& id) {
  return cat("train: {steps: 4, loader: {batch_size: 2, workers: 1}, threads: 1, eval_every: 0, sample_every: 0, ",
             "checkpoint_every: 0, log_every: 1}\n", "output: {root: ", root.string(), ", name: ", name, ", id: ", id,
             "}\n", "eval: {num_images: 4, batch_size: 2, grid_images: 2, perceptual: {kind: lpips, net: vgg, ",
             "head_weights: ", lpips_heads(), "}}\n");
}

ConfigNode encoder_config(const std::filesystem::path& root, const std::string& id,
                          const std::vector<std::string>& overrides = {}) {
  ConfigNode config = yaml(cat("recipe: {name: encoder, generator: ", student_file(),
                               ", train_on: generated, w_norm: 0.01, w_l2: 1.0, perceptual_loss: {kind: lpips, ",
                               "net: vgg, head_weights: ", lpips_heads(), "}}\n", "model: ", kEncoder, "\n",
                               "optimizer: {name: adam, lr: 0.0001}\n", common(root, "encoder", id)));
  for (const auto& o : overrides) apply_override(config, o);
  return config;
}

std::filesystem::path encoder_run() {
  const std::filesystem::path& root = fixtures();
  static std::filesystem::path made;
  if (!made.empty()) return made;
  stop_signal::reset();
  made = train(encoder_config(root, "e"), "encoder.yaml").run.dir;
  return made;
}

// Three style images: scikit-image photographs shrunk to 64 px.
std::filesystem::path style_folder() {
  const std::filesystem::path& root = fixtures();
  const auto dir = root / "styles";
  if (std::filesystem::exists(dir)) return dir;
  std::filesystem::create_directories(dir);
  for (const auto& [name, photo] : skimage_photos(root))
    if (photo.channels() == 3) {
      cv::Mat small;
      cv::resize(photo, small, {64, 64}, 0, 0, cv::INTER_AREA);
      data::write_png((dir / (name + ".png")).string(), data::to_tensor(small));
    }
  return dir;
}

ConfigNode fewshot_config(const std::filesystem::path& root, const std::string& id,
                          const std::vector<std::string>& overrides = {}) {
  ConfigNode config =
      yaml(cat("recipe: {name: fewshot, preset: mediapipe, generator: ", student_file(),
               ", encoder: ", encoder_run().string(), ", discriminator: ", teacher_file(),
               ", swap_layers: [2, 3, 6, 7]}\n", "data:\n  style: {name: image_folder, root: ", style_folder().string(),
               "}\n", "  eval: {name: synthetic_faces, split: val, image_size: 64, aligned: true, size: 4}\n",
               "optimizer: {name: adam, lr: 0.0008, betas: [0, 0.99]}\n", common(root, "fewshot", id)));
  for (const auto& o : overrides) apply_override(config, o);
  return config;
}

TrainResult run_fewshot(const std::filesystem::path& root, const std::string& id,
                        const std::vector<std::string>& overrides = {}) {
  stop_signal::reset();
  return train(fewshot_config(root, id, overrides), "fewshot.yaml");
}

std::map<std::string, double> metrics_of(const TrainResult& r) {
  return {r.final_metrics.begin(), r.final_metrics.end()};
}

}  // namespace

TEST_CASE("encoder recipe: pSp losses through a frozen student and reconstruction scores and grids",
          "[encoder][recipe]") {
  const auto root = scratch("stylizer_recipes");
  stop_signal::reset();
  TrainResult r = train(encoder_config(root, "scores", {"train.sample_every=4"}), "encoder.yaml");
  CHECK(r.steps == 4);
  const auto m = metrics_of(r);
  for (const char* name : {"val/lpips_vgg_random_backbone", "val/l2", "val/psnr"}) {
    INFO(name);
    REQUIRE(m.count(name));
    CHECK(std::isfinite(m.at(name)));
  }
  CHECK(m.at("val/psnr") > 0);
  const std::string metrics = read_text(r.run.metrics());
  for (const char* figure : {"train/E/l2", "train/E/lpips", "train/E/w_norm", "train/E/w_l2"}) {
    INFO(figure);
    CHECK(metrics.find(figure) != std::string::npos);
  }
  const cv::Mat grid = data::read_image((r.run.dir / "samples" / "input_reconstruction-000000004.png").string());
  CHECK(grid.cols == 2 * 64);
}

TEST_CASE("encoder recipe: e4e's progressive stages and delta regulariser", "[encoder][recipe]") {
  const auto root = scratch("stylizer_recipes");
  stop_signal::reset();
  TrainResult r =
      train(encoder_config(root, "e4e",
                           {"model.progressive=true", "recipe.progressive_start=1", "recipe.progressive_step_every=1"}),
            "encoder.yaml");
  const std::string metrics = read_text(r.run.metrics());
  CHECK(metrics.find("train/E/delta_norm") != std::string::npos);
  CHECK(metrics.find("train/E/stage") != std::string::npos);
}

TEST_CASE("fewshot recipe: MediaPipe's losses from three style images, scores, grids and exact resume",
          "[fewshot][recipe][resume]") {
  const auto root = scratch("stylizer_recipes");
  TrainResult whole = run_fewshot(root, "whole", {"train.sample_every=4"});
  CHECK(whole.steps == 4);
  const auto m = metrics_of(whole);
  for (const char* name : {"val/style_gram", "val/style_gram_reconstruction", "val/style_lpips_vgg_random_backbone",
                           "val/content_lpips_vgg_random_backbone", "val/faces_found"}) {
    INFO(name);
    REQUIRE(m.count(name));
    CHECK(std::isfinite(m.at(name)));
  }
  const std::string metrics = read_text(whole.run.metrics());
  for (const char* figure : {"train/G/l1", "train/G/perceptual", "train/G/d_l1"}) {
    INFO(figure);
    CHECK(metrics.find(figure) != std::string::npos);
  }
  const cv::Mat grid =
      data::read_image((whole.run.dir / "samples" / "input_reconstruction_stylized-000000004.png").string());
  CHECK(grid.cols == 3 * 64);
  CHECK(grid.rows == 2 * 64);
  run_fewshot(root, "split", {"train.steps=2"});
  TrainResult rest = run_fewshot(root, "split", {"resume=auto"});
  CHECK(rest.steps == 4);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(rest.last_checkpoint));
}

TEST_CASE("fewshot recipe: the jojogan preset and the MediaPipe style-loss flag", "[fewshot][recipe]") {
  const auto root = scratch("stylizer_recipes");
  TrainResult jojo = run_fewshot(root, "jojo", {"recipe.preset=jojogan", "recipe.swap_layers=[]", "train.steps=2"});
  const std::string metrics = read_text(jojo.run.metrics());
  // Its one loss is the D feature term, logged as the phase's loss.
  CHECK(metrics.find("train/G/loss") != std::string::npos);
  CHECK(metrics.find("train/G/l1") == std::string::npos);
  CHECK(metrics.find("train/G/perceptual") == std::string::npos);
  // The flag counts only the last tap's Gram term: a different loss from the same start.
  auto first_perceptual = [](const TrainResult& r) {
    const std::string text = read_text(r.run.metrics());
    const size_t at = text.find("\"train/G/perceptual\"");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(text.find(':', at) + 1));
  };
  const double fixed = first_perceptual(run_fewshot(root, "all_taps", {"train.steps=1"}));
  const double bug = first_perceptual(run_fewshot(root, "bug", {"train.steps=1", "recipe.mediapipe_style_bug=true"}));
  CHECK(bug != fixed);
}

TEST_CASE("fewshot recipe: bad settings name the key", "[fewshot][recipe][bad input]") {
  const auto root = scratch("stylizer_recipes");
  auto fails_with = [&](const std::vector<std::string>& overrides, const std::string& key) {
    INFO(key);
    stop_signal::reset();
    CHECK_THROWS_WITH(train(fewshot_config(root, "bad", overrides), "fewshot.yaml"), Catch::Contains(key));
  };
  fails_with({"recipe.swap_layers=[20]"}, "recipe.swap_layers");
  fails_with({"recipe.alpha=1.5"}, "recipe.alpha");
  fails_with({cat("recipe.generator=", teacher_file())}, "recipe.generator");
  fails_with({"recipe.l1=0", "recipe.perceptual=0", "recipe.d_l1=0"}, "recipe");
  fails_with({cat("recipe.discriminator=", student_file())}, "recipe.discriminator");
  fails_with({"data.style={name: image_folder, root: /nonexistent/styles}"}, "/nonexistent/styles");
  // An encoder made for another W+ (10 ws where the student reads 8).
  const ConfigNode other =
      yaml("{name: mobilenet_v2_encoder, resolution: 64, num_ws: 10, w_dim: 16, width_mult: 0.25}");
  const std::string encoder_file = (root / "encoder10.safetensors").string();
  weights::write(encoder_file, weights::state_dict(*make_model(other, "model")), model_metadata(other));
  fails_with({cat("recipe.encoder=", encoder_file)}, "recipe.encoder");
  // Style photographs without a readable face: a photograph of a cup and a broken file, aligned with dlib.
  const auto faceless = root / "faceless_styles";
  std::filesystem::create_directories(faceless);
  data::write_png((faceless / "coffee.png").string(), data::to_tensor(skimage_photos(root).at("coffee")));
  std::ofstream(faceless / "broken.png") << "not a png";
  fails_with({cat("data.style.root=", faceless.string()), "recipe.style_align=ffhq"}, faceless.string());
}

TEST_CASE("loom stylize and loom eval: a folder with a face, a photograph without one and an unreadable file",
          "[fewshot][cli]") {
  const auto root = scratch("stylizer_recipes");
  TrainResult r = run_fewshot(root, "cli", {"train.steps=1"});
  const auto photos = skimage_photos(root);
  const auto input = root / "photos";
  std::filesystem::create_directories(input);
  data::write_png((input / "astronaut.png").string(), data::to_tensor(photos.at("astronaut")));
  data::write_png((input / "coffee.png").string(), data::to_tensor(photos.at("coffee")));
  std::ofstream(input / "broken.jpg") << "not a jpeg";
  const auto out = root / "stylized";
  const CommandResult c = run_loom(cat("stylize ", r.run.config().string(), " ckpt=", r.run.dir.string(),
                                       " input=", input.string(), " out=", out.string(), " batch=2"));
  INFO(c.output);
  REQUIRE(c.code == 0);
  CHECK(c.output.find("3/3 photos, 1 faces, 1 unreadable, 1 without a face") != std::string::npos);
  const cv::Mat face = data::read_image((out / "astronaut.png").string());
  CHECK(face.rows == 64);
  CHECK(std::filesystem::exists(out / "before_after.png"));
  const std::string skipped = read_text(out / "skipped.txt");
  CHECK(skipped.find("broken.jpg") != std::string::npos);
  CHECK(skipped.find("coffee.png: no face found") != std::string::npos);
  // Without alignment every readable photograph is one face; all faces at dlib's default threshold
  // include its weak detection on the suit.
  CHECK(run_loom(cat("stylize ", r.run.config().string(), " ckpt=", r.run.dir.string(), " input=", input.string(),
                     " out=", (root / "whole").string(), " align=none"))
            .output.find("2 face(s)") != std::string::npos);
  CHECK(run_loom(cat("stylize ", r.run.config().string(), " ckpt=", r.run.dir.string(),
                     " input=", (input / "astronaut.png").string(), " out=", (root / "all").string(), " faces=all"))
            .output.find("2 face(s)") != std::string::npos);
  // `loom eval` scores the run as its periodic evaluation does.
  const CommandResult scores = run_loom(cat("eval ", r.run.config().string(), " ckpt=", r.run.dir.string()));
  INFO(scores.output);
  CHECK(scores.code == 0);
  CHECK(scores.output.find("val/style_gram") != std::string::npos);
  // The trained run as ONNX: onnxruntime stylizes a crop as Loom does (tests/export/ covers the settings).
  const auto onnx_dir = root / "onnx";
  std::filesystem::create_directories(onnx_dir);
  const CommandResult exported = run_loom(cat("export ", r.run.config().string(), " ckpt=", r.run.dir.string(),
                                              " what=stylizer out=", (onnx_dir / "stylizer.onnx").string()));
  INFO(exported.output);
  REQUIRE(exported.code == 0);
  {
    torch::NoGradGuard no_grad;
    const cli::FewShotStylizer s = cli::load_fewshot_stylizer(load_config(r.run.config().string(), {}),
                                                              r.run.config().string(), r.run.dir.string());
    const at::Tensor crop = data::to_tensor(face).unsqueeze(0);
    write_onnx_inputs(onnx_dir, "stylizer", 0, {{"image", crop}});
    const at::Tensor ws = invert(*s.encoder.encoder, crop * 2 - 1, s.generator.w_avg());
    const at::Tensor expected =
        ((s.generator.student->synthesis->forward(ws, NoiseMode::constant, {}, false).image + 1) / 2).clamp(0, 1);
    run_onnx_models(onnx_dir);
    CHECK((onnx_output(onnx_dir, "stylizer", 0, "stylized") - expected).abs().max().item<double>() < 1e-4);
  }
  const CommandResult bad = run_loom(cat("stylize ", r.run.config().string(), " ckpt=", r.run.dir.string(),
                                         " input=", input.string(), " out=", out.string(), " align=square"));
  CHECK(bad.code == 2);
  CHECK(bad.output.find("align=") != std::string::npos);
}

TEST_CASE("encoder recipe: inverts a StyleGAN2 teacher too, and bad settings name the key",
          "[encoder][recipe][bad input]") {
  const auto root = scratch("stylizer_recipes");
  stop_signal::reset();
  TrainResult r = train(
      encoder_config(root, "teacher", {cat("recipe.generator=", teacher_file()), "model.num_ws=10", "train.steps=1"}),
      "encoder.yaml");
  CHECK(r.steps == 1);
  auto fails_with = [&](const std::vector<std::string>& overrides, const std::string& key) {
    INFO(key);
    stop_signal::reset();
    CHECK_THROWS_WITH(train(encoder_config(root, "bad", overrides), "encoder.yaml"), Catch::Contains(key));
  };
  fails_with({"model.num_ws=9"}, "model.num_ws");
  fails_with({"recipe.train_on=data"}, "data.train");
  fails_with({"recipe.train_on=data", "data.train={name: synthetic_faces, image_size: 64, aligned: true, size: 4}"},
             "recipe.w_l2");
  fails_with({"recipe.generator=/nonexistent/g.safetensors"}, "/nonexistent/g.safetensors");
}
