// The exported stylizer against Loom's own forward: file sizes of the float32 and float16 ONNX graphs
// (MediaPipe's face stylizer task file is 29 MB, mediapipe#4719) and CPU latency per image of
// onnxruntime (bench/onnx_latency.py, run by $LOOM_PYTHON) and of Loom's encoder -> + w_avg -> student
// chain as `loom stylize` runs it, at the same threads and batch:
//   bench_export_stylizer STUDENT_CONFIG ENCODER_CONFIG [batch=1] [iterations=20] [dir=/tmp/loom-bench-export]
// Random weights (the speed and size do not depend on them). Threads: OMP_NUM_THREADS / at::get_num_threads,
// given to onnxruntime as intra-op threads. Figures, not assertions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/text/cat.h"
#include "export/model_graphs.h"
#include "export/onnx_writer.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/encoder/pretrained_encoder.h"
#include "train/components.h"

namespace {

double median_ms(const std::function<void()>& fn, int iterations) {
  fn();  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

// onnxruntime's median ms per image, or -1 when the Python side fails.
double onnxruntime_ms(const std::filesystem::path& model, int threads, int64_t batch, int iterations) {
  const char* python = std::getenv("LOOM_PYTHON");  // else the one CMake configured
  const std::filesystem::path script = std::filesystem::path(LOOM_SOURCE_DIR) / "bench" / "onnx_latency.py";
  const std::string command = loom::cat(python ? python : LOOM_BENCH_PYTHON, " ", script.string(), " ", model.string(),
                                        " ", threads, " ", batch, " ", iterations);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  double per_image = -1, per_run = -1;
  if (std::fscanf(pipe, "%lf %lf", &per_image, &per_run) != 2) per_image = -1;
  return pclose(pipe) == 0 ? per_image : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_export_stylizer STUDENT_CONFIG ENCODER_CONFIG [batch] [iterations] [dir]\n");
    return 2;
  }
  loom::register_all();
  const int64_t batch = argc > 3 ? std::stoll(argv[3]) : 1;
  const int iterations = argc > 4 ? std::stoi(argv[4]) : 20;
  const std::filesystem::path dir = argc > 5 ? argv[5] : "/tmp/loom-bench-export";
  std::filesystem::create_directories(dir);
  const auto student_config = loom::load_config(argv[1], {}), encoder_config = loom::load_config(argv[2], {});
  auto student = loom::make_model<loom::BlazeStyleGan>(*student_config.find("model"), "model", "a blazestylegan");
  auto encoder =
      loom::make_model<loom::MobileNetV2Encoder>(*encoder_config.find("model"), "model", "a mobilenet_v2_encoder");
  student->eval();
  encoder->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor w_avg = torch::randn({student->synthesis->w_dim()});

  std::vector<std::pair<std::string, std::filesystem::path>> files;
  for (bool half : {false, true}) {
    auto exported = loom::onnx::stylizer_graph(*encoder, *student->synthesis, w_avg, {.float16 = half});
    if (half) exported.graph.convert_to_float16();
    const auto path = dir / (half ? "stylizer_fp16.onnx" : "stylizer_fp32.onnx");
    loom::onnx::write_model(path, exported.graph, exported.info);
    files.emplace_back(half ? "float16" : "float32", path);
  }
  const int64_t r = student->options().resolution;
  const at::Tensor image = torch::rand({batch, 3, r, r});
  const double loom_ms =
      median_ms(
          [&] {
            const at::Tensor ws = loom::invert(*encoder, image * 2 - 1, w_avg);
            ((student->synthesis->forward(ws, loom::NoiseMode::constant, {}, false).image + 1) / 2).clamp(0, 1);
          },
          iterations) /
      static_cast<double>(batch);
  const int threads = at::get_num_threads();
  std::printf("bench_export_stylizer %lldx%lld, batch %lld, %d threads, median of %d runs\n", (long long)r,
              (long long)r, (long long)batch, threads, iterations);
  std::printf("%-26s %12s %14s %14s\n", "stylizer", "file MB", "ms / image", "speed vs Loom");
  std::printf("%-26s %12s %14.2f %13.2fx\n", "Loom (LibTorch CPU)", "-", loom_ms, 1.0);
  for (const auto& [name, path] : files) {
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    const double ms = onnxruntime_ms(path, threads, batch, iterations);
    std::printf("%-26s %12.2f %14.2f %13.2fx\n", ("onnxruntime " + name).c_str(), mb, ms, ms > 0 ? loom_ms / ms : 0.0);
  }
  std::printf("MediaPipe face stylizer task file (TFLite): 29 MB\n");
  return 0;
}
