// The face crop rules against tests/python/face_crop_reference.py, which follows NVlabs ffhq-dataset's
// download_ffhq.py and MediaPipe's FaceToRectCalculator: quads on landmark sets of faces at random
// positions, scales and roll angles to 1e-9, and the affine warp against PIL's QUAD transform.
#include <catch2/catch.hpp>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/tensor.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/io/weights.h"
#include "core/text/cat.h"
#include "data/face/face_crop.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;

namespace {

// dlib's 68 points of a frontal face of unit eye distance, then rolled, scaled, moved and jittered.
std::vector<cv::Point2d> random_face(std::mt19937& rng) {
  std::vector<cv::Point2d> t;
  for (int i = 0; i < 17; ++i) t.emplace_back(-1.6 * std::cos(M_PI * i / 16), 0.2 + 1.8 * std::sin(M_PI * i / 16));
  for (int i = 0; i < 10; ++i) t.emplace_back((i < 5 ? -1.2 : 0.2) + 0.25 * (i % 5), -0.5);
  for (int i = 0; i < 9; ++i) t.emplace_back(i < 4 ? 0.0 : -0.3 + 0.15 * (i - 4), i < 4 ? -0.3 + 0.2 * i : 0.6);
  for (int e = 0; e < 2; ++e)  // eyes: 6 points on an ellipse, outer corner first (36 / 45 are outer)
    for (int i = 0; i < 6; ++i)
      t.emplace_back((e ? 0.5 : -0.5) + 0.25 * std::cos(M_PI * i / 3 + (e ? M_PI : 0)), 0.08 * std::sin(M_PI * i / 3));
  for (int i = 0; i < 12; ++i) t.emplace_back(-0.45 * std::cos(M_PI * i / 6), 1.2 + 0.2 * std::sin(M_PI * i / 6));
  for (int i = 0; i < 8; ++i) t.emplace_back(-0.3 * std::cos(M_PI * i / 4), 1.2 + 0.08 * std::sin(M_PI * i / 4));
  std::uniform_real_distribution<double> roll(-0.6, 0.6), scale(12, 25), jitter(-0.05, 0.05), centre(-20, 20);
  const double a = roll(rng), s = scale(rng), cx = 160 + centre(rng), cy = 110 + centre(rng);
  std::vector<cv::Point2d> out;
  for (const cv::Point2d& p : t) {
    const double x = p.x + jitter(rng), y = p.y + jitter(rng);
    out.emplace_back(cx + s * (std::cos(a) * x - std::sin(a) * y), cy + s * (std::sin(a) * x + std::cos(a) * y));
  }
  return out;
}

cv::Mat smooth_image(int h, int w) {  // ramps and slow waves: bilinear taps differ only by rounding
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.ptr<uint8_t>(y)[x * 3 + c] = cv::saturate_cast<uint8_t>(128 + 60 * std::sin(x / (9.0 + c)) +
                                                                    50 * std::cos(y / 13.0) + 0.2 * x - 0.1 * y);
  return img;
}

}  // namespace

TEST_CASE("ffhq_crop and mediapipe_crop are the ffhq-dataset and MediaPipe formulas, warp_face is PIL's QUAD cut",
          "[data][face][python]") {
  const auto dir = test::scratch("face_crop_parity");
  std::mt19937 rng(5);  // faces whose quads stay inside the image (PIL fills outside black, warp_face reflects)
  const int n = 40, size = 64;
  std::vector<std::vector<cv::Point2d>> faces;
  at::Tensor lms = at::empty({n, 68, 2}, at::kDouble);
  for (int i = 0; i < n; ++i) {
    faces.push_back(random_face(rng));
    for (int k = 0; k < 68; ++k) {
      lms[i][k][0] = faces.back()[k].x;
      lms[i][k][1] = faces.back()[k].y;
    }
  }
  cv::Mat image = smooth_image(240, 320);
  const std::string in = (dir / "in.safetensors").string(), out = (dir / "out.safetensors").string();
  weights::write(in, {{"landmarks", lms},
                      {"image", at::from_blob(image.data, {240, 320, 3}, at::kByte).clone()},
                      {"size", at::tensor(std::vector<int64_t>{size})}});
  REQUIRE(test::run_python("face_crop_reference.py", cat(in, " ", out)) == 0);
  weights::NamedTensors ref_list = weights::read(out);
  std::map<std::string, at::Tensor> ref(ref_list.begin(), ref_list.end());

  double worst = 0, mean_sum = 0;
  int max_diff = 0;
  for (int i = 0; i < n; ++i) {
    const FaceQuad quads[3] = {ffhq_crop(faces[i]), ffhq_crop(faces[i], false), mediapipe_crop(faces[i])};
    const char* names[3] = {"ffhq", "ffhq_norot", "mediapipe"};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) {
        worst = std::max(worst, std::abs(quads[r].corners[c].x - ref[names[r]][i][c][0].item<double>()));
        worst = std::max(worst, std::abs(quads[r].corners[c].y - ref[names[r]][i][c][1].item<double>()));
      }
    cv::Mat ours = warp_face(image, quads[0], size);
    at::Tensor theirs = ref["warp"][i].contiguous();
    cv::Mat pil(size, size, CV_8UC3, theirs.data_ptr<uint8_t>());
    cv::Mat d;
    cv::absdiff(ours.reshape(1), pil.reshape(1), d);
    mean_sum += cv::mean(d)[0];
    max_diff = std::max(max_diff, static_cast<int>(cv::norm(d, cv::NORM_INF)));
  }
  std::printf("face crops: largest corner difference %.3g px; warp vs PIL mean %.3f, max %d levels\n", worst,
              mean_sum / n, max_diff);
  CHECK(worst < 1e-9);
  // Every pixel within one level: OpenCV's bilinear weights are 5-bit fixed point and PIL's exact, so half
  // the pixels round apart; a half-pixel shift of the cut would cost several levels on these slopes.
  CHECK(max_diff <= 1);
  CHECK(mean_sum / n < 0.75);
}

TEST_CASE("landmarks_in_crop inverts the cut: the quad's corners land on the crop's pixel edges", "[data][face]") {
  std::mt19937 rng(9);
  const auto face = random_face(rng);
  const FaceQuad quad = ffhq_crop(face);
  const auto moved = landmarks_in_crop({quad.corners.begin(), quad.corners.end()}, quad, 256);
  const cv::Point2d expected[4] = {{-0.5, -0.5}, {-0.5, 255.5}, {255.5, 255.5}, {255.5, -0.5}};
  for (int c = 0; c < 4; ++c) CHECK(cv::norm(moved[c] - expected[c]) < 1e-9);
  const FaceQuad mp = mediapipe_crop(face);
  const auto eyes = landmarks_in_crop(face, mp, 256);  // the eyes come out level
  CHECK(std::abs((eyes[36].y + eyes[39].y) - (eyes[42].y + eyes[45].y)) < 1e-9);
}

TEST_CASE("face crops refuse landmark sets that are not dlib's 68 points or have coincident eyes",
          "[data][face][bad input]") {
  std::vector<cv::Point2d> five(5, {1, 1});
  CHECK_THROWS_WITH(ffhq_crop(five), Catch::Contains("68 landmarks, got 5"));
  std::vector<cv::Point2d> flat(68, {3, 3});
  CHECK_THROWS_AS(mediapipe_crop(flat), std::invalid_argument);
  CHECK_THROWS_AS(ffhq_crop(flat), std::invalid_argument);
}
