#include "app/stylize.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <ATen/ops/cat.h>
#include <ATen/ops/stack.h>
#include <c10/core/GradMode.h>

#include "app/fewshot_stylizer.h"
#include "app/named_arguments.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/face/face_aligner.h"
#include "data/image_grid.h"
#include "data/image_io.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "train/run_config.h"

namespace loom::cli {
namespace {

struct StylizeArguments {
  std::string checkpoint, input, out, align = "ffhq", faces = "largest", device = "auto";
  int64_t batch = 8, grid = 16;
  double min_score = 0;
};

StylizeArguments parse_arguments(const std::vector<std::string>& arguments, std::vector<std::string>& overrides) {
  StylizeArguments a;
  std::string batch = cat(a.batch), grid = cat(a.grid), min_score = cat(a.min_score);  // the defaults
  split_arguments(arguments,
                  {{"ckpt", &a.checkpoint},
                   {"input", &a.input},
                   {"out", &a.out},
                   {"align", &a.align},
                   {"faces", &a.faces},
                   {"device", &a.device},
                   {"batch", &batch},
                   {"grid", &grid},
                   {"min_score", &min_score}},
                  overrides);
  a.batch = integer_argument("loom stylize", "batch", batch);
  a.grid = integer_argument("loom stylize", "grid", grid);
  a.min_score = decimal_argument("loom stylize", "min_score", min_score);
  for (const auto& [key, value] :
       std::map<std::string, std::string>{{"ckpt", a.checkpoint}, {"input", a.input}, {"out", a.out}})
    if (value.empty()) throw UserError(cat("loom stylize: give ", key, "= (ckpt=RUN input=PHOTO|FOLDER out=DIR)"));
  if (a.batch < 1) throw UserError("loom stylize: batch= must be at least 1");
  return a;
}

// The photographs: the file itself, or a folder's image files in name order.
std::vector<std::filesystem::path> input_photos(const std::string& input) {
  const std::filesystem::path path(input);
  if (!std::filesystem::exists(path)) throw UserError(cat("loom stylize: input=", input, " does not exist"));
  if (!std::filesystem::is_directory(path)) return {path};
  std::vector<std::filesystem::path> photos;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() &&
        (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp"))
      photos.push_back(entry.path());
  }
  std::sort(photos.begin(), photos.end());
  if (photos.empty())
    throw UserError(cat("loom stylize: input=", input, " holds no .jpg, .jpeg, .png, .bmp or .webp file"));
  return photos;
}

struct Crop {
  std::string name;  // output file name
  at::Tensor image;  // [3, R, R] in [0, 1]
};

}  // namespace

int stylize(const std::string& config_path, const std::vector<std::string>& arguments) {
  std::vector<std::string> overrides;
  const StylizeArguments a = parse_arguments(arguments, overrides);
  const ConfigNode config = load_config(config_path, overrides);
  FewShotStylizer s = load_fewshot_stylizer(config, config_path, a.checkpoint);
  BlazeStyleGan& student = *s.generator.student;
  PretrainedEncoder& e = s.encoder;
  const int64_t side = student.options().resolution;
  const c10::Device device = pick_device(a.device);
  student.to(device);
  e.encoder->to(device);
  c10::NoGradGuard no_grad;

  data::FaceAlignerOptions align;
  align.rule = data::parse_crop_rule(a.align, "loom stylize align=");
  align.policy = data::parse_face_policy(a.faces, "loom stylize faces=");
  align.size = static_cast<int>(side);
  align.min_score = a.min_score;
  const data::FaceAligner aligner(align);

  const auto photos = input_photos(a.input);
  const std::filesystem::path out(a.out);
  std::filesystem::create_directories(out);
  std::cout << "stylize: " << photos.size() << " photo(s), generator " << s.tuned_tensors << " tensors from "
            << s.tuned_source << ", encoder " << e.source << ", align=" << a.align << "\n";
  std::vector<std::string> unreadable, faceless;
  std::vector<at::Tensor> before, after;
  int64_t faces = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t first = 0; first < photos.size(); first += static_cast<size_t>(a.batch)) {
    std::vector<Crop> crops;
    for (size_t i = first; i < std::min(photos.size(), first + static_cast<size_t>(a.batch)); ++i) {
      const std::filesystem::path& photo = photos[i];
      cv::Mat pixels;
      try {
        pixels = data::read_image(photo.string());
      } catch (const data::BadSample& err) {
        unreadable.push_back(cat(photo.string(), ": ", err.what()));
        continue;
      }
      const auto found = aligner.align(pixels);
      if (found.empty()) faceless.push_back(cat(photo.string(), ": no face found"));
      for (size_t k = 0; k < found.size(); ++k)
        crops.push_back(
            {cat(photo.stem().string(), k ? cat("_face", k) : std::string(), ".png"), data::to_tensor(found[k].image)});
    }
    if (!crops.empty()) {
      std::vector<at::Tensor> images;
      for (const Crop& c : crops) images.push_back(c.image);
      const at::Tensor x = at::stack(images).to(device) * 2 - 1;
      const at::Tensor ws = invert(*e.encoder, x, student.mapping->w_avg);
      const at::Tensor y =
          ((student.synthesis->forward(ws, NoiseMode::constant, {}, false).image + 1) / 2).clamp(0, 1).cpu();
      for (size_t k = 0; k < crops.size(); ++k) {
        data::write_png((out / crops[k].name).string(), y[static_cast<int64_t>(k)]);
        if (static_cast<int64_t>(before.size()) < a.grid) {
          before.push_back(crops[k].image);
          after.push_back(y[static_cast<int64_t>(k)]);
        }
      }
      faces += static_cast<int64_t>(crops.size());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "stylize: " << std::min(photos.size(), first + static_cast<size_t>(a.batch)) << "/" << photos.size()
              << " photos, " << faces << " faces, " << unreadable.size() << " unreadable, " << faceless.size()
              << " without a face (" << seconds << " s)" << std::endl;
  }
  if (!before.empty()) {
    const at::Tensor pairs = at::stack({at::stack(before), at::stack(after)}, 1).flatten(0, 1);
    data::write_png((out / "before_after.png").string(), data::image_grid(pairs, 2, 0.0, 1.0));
  }
  std::vector<std::string> skipped = unreadable;
  skipped.insert(skipped.end(), faceless.begin(), faceless.end());
  if (!skipped.empty()) {
    std::string listing;
    for (const auto& line : skipped) listing += line + "\n";
    write_file_atomically((out / "skipped.txt").string(), listing);
    for (const auto& line : skipped) std::cout << "skipped " << line << "\n";
  }
  std::cout << "stylize: wrote " << faces << " face(s) to " << out.string() << "; skipped " << unreadable.size()
            << " unreadable and " << faceless.size() << " without a face" << (skipped.empty() ? "" : " (skipped.txt)")
            << "\n";
  if (faces == 0) throw UserError(cat("loom stylize: no face stylized from ", a.input));
  return 0;
}

}  // namespace loom::cli
