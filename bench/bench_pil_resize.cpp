// Milliseconds per resize of a 640x480 RGB image to 224x168 (and 224x224) on one thread:
// loom::data::pil_resize with each PIL filter against cv::resize INTER_AREA, INTER_CUBIC and INTER_LINEAR.
// PIL itself on the same image, for comparison:
//   $LOOM_PYTHON -c "import timeit; from PIL import Image; im = Image.effect_noise((640, 480), 64).convert('RGB');
//   print(min(timeit.repeat(lambda: im.resize((224, 168), Image.BICUBIC), number=200, repeat=5)) / 200 * 1e3, 'ms')"
// Prints; never asserts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "data/pil_resize.h"

namespace {

using loom::data::PilFilter;

// The fastest of 5 rounds of `reps` calls, in milliseconds per call.
double best_ms(const std::function<void()>& run, int reps) {
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) run();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count() / reps);
  }
  return best;
}

}  // namespace

int main() {
  cv::setNumThreads(1);
  cv::Mat image(480, 640, CV_8UC3);
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(256));
  cv::GaussianBlur(image, image, {5, 5}, 1.5);  // photo-like local correlation; timings barely depend on it
  const std::vector<std::pair<std::string, PilFilter>> filters = {
      {"nearest", PilFilter::nearest}, {"box", PilFilter::box},         {"bilinear", PilFilter::bilinear},
      {"hamming", PilFilter::hamming}, {"bicubic", PilFilter::bicubic}, {"lanczos", PilFilter::lanczos}};
  const std::vector<std::pair<std::string, int>> opencv = {
      {"INTER_AREA", cv::INTER_AREA}, {"INTER_CUBIC", cv::INTER_CUBIC}, {"INTER_LINEAR", cv::INTER_LINEAR}};
  for (const cv::Size size : {cv::Size(224, 168), cv::Size(224, 224)}) {
    std::printf("640x480 RGB -> %dx%d, 1 thread, ms per image\n", size.width, size.height);
    cv::Mat out;
    for (const auto& [name, filter] : filters)
      std::printf("  pil_resize %-8s %7.3f\n", name.c_str(),
                  best_ms([&, filter = filter] { out = loom::data::pil_resize(image, size, filter); }, 200));
    for (const auto& [name, flag] : opencv)
      std::printf("  cv::resize %-12s %7.3f\n", name.c_str(),
                  best_ms([&, flag = flag] { cv::resize(image, out, size, 0, 0, flag); }, 200));
  }
  return 0;
}
