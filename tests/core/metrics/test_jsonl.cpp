// JSONL metrics and the fan-out writer.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/metrics/jsonl_writer.h"
#include "core/metrics/tensorboard_writer.h"
#include "support/test_env.h"

namespace {

std::vector<nlohmann::ordered_json> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::ordered_json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::ordered_json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("JsonlWriter writes one object per call, appending", "[metrics][jsonl]") {
  auto path = loom::test::scratch("metrics_jsonl") / "logs" / "metrics.jsonl";
  const double before = loom::unix_time();
  {
    loom::JsonlWriter writer(path);
    writer.add_scalars(3, {{"loss", 0.3}, {"lr", 1e-3}});
    writer.add_scalar("acc", 0.5, 4);
    writer.add_scalar("bad", std::nan(""), 5);
    writer.add_image("ignored", torch::zeros({3, 2, 2}), 6);
    writer.add_histogram("ignored", torch::ones({4}), 6);
    CHECK_THROWS_AS(writer.add_scalar("step", 1.0, 7), std::invalid_argument);
    writer.flush();
    REQUIRE(read_lines(path).size() == 3);
  }
  {
    loom::JsonlWriter resumed(path);
    resumed.add_scalar("loss", -2.5, int64_t(1) << 40);
  }
  auto lines = read_lines(path);
  REQUIRE(lines.size() == 4);

  const auto& first = lines[0];
  std::vector<std::string> keys;
  for (const auto& item : first.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"step", "time", "loss", "lr"});
  CHECK(first["step"] == 3);
  CHECK(first["loss"].get<double>() == 0.3);  // full double precision survives
  CHECK(first["lr"].get<double>() == 1e-3);
  CHECK(first["time"].get<double>() >= before - 1);
  CHECK(first["time"].get<double>() <= loom::unix_time() + 1);

  CHECK(lines[1]["step"] == 4);
  CHECK(lines[1]["acc"].get<double>() == 0.5);
  CHECK(lines[2]["bad"].is_null());  // JSON has no NaN
  CHECK(lines[3]["step"].get<int64_t>() == int64_t(1) << 40);
  CHECK(lines[3]["loss"].get<double>() == -2.5);
}

TEST_CASE("JsonlWriter reports an unwritable path naming it", "[metrics][jsonl]") {
  auto dir = loom::test::scratch("metrics_jsonl_bad");
  auto path = dir / "is_a_folder";
  std::filesystem::create_directories(path);
  CHECK_THROWS_AS(loom::JsonlWriter(path), loom::UserError);
  CHECK_THROWS_WITH(loom::JsonlWriter(path), Catch::Matchers::Contains(path.string()));
}

TEST_CASE("MultiWriter forwards to every writer", "[metrics][multi]") {
  auto dir = loom::test::scratch("metrics_multi");
  std::filesystem::path event_file;
  {
    loom::MultiWriter multi;
    auto tb = std::make_unique<loom::TensorBoardWriter>(dir / "tb");
    event_file = tb->path();
    multi.add(std::move(tb));
    multi.add(std::make_unique<loom::JsonlWriter>(dir / "metrics.jsonl"));
    multi.add_scalars(1, {{"loss", 1.0}, {"lr", 0.1}});
    multi.add_scalar("loss", 0.5, 2);
    multi.add_image("img", torch::zeros({2, 3}, torch::kUInt8), 2);
    multi.add_histogram("w", torch::arange(10), 2);
    multi.flush();
    CHECK(read_lines(dir / "metrics.jsonl").size() == 2);
  }
  // Header + scalars (one event for the pair) + scalar + image + histogram, each record > 16 bytes.
  std::ifstream in(event_file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t records = 0;
  for (std::size_t pos = 0; pos + 12 <= bytes.size(); ++records) {
    uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(bytes[pos + i]);
    pos += 16 + size;
  }
  CHECK(records == 5);
}
