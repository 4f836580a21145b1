// TensorBoard event files: framing and fields read back in C++, then every value checked by
// tensorboard's own reader (tests/python/check_tensorboard.py).
#include <torch/torch.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/io/crc32c.h"
#include "core/metrics/tensorboard_writer.h"
#include "support/test_env.h"

namespace {

uint64_t le(std::string_view bytes) {
  uint64_t v = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

// Splits a TFRecord file into its records, REQUIRE-ing both masked CRCs of each.
std::vector<std::string> read_records(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  std::string_view rest = file;
  while (!rest.empty()) {
    REQUIRE(rest.size() >= 12);
    const uint64_t size = le(rest.substr(0, 8));
    REQUIRE(le(rest.substr(8, 4)) == loom::mask_crc32c(loom::crc32c(rest.substr(0, 8))));
    REQUIRE(rest.size() >= 16 + size);
    std::string_view data = rest.substr(12, size);
    REQUIRE(le(rest.substr(12 + size, 4)) == loom::mask_crc32c(loom::crc32c(data)));
    records.emplace_back(data);
    rest.remove_prefix(16 + size);
  }
  return records;
}

// One protobuf field: its number, wire type and either its integer bits or its bytes.
struct Field {
  uint32_t number;
  int wire;
  uint64_t bits = 0;
  std::string_view bytes;
};

uint64_t read_varint(std::string_view& in) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    REQUIRE(!in.empty());
    const auto b = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
}

std::multimap<uint32_t, Field> parse(std::string_view in) {
  std::multimap<uint32_t, Field> fields;
  while (!in.empty()) {
    const uint64_t key = read_varint(in);
    Field f{static_cast<uint32_t>(key >> 3), static_cast<int>(key & 7)};
    if (f.wire == 0) {
      f.bits = read_varint(in);
    } else if (f.wire == 1 || f.wire == 5) {
      const std::size_t n = f.wire == 1 ? 8 : 4;
      REQUIRE(in.size() >= n);
      f.bits = le(in.substr(0, n));
      in.remove_prefix(n);
    } else {
      REQUIRE(f.wire == 2);
      const uint64_t n = read_varint(in);
      REQUIRE(in.size() >= n);
      f.bytes = in.substr(0, n);
      in.remove_prefix(n);
    }
    fields.emplace(f.number, f);
  }
  return fields;
}

const Field& only(const std::multimap<uint32_t, Field>& fields, uint32_t number) {
  REQUIRE(fields.count(number) == 1);
  return fields.find(number)->second;
}

std::filesystem::path only_event_file(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  REQUIRE(files.size() == 1);
  REQUIRE(files[0].filename().string().starts_with("events.out.tfevents."));
  return files[0];
}

}  // namespace

TEST_CASE("TensorBoard records read back with valid framing and fields", "[metrics][tensorboard]") {
  auto dir = loom::test::scratch("metrics_tb_framing") / "run";  // created by the writer
  const double before = loom::unix_time();
  std::filesystem::path path;
  {
    loom::TensorBoardWriter writer(dir);
    path = writer.path();
    writer.add_scalar("loss", 0.25, -3);
    writer.add_scalars(7, {{"a", 1.5}, {"b", -2.0}});
  }  // destruction flushes
  REQUIRE(path == only_event_file(dir));

  auto records = read_records(path);
  REQUIRE(records.size() == 3);

  auto header = parse(records[0]);
  CHECK(only(header, 3).bytes == "brain.Event:2");
  const double wall = std::bit_cast<double>(only(header, 1).bits);
  CHECK(wall >= before - 1);
  CHECK(wall <= loom::unix_time() + 1);

  auto scalar = parse(records[1]);
  CHECK(static_cast<int64_t>(only(scalar, 2).bits) == -3);
  auto value = parse(only(parse(only(scalar, 5).bytes), 1).bytes);
  CHECK(only(value, 1).bytes == "loss");
  CHECK(only(value, 2).wire == 5);
  CHECK(std::bit_cast<float>(static_cast<uint32_t>(only(value, 2).bits)) == 0.25f);

  // add_scalars: one event, values in the given order.
  auto pair = parse(records[2]);
  CHECK(only(pair, 2).bits == 7);
  auto summary = parse(only(pair, 5).bytes);
  REQUIRE(summary.count(1) == 2);
  auto it = summary.find(1);
  CHECK(only(parse(it->second.bytes), 1).bytes == "a");
  CHECK(only(parse(std::next(it)->second.bytes), 1).bytes == "b");
}

TEST_CASE("TensorBoardWriter is safe to use from several threads", "[metrics][tensorboard]") {
  auto dir = loom::test::scratch("metrics_tb_threads");
  constexpr int kThreads = 4, kPerThread = 200;
  {
    loom::TensorBoardWriter writer(dir);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&writer, t] {
        for (int i = 0; i < kPerThread; ++i) writer.add_scalar(loom::cat("thread", t), i, i);
      });
    for (auto& th : threads) th.join();
  }
  CHECK(read_records(only_event_file(dir)).size() == 1 + kThreads * kPerThread);
}

TEST_CASE("TensorBoardWriter reports an unusable folder naming it", "[metrics][tensorboard]") {
  auto dir = loom::test::scratch("metrics_tb_bad");
  std::ofstream(dir / "file") << "not a folder";
  auto bad = dir / "file" / "run";
  CHECK_THROWS_AS(loom::TensorBoardWriter(bad), loom::UserError);
  CHECK_THROWS_WITH(loom::TensorBoardWriter(bad), Catch::Matchers::Contains((dir / "file").string()));
}

TEST_CASE("TensorBoard event file passes tensorboard's reader", "[metrics][tensorboard][python]") {
  auto root = loom::test::scratch("metrics_tb_python");
  auto dir = root / "run";
  nlohmann::json expected = {{"scalars", nlohmann::json::array()},
                             {"images", nlohmann::json::array()},
                             {"histograms", nlohmann::json::array()}};
  auto expect_scalar = [&](const std::string& tag, double value, int64_t step) {
    expected["scalars"].push_back({{"tag", tag}, {"step", step}, {"value", double(float(value))}});
  };
  // pixels: the image as uint8 [H][W][C], as TensorBoard should decode it.
  auto expect_image = [&](const std::string& tag, int64_t step, const at::Tensor& hwc) {
    nlohmann::json pixels = nlohmann::json::array();
    for (int64_t y = 0; y < hwc.size(0); ++y) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t x = 0; x < hwc.size(1); ++x) {
        nlohmann::json px = nlohmann::json::array();
        for (int64_t c = 0; c < hwc.size(2); ++c) px.push_back(hwc[y][x][c].item<int>());
        row.push_back(px);
      }
      pixels.push_back(row);
    }
    expected["images"].push_back({{"tag", tag},
                                  {"step", step},
                                  {"height", hwc.size(0)},
                                  {"width", hwc.size(1)},
                                  {"colorspace", hwc.size(2)},
                                  {"pixels", pixels}});
  };
  {
    loom::TensorBoardWriter writer(dir);
    for (int64_t step = 0; step < 4; ++step) {
      writer.add_scalar("train/loss", 2.0 / (step + 1), step);
      expect_scalar("train/loss", 2.0 / (step + 1), step);
    }
    const loom::Scalars odd = {{"neg", -3.75}, {"tiny", 1.17e-38}, {"large", 3.0e38}, {"third", 1.0 / 3}};
    writer.add_scalars(100, odd);
    for (const auto& [tag, value] : odd) expect_scalar(tag, value, 100);
    writer.add_scalar("neg", -1e-7, -5);
    expect_scalar("neg", -1e-7, -5);
    writer.add_scalar("big_step", 42, int64_t(1) << 40);
    expect_scalar("big_step", 42, int64_t(1) << 40);

    // RGB, 5 high x 7 wide, every pixel distinct, given as CHW uint8.
    auto rgb = torch::empty({5, 7, 3}, torch::kUInt8);
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 7; ++x) {
        rgb[y][x][0] = 30 * x + 5;
        rgb[y][x][1] = 50 * y + 3;
        rgb[y][x][2] = 255 - 9 * (7 * y + x);
      }
    const auto original = rgb.clone();
    writer.add_image("image/rgb", rgb.permute({2, 0, 1}), 3);
    CHECK(torch::equal(rgb, original));  // the caller's pixels are not touched (no in-place BGR swap)
    expect_image("image/rgb", 3, rgb);

    // RGBA given as HWC float in [0, 1] with exact k/255 values.
    auto rgba = torch::arange(5 * 6 * 4, torch::kFloat).reshape({5, 6, 4}).mul(2.0f).div(255.0f);
    writer.add_image("image/rgba", rgba, 4);
    expect_image("image/rgba", 4, rgba.mul(255).round().to(torch::kUInt8));

    // Grayscale HW float, out of range values clamped.
    auto gray = torch::tensor(
        {{-0.5f, 0.0f, 0.5f, 1.0f, 1.5f}, {0.2f, 0.4f, 0.6f, 0.8f, 0.1f}, {1.0f, 0.9f, 0.8f, 0.7f, 0.6f}});
    writer.add_image("image/gray", gray, 5);
    expect_image("image/gray", 5, gray.clamp(0, 1).mul(255).round().to(torch::kUInt8).unsqueeze(-1));

    // 0..9 in 5 buckets: limits 1.8, 3.6, 5.4, 7.2, 9, two values each; the NaN is dropped.
    auto known = torch::tensor({3.0, 0.0, 9.0, 1.0, 2.0, std::nan(""), 8.0, 4.0, 5.0, 7.0, 6.0});
    writer.add_histogram("hist/known", known, 6, 5);
    expected["histograms"].push_back({{"tag", "hist/known"},
                                      {"step", 6},
                                      {"bins", 5},
                                      {"values", {3, 0, 9, 1, 2, 8, 4, 5, 7, 6}},
                                      {"counts", {2, 2, 2, 2, 2}}});
    auto normal = torch::randn({1000}, torch::TensorOptions().dtype(torch::kFloat));
    writer.add_histogram("hist/normal", normal.view({10, 100}), 7);
    auto as_double = normal.to(torch::kDouble);
    expected["histograms"].push_back(
        {{"tag", "hist/normal"},
         {"step", 7},
         {"bins", loom::kHistogramBins},
         {"values", std::vector<double>(as_double.data_ptr<double>(), as_double.data_ptr<double>() + 1000)}});
    writer.add_histogram("hist/constant", torch::full({4}, 2.5), 8);
    expected["histograms"].push_back({{"tag", "hist/constant"},
                                      {"step", 8},
                                      {"bins", loom::kHistogramBins},
                                      {"values", {2.5, 2.5, 2.5, 2.5}},
                                      {"counts", {4}}});
  }
  expected["events"] = 4 + 1 + 1 + 1 + 3 + 3;
  auto expected_path = root / "expected.json";
  std::ofstream(expected_path) << expected.dump();
  REQUIRE(loom::test::run_python("check_tensorboard.py", loom::cat(dir, " ", expected_path)) == 0);
}
