// Images per second through the loader: decode ~256px JPEGs + random_resized_crop 224 + hflip +
// normalize + collate, at 1 and 2 worker threads. Generates its JPEGs in /tmp. Prints; never asserts.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/config/config_loader.h"
#include "data/image_folder.h"
#include "data/loader.h"

namespace {

using namespace loom::data;

// Smooth random pictures (blurred noise plus a few shapes) so JPEG decoding costs what photos cost.
void make_jpegs(const std::filesystem::path& dir, int count) {
  std::filesystem::create_directories(dir);
  std::mt19937 rng(0);
  for (int i = 0; i < count; ++i) {
    std::filesystem::path file = dir / (std::to_string(i) + ".jpg");
    if (std::filesystem::exists(file)) continue;
    cv::Mat img(256 + static_cast<int>(rng() % 64), 256 + static_cast<int>(rng() % 96), CV_8UC3);
    cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::GaussianBlur(img, img, cv::Size(0, 0), 3);
    for (int k = 0; k < 5; ++k)
      cv::circle(img, cv::Point(static_cast<int>(rng() % 256), static_cast<int>(rng() % 256)),
                 10 + static_cast<int>(rng() % 60), cv::Scalar(rng() % 256, rng() % 256, rng() % 256), cv::FILLED);
    cv::imwrite(file.string(), img, {cv::IMWRITE_JPEG_QUALITY, 90});
  }
}

}  // namespace

int main() {
  const std::filesystem::path dir = "/tmp/loom-bench-loader";
  make_jpegs(dir, 256);
  ImageFolderOptions options;
  options.root = dir.string();
  options.transforms = loom::parse_yaml(
      "- {name: random_resized_crop, size: 224}\n- {name: hflip}\n"
      "- {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n",
      "bench_loader");
  auto dataset = std::make_shared<ImageFolder>(options);
  std::printf("bench_loader: %s, batch 32, random_resized_crop 224 + hflip + normalize\n", dataset->describe().c_str());
  {
    LoaderOptions warm;  // one untimed pass: page cache, OpenCV and allocator start-up
    warm.repeat = false;
    Loader loader(dataset, warm, 0);
    while (loader.next()) {
    }
  }
  for (int64_t workers : {1, 2}) {
    LoaderOptions lo;
    lo.batch_size = 32;
    lo.workers = workers;
    Loader loader(dataset, lo, 0);
    loader.next();  // warm-up: thread start, first allocations
    const int batches = 40;
    auto start = std::chrono::steady_clock::now();
    for (int b = 0; b < batches; ++b) loader.next();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("  workers=%lld: %7.1f images/s (%d batches in %.2f s)\n", static_cast<long long>(workers),
                batches * 32 / seconds, batches, seconds);
  }
  return 0;
}
