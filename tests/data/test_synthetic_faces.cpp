// The synthetic face world, its styles and the synthetic_faces dataset: faces are pure functions of
// (seed, split, index), their landmarks are where the drawing puts the features and in dlib's order,
// aligned faces sit where the FFHQ rule puts them, and dlib's own detector and 68-point predictor find
// them and land near the exact landmarks.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/registry/registries.h"
#include "data/face/face_crop.h"
#include "data/face/face_detector.h"
#include "data/synthetic/face_styles.h"
#include "data/synthetic/face_world.h"
#include "data/synthetic/faces.h"

using namespace loom;
using namespace loom::data;

namespace {

FaceWorld world(int64_t size = 256, bool aligned = false, int64_t seed = 0, const std::string& split = "train") {
  FaceWorldOptions o;
  o.image_size = size;
  o.aligned = aligned;
  o.seed = seed;
  o.split = split;
  return FaceWorld(o);
}

bool same(const SyntheticFace& a, const SyntheticFace& b) {
  return cv::norm(a.image, b.image, cv::NORM_INF) == 0 && a.landmarks == b.landmarks;
}

double luma(const cv::Mat& rgb, cv::Point2d p) {
  const cv::Vec3b px = rgb.at<cv::Vec3b>(static_cast<int>(std::lround(p.y)), static_cast<int>(std::lround(p.x)));
  return 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
}

std::shared_ptr<Dataset> make(const std::string& yaml) {
  register_all();
  ConfigNode node = parse_yaml(yaml, "data.yaml");
  return dataset_registry().get(registered_name(dataset_registry(), node, "dataset"))(node, "dataset");
}

// dlib on `count` faces of a world: the detection rate and the mean distance (px) between dlib's 68
// points and the exact ones, over the faces found.
std::pair<double, double> dlib_figures(const FaceWorld& w, int count) {
  const FaceDetector detector;
  int found = 0;
  double error = 0;
  for (int i = 0; i < count; ++i) {
    const SyntheticFace face = w.render(i);
    const auto faces = detector.detect(face.image);
    if (faces.empty()) continue;
    ++found;
    double sum = 0;
    for (size_t k = 0; k < 68; ++k) sum += cv::norm(faces[0].landmarks[k] - face.landmarks[k]);
    error += sum / 68;
  }
  return {static_cast<double>(found) / count, found ? error / found : 1e9};
}

}  // namespace

TEST_CASE("synthetic faces: a face is a pure function of (seed, split, index), on any thread", "[faces]") {
  const FaceWorld w = world(128);
  const SyntheticFace a = w.render(3);
  CHECK(same(world(128).render(3), a));
  CHECK_FALSE(same(w.render(4), a));
  CHECK_FALSE(same(world(128, false, 1).render(3), a));
  CHECK_FALSE(same(world(128, false, 0, "val").render(3), a));
  SyntheticFace threaded;
  std::thread([&] { threaded = w.render(3); }).join();
  CHECK(same(threaded, a));
  CHECK(a.image.type() == CV_8UC3);
  CHECK(a.image.rows == 128);
  CHECK(a.image.cols == 128);
  CHECK(a.landmarks.size() == 68);
}

TEST_CASE("synthetic faces: landmarks lie in the image, in dlib's order, on the drawn features", "[faces]") {
  for (int64_t size : {64, 256}) {
    const FaceWorld w = world(size);
    for (int i = 0; i < 12; ++i) {
      INFO("size " << size << " face " << i);
      const SyntheticFace f = w.render(i);
      const auto& p = f.landmarks;
      for (const auto& q : p) {
        CHECK(q.x >= 0);
        CHECK(q.y >= 0);
        CHECK(q.x <= size - 1);
        CHECK(q.y <= size - 1);
      }
      // Left to right: jaw ends, eye corners (36 is the image-left eye's outer corner), mouth corners.
      CHECK(p[0].x < p[36].x);
      CHECK(p[36].x < p[39].x);
      CHECK(p[39].x < p[42].x);
      CHECK(p[42].x < p[45].x);
      CHECK(p[45].x < p[16].x);
      CHECK(p[48].x < p[54].x);
      // Top to bottom: brows, eyes, nose tip, nostrils, mouth, chin.
      CHECK(p[19].y < p[37].y);
      CHECK(p[37].y < p[41].y);
      CHECK(p[27].y < p[30].y);
      CHECK(p[30].y < p[33].y);
      CHECK(p[33].y < p[51].y);
      CHECK(p[51].y < p[62].y);
      CHECK(p[66].y < p[57].y);
      CHECK(p[57].y < p[8].y);
      if (size < 256) continue;
      // The pupil at each eye's centre is darker than the white of the eye beside the iris (the iris
      // may look a little aside, so the brighter side is the white).
      for (int b : {36, 42}) {
        cv::Point2d centre(0, 0);
        for (int k = 0; k < 6; ++k) centre += p[static_cast<size_t>(b + k)] / 6.0;
        double pupil = 255;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) pupil = std::min(pupil, luma(f.image, centre + cv::Point2d(dx, dy)));
        const double white = std::max(luma(f.image, centre * 0.3 + p[static_cast<size_t>(b)] * 0.7),
                                      luma(f.image, centre * 0.3 + p[static_cast<size_t>(b + 3)] * 0.7));
        CHECK(pupil < 0.6 * white);
      }
    }
  }
}

TEST_CASE("synthetic faces: aligned faces are cut as the FFHQ rule cuts their own landmarks", "[faces]") {
  for (int64_t size : {64, 256}) {
    const FaceWorld w = world(size, true);
    for (int i = 0; i < 6; ++i) {
      INFO("size " << size << " face " << i);
      const SyntheticFace f = w.render(i);
      CHECK(f.image.rows == size);
      CHECK(f.image.cols == size);
      // The rule applied to the aligned landmarks gives the whole image: the crop is upright and centred.
      const FaceQuad quad = ffhq_crop(f.landmarks);
      const double lo = -0.5, hi = size - 0.5;
      const std::array<cv::Point2d, 4> corners{cv::Point2d(lo, lo), {lo, hi}, {hi, hi}, {hi, lo}};
      for (size_t k = 0; k < 4; ++k) {
        CHECK(quad.corners[k].x == Approx(corners[k].x).margin(1e-6));
        CHECK(quad.corners[k].y == Approx(corners[k].y).margin(1e-6));
      }
      // So the eyes lie on the centre line, a tenth of the eye-to-mouth distance above the centre.
      cv::Point2d left(0, 0), right(0, 0);
      for (size_t k = 0; k < 6; ++k) {
        left += f.landmarks[36 + k] / 6.0;
        right += f.landmarks[42 + k] / 6.0;
      }
      const cv::Point2d eyes = (left + right) / 2, mouth = (f.landmarks[48] + f.landmarks[54]) / 2;
      const cv::Point2d centre = eyes + (mouth - eyes) * 0.1;
      CHECK(centre.x == Approx((size - 1) / 2.0).margin(1e-6));
      CHECK(centre.y == Approx((size - 1) / 2.0).margin(1e-6));
      CHECK(std::abs(eyes.x - (size - 1) / 2.0) < 0.03 * size);
    }
  }
}

TEST_CASE("face styles: each differs from the face, is fixed by its seed, and unknown ones are named", "[faces]") {
  const cv::Mat face = world(128).render(0).image;
  for (const std::string& style : face_style_names()) {
    INFO(style);
    const cv::Mat out = stylise_face(face, style, 7);
    REQUIRE(out.type() == CV_8UC3);
    REQUIRE(out.size() == face.size());
    const double change = cv::norm(out, face, cv::NORM_L1) / static_cast<double>(face.total() * 3);
    std::printf("style %s: mean change %.1f / 255\n", style.c_str(), change);
    CHECK(change > 8);
    CHECK(cv::norm(stylise_face(face, style, 7), out, cv::NORM_INF) == 0);
    CHECK(cv::norm(stylise_face(face, style, 8), out, cv::NORM_INF) > 0);
  }
  CHECK_THROWS_AS(stylise_face(face, "watercolour", 0), std::invalid_argument);
  CHECK_THROWS_WITH(stylise_face(face, "watercolour", 0),
                    Catch::Contains("watercolour") && Catch::Contains("pencil_sketch") &&
                        Catch::Contains("posterised_paint") && Catch::Contains("colour_ink"));
  CHECK_THROWS_AS(stylise_face(cv::Mat(8, 8, CV_8UC1), "pencil_sketch", 0), std::invalid_argument);
}

TEST_CASE("synthetic_faces dataset: images, landmarks, styled pairs, and errors that name the key", "[faces]") {
  std::mt19937_64 rng(0);
  const auto plain = make("name: synthetic_faces\nsize: 5\nimage_size: 96\n");
  CHECK(plain->size() == 5);
  const Sample s = plain->get(2, rng);
  REQUIRE(s.tensors.at("image").sizes() == at::IntArrayRef({3, 96, 96}));
  CHECK(s.tensors.at("image").min().item<float>() >= 0);
  CHECK(s.tensors.at("image").max().item<float>() <= 1);
  REQUIRE(s.tensors.at("landmarks").sizes() == at::IntArrayRef({68, 2}));
  const SyntheticFace face = world(96).render(2);
  CHECK(s.tensors.at("landmarks")[36][0].item<float>() == Approx(face.landmarks[36].x));
  CHECK(s.tensors.at("landmarks")[8][1].item<float>() == Approx(face.landmarks[8].y));
  CHECK_FALSE(s.tensors.count("photo"));

  const auto styled = make("name: synthetic_faces\nsize: 5\nimage_size: 96\nstyle: colour_ink\naligned: true\n");
  const Sample t = styled->get(2, rng);
  REQUIRE(t.tensors.count("photo"));
  CHECK(t.tensors.at("photo").sizes() == at::IntArrayRef({3, 96, 96}));
  CHECK((t.tensors.at("image") - t.tensors.at("photo")).abs().mean().item<float>() > 0.02);
  CHECK(styled->get(2, rng).tensors.at("image").equal(t.tensors.at("image")));

  CHECK_THROWS_WITH(make("name: synthetic_faces\nstyle: cubist\n"),
                    Catch::Contains("dataset.style") && Catch::Contains("pencil_sketch"));
  CHECK_THROWS_WITH(make("name: synthetic_faces\nimage_size: 512\n"), Catch::Contains("dataset.image_size"));
  CHECK_THROWS_WITH(make("name: synthetic_faces\nsplit: dev\n"), Catch::Contains("dataset.split"));
  CHECK_THROWS_WITH(make("name: synthetic_faces\nscale: [0.25, 0.2]\n"), Catch::Contains("dataset.scale"));
  CHECK_THROWS_WITH(make("name: synthetic_faces\nmax_yaw: 60\n"), Catch::Contains("dataset.max_yaw"));
  CHECK_THROWS_WITH(make("name: synthetic_faces\nsize: 0\n"), Catch::Contains("dataset.size"));
}

TEST_CASE("synthetic faces: dlib's HOG detector finds them and its 68 points land near the exact ones",
          "[faces][dlib]") {
  // Measured on these faces (seed 0, train, default pose: roll and yaw within 12 degrees): every face
  // found at all three settings; mean landmark errors 2.2 px at 256 (eye distance 49-61 px), 1.6 px
  // at 128 and 2.5 px aligned at 256. The bounds leave room for a change of dlib's version.
  struct Setting {
    int64_t size;
    bool aligned;
    double max_error;
  };
  for (const Setting& s : {Setting{256, false, 3.0}, Setting{128, false, 2.2}, Setting{256, true, 3.5}}) {
    const auto [rate, error] = dlib_figures(world(s.size, s.aligned), 40);
    std::printf("dlib on synthetic faces, %lld px%s: detection rate %.3f, mean landmark error %.2f px\n",
                static_cast<long long>(s.size), s.aligned ? " aligned" : "", rate, error);
    INFO("size " << s.size << (s.aligned ? " aligned" : ""));
    CHECK(rate >= 0.8);
    CHECK(error < s.max_error);
  }
}
