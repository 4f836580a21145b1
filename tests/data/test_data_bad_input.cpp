// Data that once crashed, exhausted memory or trained silently: images whose header declares billions
// of pixels, truncated JPEGs, a caption table that is a folder, a symlink loop in an image folder, far
// more loader workers than the machine has.
#include <catch2/catch.hpp>

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "data/caption_table.h"
#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/image_header.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;
namespace fs = std::filesystem;

namespace {

// An image with structure (gradients and a circle), so JPEG has real scans to cut.
cv::Mat picture(int width, int height) {
  cv::Mat bgr(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 255 / width, y * 255 / height, (x ^ y) & 255);
  return bgr;
}

std::string encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
  std::vector<uchar> bytes;
  REQUIRE(cv::imencode(ext, image, bytes, params));
  return {bytes.begin(), bytes.end()};
}

uint32_t be32(const std::string& b, std::size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) | (uint32_t(uint8_t(b[at + 2])) << 8) |
         uint8_t(b[at + 3]);
}

void put_be32(std::string& b, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (24 - 8 * i));
}

std::string bad_sample_reason(const std::string& bytes) {
  try {
    decode_image(bytes, "probe");
  } catch (const BadSample& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("image headers give the size of PNG, JPEG, BMP, WebP and PNM files", "[data][bad input]") {
  const cv::Mat image = picture(37, 21);
  for (const char* ext : {".png", ".jpg", ".bmp", ".webp", ".ppm"}) {
    INFO(ext);
    auto header = read_image_header(encode(ext, image));
    REQUIRE(header);
    CHECK(header->width == 37);
    CHECK(header->height == 21);
    CHECK_FALSE(header->truncated);
  }
  auto progressive = read_image_header(encode(".jpg", image, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  REQUIRE(progressive);
  CHECK_FALSE(progressive->truncated);
  CHECK_FALSE(read_image_header("GIF89a....."));
}

TEST_CASE("an image whose header declares more pixels than the limit is refused before decoding", "[data][bad input]") {
  std::string png = encode(".png", picture(8, 8));
  put_be32(png, 16, 20000);  // IHDR width and height: 4·10^8 pixels, a 4.7 GB decode
  put_be32(png, 20, 20000);
  CHECK(be32(png, 16) == 20000);
  CHECK_THAT(bad_sample_reason(png), Catch::Contains("20000 x 20000") && Catch::Contains("LOOM_LIMIT_IMAGE_PIXELS"));
}

TEST_CASE("a truncated JPEG is a bad sample, a JPEG with trailing bytes is not", "[data][bad input]") {
  for (bool progressive : {false, true}) {
    INFO("progressive " << progressive);
    const std::string jpeg = encode(".jpg", picture(64, 48), {cv::IMWRITE_JPEG_PROGRESSIVE, progressive ? 1 : 0});
    CHECK(bad_sample_reason(jpeg).empty());
    CHECK(bad_sample_reason(jpeg + std::string(100, '\0')).empty());
    CHECK_THAT(bad_sample_reason(jpeg.substr(0, jpeg.size() * 2 / 3)), Catch::Contains("truncated JPEG"));
    CHECK_THAT(bad_sample_reason(jpeg.substr(0, jpeg.size() - 2)), Catch::Contains("truncated JPEG"));
  }
}

TEST_CASE("a caption table that is a folder, and an image path that is one, are clear errors", "[data][bad input]") {
  auto dir = test::scratch("data_bad/table");
  fs::create_directories(dir / "captions.tsv");
  CaptionTableOptions options;
  options.path = (dir / "captions.tsv").string();
  CHECK_THROWS_WITH(CaptionTable(options, "data.train"),
                    Catch::Contains("data.train.path") && Catch::Contains("is a folder"));
  try {
    read_image(dir.string());
    FAIL("read a folder as an image");
  } catch (const BadSample& e) {
    CHECK_THAT(e.what(), Catch::Contains("folder"));
  }
}

TEST_CASE("an image folder with a symlink loop lists each image once", "[data][bad input]") {
  auto dir = test::scratch("data_bad/loop");
  fs::create_directories(dir / "images" / "inner");
  cv::imwrite((dir / "images" / "a.png").string(), picture(8, 8));
  cv::imwrite((dir / "images" / "inner" / "b.png").string(), picture(8, 8));
  fs::create_directory_symlink(dir / "images", dir / "images" / "inner" / "up");
  ImageFolderOptions options;
  options.root = (dir / "images").string();
  options.class_subfolders = "false";
  ImageFolder folder(options, "data.train");
  CHECK(folder.size() == 2);
}

TEST_CASE("far more loader workers than cores are capped, not a crash", "[data][bad input]") {
  auto dir = test::scratch("data_bad/workers");
  for (int i = 0; i < 4; ++i) cv::imwrite((dir / cat(i, ".png")).string(), picture(8, 8));
  ImageFolderOptions folder;
  folder.root = dir.string();
  LoaderOptions options;
  options.batch_size = 2;
  options.workers = 100000;
  Loader loader(std::make_shared<ImageFolder>(folder), options, 0);
  auto batch = loader.next();
  REQUIRE(batch);
  CHECK(batch->size() == 2);
}
