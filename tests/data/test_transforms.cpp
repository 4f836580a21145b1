#include <catch2/catch.hpp>

#include <opencv2/core.hpp>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "data/image_io.h"
#include "data/transforms.h"

using namespace loom;
using namespace loom::data;

namespace {

// An h x w RGB image whose pixel (y, x) is (y, x, 7): where a pixel came from can be read off it.
cv::Mat coordinates(int h, int w) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(y), static_cast<uchar>(x), 7);
  return img;
}

Transforms parse(const std::string& yaml) {
  return Transforms::from_config(parse_yaml(yaml, "t.yaml"), "dataset.transforms");
}

cv::Mat geometry(const std::string& yaml, const cv::Mat& img, uint64_t seed = 0) {
  std::mt19937_64 rng(seed);
  return parse(yaml).apply_geometry(img, rng);
}

}  // namespace

TEST_CASE("resize: shorter side as torchvision, exact sizes") {
  CHECK(geometry("- {name: resize, size: 20}", coordinates(40, 100)).size() == cv::Size(50, 20));
  CHECK(geometry("- {name: resize, size: 20}", coordinates(100, 30)).size() ==
        cv::Size(20, 66));  // 20*100/30 truncated
  CHECK(geometry("- {name: resize, size: 20, interpolation: area}", coordinates(20, 20)).size() == cv::Size(20, 20));
  CHECK(geometry("- {name: resize, size: [10, 30], mode: exact}", coordinates(40, 40)).size() == cv::Size(30, 10));
  CHECK(geometry("- {name: resize, size: 12, mode: exact, interpolation: nearest}", coordinates(40, 40)).size() ==
        cv::Size(12, 12));
}

TEST_CASE("center_crop: offsets rounded as torchvision, zero padding when too small") {
  cv::Mat out = geometry("- {name: center_crop, size: 4}", coordinates(6, 8));
  REQUIRE(out.size() == cv::Size(4, 4));
  CHECK(out.at<cv::Vec3b>(0, 0) == cv::Vec3b(1, 2, 7));  // top = round(1.0), left = round(2.0)
  out = geometry("- {name: center_crop, size: 4}", coordinates(7, 9));
  CHECK(out.at<cv::Vec3b>(0, 0) == cv::Vec3b(2, 2, 7));  // round(1.5) = 2, round(2.5) = 2 (half to even)
  out = geometry("- {name: center_crop, size: [4, 2]}", coordinates(2, 2));
  REQUIRE(out.size() == cv::Size(2, 4));
  CHECK(out.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 0));  // padding row
  CHECK(out.at<cv::Vec3b>(1, 0) == cv::Vec3b(0, 0, 7));  // first image row
}

TEST_CASE("random_crop: a window of the zero-padded image") {
  std::set<std::pair<int, int>> offsets;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    cv::Mat out = geometry("- {name: random_crop, size: 4, padding: 2}", coordinates(6, 6), seed);
    REQUIRE(out.size() == cv::Size(4, 4));
    // The padded image is 10x10; find the window's offset from any image pixel it holds.
    int oy = -1, ox = -1;
    for (int y = 0; y < 4 && oy < 0; ++y)
      for (int x = 0; x < 4 && oy < 0; ++x)
        if (out.at<cv::Vec3b>(y, x)[2] == 7) {
          oy = out.at<cv::Vec3b>(y, x)[0] + 2 - y;
          ox = out.at<cv::Vec3b>(y, x)[1] + 2 - x;
        }
    REQUIRE(oy >= 0);
    CHECK(oy <= 6);
    CHECK(ox <= 6);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        int sy = oy + y - 2, sx = ox + x - 2;
        bool inside = sy >= 0 && sy < 6 && sx >= 0 && sx < 6;
        CHECK(out.at<cv::Vec3b>(y, x) == (inside ? cv::Vec3b(sy, sx, 7) : cv::Vec3b(0, 0, 0)));
      }
    offsets.emplace(oy, ox);
  }
  CHECK(offsets.size() > 30);  // of the 49 possible
}

TEST_CASE("random_resized_crop: the crop box") {
  std::mt19937_64 rng(1);
  CropBox full = random_resized_crop_box(10, 10, {1, 1}, {1, 1}, rng);
  CHECK((full.top == 0 && full.left == 0 && full.height == 10 && full.width == 10));
  // A square of the whole area cannot fit a 10x20 image: the fallback is the central 10x10 crop.
  CropBox fallback = random_resized_crop_box(10, 20, {1, 1}, {1, 1}, rng);
  CHECK((fallback.top == 0 && fallback.left == 5 && fallback.height == 10 && fallback.width == 10));
  for (int i = 0; i < 500; ++i) {
    CropBox b = random_resized_crop_box(100, 150, {0.08, 1.0}, {3.0 / 4, 4.0 / 3}, rng);
    CHECK((b.top >= 0 && b.left >= 0 && b.top + b.height <= 100 && b.left + b.width <= 150));
    double area = double(b.height) * b.width / (100 * 150);
    CHECK((area > 0.07 && area < 1.01));
  }
  CHECK(geometry("- {name: random_resized_crop, size: [24, 32]}", coordinates(50, 60)).size() == cv::Size(32, 24));
}

TEST_CASE("hflip mirrors with probability p") {
  cv::Mat img = coordinates(3, 5);
  cv::Mat flipped = geometry("- {name: hflip, p: 1}", img);
  CHECK(flipped.at<cv::Vec3b>(1, 0) == cv::Vec3b(1, 4, 7));
  CHECK(cv::norm(geometry("- {name: hflip, p: 0}", img), img, cv::NORM_INF) == 0);
  int flips = 0;
  for (uint64_t seed = 0; seed < 400; ++seed)
    flips += geometry("- {name: hflip}", img, seed).at<cv::Vec3b>(0, 0)[1] == 4;
  CHECK((flips > 150 && flips < 250));
}

TEST_CASE("conversion to float CHW and normalize") {
  cv::Mat img(1, 2, CV_8UC3);
  img.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 51);
  img.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 255, 102);
  std::mt19937_64 rng(0);
  at::Tensor plain = Transforms()(img, rng);
  REQUIRE(plain.sizes() == at::IntArrayRef{3, 1, 2});
  CHECK(plain[0][0][0].item<float>() == Approx(1.0));
  CHECK(plain[2][0][1].item<float>() == Approx(0.4));
  at::Tensor norm = parse("- {name: normalize, mean: [0.5, 0.5, 0.2], std: [0.5, 0.25, 0.1]}")(img, rng);
  CHECK(norm[0][0][0].item<float>() == Approx(1.0));   // (1 - 0.5) / 0.5
  CHECK(norm[1][0][0].item<float>() == Approx(-2.0));  // (0 - 0.5) / 0.25
  CHECK(norm[2][0][1].item<float>() == Approx(2.0));   // (0.4 - 0.2) / 0.1
}

TEST_CASE("transform pipelines are deterministic given the generator") {
  auto t = parse("- {name: random_resized_crop, size: 16}\n- {name: hflip}\n- {name: normalize}\n");
  cv::Mat img = coordinates(40, 50);
  std::mt19937_64 a(9), b(9), c(10);
  at::Tensor x = t(img, a);
  CHECK(at::equal(x, t(img, b)));
  CHECK_FALSE(at::equal(x, t(img, c)));
}

TEST_CASE("transform config errors name the key path") {
  CHECK_THROWS_WITH(parse("- {name: resize, size: 8}\n- {name: hflip}\n- {name: rezise, size: 3}\n"),
                    Catch::Contains("t.yaml:3") && Catch::Contains("dataset.transforms[2].name") &&
                        Catch::Contains("did you mean 'resize'") && Catch::Contains("random_resized_crop"));
  CHECK_THROWS_AS(parse("- {name: hflip, p: 2}"), ConfigError);
  CHECK_THROWS_WITH(parse("- {name: hflip, q: 1}"), Catch::Contains("dataset.transforms[0].q"));
  CHECK_THROWS_WITH(parse("- {name: resize, size: [3, 4]}"), Catch::Contains("dataset.transforms[0].size"));
  CHECK_THROWS_WITH(parse("- {name: center_crop}"),
                    Catch::Contains("dataset.transforms[0].size: missing required value"));
  CHECK_THROWS_WITH(parse("- {name: normalize}\n- {name: hflip}"), Catch::Contains("normalize must be the last"));
  CHECK_THROWS_WITH(parse("- {name: random_resized_crop, size: 8, scale: [0.9, 0.1]}"),
                    Catch::Contains("dataset.transforms[0].scale"));
  CHECK_THROWS_WITH(parse("- hflip"), Catch::Contains("dataset.transforms[0]"));
}
