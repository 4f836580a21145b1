// dlib's HOG detector and 68-point predictor through FaceDetector on a real photograph that scikit-image
// ships (skimage.data.astronaut, 512 x 512). dlib's Python binding is not packaged for Debian 12, so the
// figures are values this wrapper printed once and that were checked against the picture (the face of
// the astronaut at x 175-266, y 76-167; eye and mouth corners, nose tip and chin drawn on the picture
// fall on them);
// they hold to 1 px, which is what a change in dlib's version or our image conversion would break.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "core/error.h"
#include "data/face/face_crop.h"
#include "data/face/face_detector.h"
#include "support/skimage_photos.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;

namespace {

void print(const DetectedFace& f) {
  std::printf("face box %.1f %.1f %.1f %.1f score %.3f", f.box.x, f.box.y, f.box.width, f.box.height, f.score);
  for (int k : {36, 39, 42, 45, 48, 54, 30, 8}) std::printf(" | %d: %.0f,%.0f", k, f.landmarks[k].x, f.landmarks[k].y);
  std::printf("\n");
}

}  // namespace

TEST_CASE("FaceDetector finds the astronaut's face and its 68 landmarks", "[data][face][python]") {
  const auto photos = test::skimage_photos(test::scratch("face_detector"));
  FaceDetector detector;
  const auto faces = detector.detect(photos.at("astronaut"));
  for (const auto& f : faces) print(f);
  // dlib at its default threshold also scores a patch of the suit (0.08); the face comes first.
  REQUIRE(faces.size() == 2);
  const DetectedFace& f = faces[0];
  REQUIRE(f.landmarks.size() == 68);
  CHECK(f.score > 0.5);
  CHECK(faces[1].score < 0.2);
  CHECK(f.box.x == Approx(175).margin(1));
  CHECK(f.box.y == Approx(76).margin(1));
  CHECK(f.box.width == Approx(91).margin(1));
  const std::vector<std::pair<int, cv::Point2d>> recorded = {{36, {195, 101}}, {39, {212, 104}}, {42, {237, 106}},
                                                             {45, {255, 105}}, {48, {201, 139}}, {54, {246, 141}},
                                                             {30, {225, 127}}, {8, {220, 178}}};
  for (const auto& [k, p] : recorded) {
    INFO("landmark " << k);
    CHECK(f.landmarks[k].x == Approx(p.x).margin(1));
    CHECK(f.landmarks[k].y == Approx(p.y).margin(1));
  }
  // A threshold drops the weak detection.
  CHECK(FaceDetector(default_landmark_model(), 1, 0.5).detect(photos.at("astronaut")).size() == 1);
}

TEST_CASE("FaceDetector finds no face in a photograph of coffee, and names a missing landmark model",
          "[data][face][python][bad input]") {
  const auto photos = test::skimage_photos(test::scratch("face_detector"));
  FaceDetector detector;
  CHECK(detector.detect(photos.at("coffee")).empty());
  CHECK_THROWS_AS(FaceDetector("/nonexistent/landmarks.dat"), UserError);
  CHECK_THROWS_WITH(FaceDetector("/nonexistent/landmarks.dat"), Catch::Contains("/nonexistent/landmarks.dat"));
  CHECK_THROWS_AS(FaceDetector(default_landmark_model(), -1), UserError);
}
