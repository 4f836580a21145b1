#include "data/synthetic/face_world.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/text/cat.h"
#include "data/face/face_crop.h"
#include "data/random.h"
#include "data/synthetic/face_geometry.h"
#include "data/synthetic/face_paint.h"
#include "data/synthetic/face_render.h"

namespace loom::data {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSupersample = 2;  // canvas pixels per image pixel along each axis

// Where and how the face sits in the image: the eye midpoint's pixel, the eye distance in pixels,
// in-plane rotation and yaw (radians).
struct FacePose {
  cv::Point2d eyes;
  double eye_distance = 0, roll = 0, yaw = 0;
};

// A soft, studio-like backdrop: a coarse random colour field blown up smoothly, under a gradient.
cv::Mat3f backdrop(int size, std::mt19937_64& rng) {
  const double base = uniform(rng, 60, 200);
  cv::Mat3f coarse(5, 5);
  const cv::Vec3f tint(static_cast<float>(uniform(rng, -30, 30)), static_cast<float>(uniform(rng, -30, 30)),
                       static_cast<float>(uniform(rng, -30, 30)));
  for (auto& px : coarse) {
    const double v = base + uniform(rng, -35, 35);
    px = (cv::Vec3f(static_cast<float>(v), static_cast<float>(v), static_cast<float>(v)) + tint) / 255.0f;
  }
  cv::Mat3f out;
  cv::resize(coarse, out, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
  const double angle = uniform(rng, 0, 2 * kPi), strength = uniform(rng, 0, 0.3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double t = ((x - size / 2.0) * std::cos(angle) + (y - size / 2.0) * std::sin(angle)) / size;
      out(y, x) *= static_cast<float>(1 + strength * t);
    }
  return out;
}

// The face drawn upright on a supersampled canvas, turned and scaled into a size x size image over a
// backdrop; its landmarks mapped by the same affine map as the pixels.
SyntheticFace draw_face(const FaceShape& shape, const FaceLook& look, const FacePose& pose, int size,
                        std::mt19937_64& rng) {
  // The canvas is centred on the eye midpoint and must reach every image corner.
  double reach = 0;
  for (double x : {0, size - 1})
    for (double y : {0, size - 1}) reach = std::max(reach, std::hypot(x - pose.eyes.x, y - pose.eyes.y));
  const int side = 2 * static_cast<int>(std::ceil((reach + 2) * kSupersample));
  const cv::Point2d centre(side / 2.0, side / 2.0);
  FaceCanvas canvas(side, FaceView{pose.yaw, centre, pose.eye_distance * kSupersample});
  draw_portrait(canvas, shape, look, rng);
  // Low-pass before the 2:1 bilinear resampling, so that edges stay anti-aliased.
  cv::GaussianBlur(canvas.colour, canvas.colour, cv::Size(), 0.5 * kSupersample);
  cv::GaussianBlur(canvas.alpha, canvas.alpha, cv::Size(), 0.5 * kSupersample);
  const double c = std::cos(pose.roll) / kSupersample, s = std::sin(pose.roll) / kSupersample;
  const cv::Matx23d to_image(c, -s, pose.eyes.x - (c * centre.x - s * centre.y), s, c,
                             pose.eyes.y - (s * centre.x + c * centre.y));
  cv::Mat3f colour;
  cv::Mat1f alpha;
  cv::warpAffine(canvas.colour, colour, cv::Mat(to_image), cv::Size(size, size), cv::INTER_LINEAR);
  cv::warpAffine(canvas.alpha, alpha, cv::Mat(to_image), cv::Size(size, size), cv::INTER_LINEAR);

  cv::Mat3f background = backdrop(size, rng);
  cv::Mat1f occlusion;  // the figure's soft shadow on the backdrop
  cv::GaussianBlur(alpha, occlusion, cv::Size(), 0.25 * pose.eye_distance);
  SyntheticFace face;
  face.image.create(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const float a = alpha(y, x), grain = static_cast<float>(uniform(rng, -0.018, 0.018));
      const cv::Vec3f px = background(y, x) * (1 - a) * (1 - 0.3f * occlusion(y, x)) + colour(y, x);
      for (int k = 0; k < 3; ++k) face.image.at<cv::Vec3b>(y, x)[k] = cv::saturate_cast<uchar>(255 * (px[k] + grain));
    }
  for (const FacePoint& p : face_landmarks(shape)) {
    const cv::Point2d q = canvas.view(p);
    face.landmarks.emplace_back(to_image(0, 0) * q.x + to_image(0, 1) * q.y + to_image(0, 2),
                                to_image(1, 0) * q.x + to_image(1, 1) * q.y + to_image(1, 2));
  }
  return face;
}

}  // namespace

FaceWorld::FaceWorld(FaceWorldOptions options, const std::string& path) : options_(std::move(options)) {
  const std::vector<std::string> splits{"train", "val", "test"};
  const auto it = std::find(splits.begin(), splits.end(), options_.split);
  if (it == splits.end()) throw UserError(cat(path, ".split: '", options_.split, "' is not one of train, val, test"));
  split_id_ = static_cast<uint64_t>(it - splits.begin());
  if (options_.image_size < 64 || options_.image_size > 256)
    throw UserError(cat(path, ".image_size: ", options_.image_size, " is outside 64..256"));
  const auto& sc = options_.scale;
  if (sc.size() != 2 || sc[0] > sc[1] || sc[0] <= 0 || sc[1] > 0.3)
    throw UserError(cat(path, ".scale: needs [min, max] with 0 < min <= max <= 0.3"));
}

uint64_t FaceWorld::face_seed(int64_t index) const {
  return mix_seed({static_cast<uint64_t>(options_.seed), split_id_, static_cast<uint64_t>(index), 0x66616365});
}

SyntheticFace FaceWorld::render(int64_t index) const {
  std::mt19937_64 rng(face_seed(index));
  const FaceShape shape = random_face_shape(rng);
  const FaceLook look = random_face_look(rng, options_.glasses);
  const int size = static_cast<int>(options_.image_size);
  FacePose pose;
  pose.roll = uniform(rng, -options_.max_roll, options_.max_roll) * kPi / 180;
  pose.yaw = uniform(rng, -options_.max_yaw, options_.max_yaw) * kPi / 180;
  if (!options_.aligned) {
    pose.eye_distance = size * uniform(rng, options_.scale[0], options_.scale[1]);
    // The eyes sit a little above the centre, so that the head from crown to chin is centred.
    const double dx = size * uniform(rng, -options_.max_shift, options_.max_shift),
                 dy = size * uniform(rng, -options_.max_shift, options_.max_shift) - 0.25 * pose.eye_distance;
    pose.eyes = {(size - 1) / 2.0 + dx, (size - 1) / 2.0 + dy};
    return draw_face(shape, look, pose, size, rng);
  }
  // Aligned: drawn larger than the crop (which is about 4 eye distances wide) with room for its
  // rotation, then cut from its own landmarks as FFHQ cuts photographs.
  const int source = static_cast<int>(std::lround(1.6 * size));
  pose.eye_distance = size / 4.1;
  const double down = 0.11 * pose.eye_distance;  // the crop centre lies this far below the eyes
  pose.eyes = {(source - 1) / 2.0 + down * std::sin(pose.roll), (source - 1) / 2.0 - down * std::cos(pose.roll)};
  SyntheticFace face = draw_face(shape, look, pose, source, rng);
  const FaceQuad quad = ffhq_crop(face.landmarks);
  face.image = warp_face(face.image, quad, size);
  face.landmarks = landmarks_in_crop(face.landmarks, quad, size);
  return face;
}

}  // namespace loom::data
