#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/core.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "data/synthetic/shapes.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("synthetic_shapes: materialised once, deterministic, read as an image folder") {
  fs::path root = test::scratch("data_shapes");
  register_all();
  auto make = [&](const fs::path& r, const std::string& extra, int size = 16) {
    ConfigNode node = parse_yaml(
        cat("name: synthetic_shapes\nroot: ", r.string(), "\nimages_per_class: 3\nimage_size: ", size, "\n", extra),
        "d.yaml");
    return dataset_registry().get("synthetic_shapes")(node, "dataset");
  };
  auto ds = make(root, "");
  CHECK(ds->size() == 30);
  CHECK(ds->classes() == shape_classes());
  CHECK(ds->classes().size() == 10);
  CHECK(ds->describe().find("synthetic_shapes train") == 0);
  std::mt19937_64 rng(0);
  Sample s = ds->get(4, rng);
  CHECK(s.tensors.at("image").sizes() == at::IntArrayRef{3, 16, 16});
  CHECK(s.tensors.at("label").item<int64_t>() == 1);
  CHECK(fs::exists(root / "train" / "done"));

  // A second use reuses the folder: a deleted image is not regenerated.
  fs::remove(root / "train" / "ring" / "00001.png");
  CHECK(make(root, "")->size() == 29);
  // Another spec regenerates it.
  CHECK(make(root, "seed: 0\nval_images_per_class: 2\n")->size() == 29);
  CHECK(make(root, "", 12)->size() == 30);

  // Same seed, same pixels; val differs from train.
  fs::path other = test::scratch("data_shapes_again");
  make(other, "", 12);
  CHECK(read_bytes(root / "train" / "star" / "00002.png") == read_bytes(other / "train" / "star" / "00002.png"));
  auto val = make(other, "split: val\nval_images_per_class: 2\n", 12);
  CHECK(val->size() == 20);
  CHECK(read_bytes(other / "val" / "star" / "00001.png") != read_bytes(other / "train" / "star" / "00001.png"));
  for (const auto& entry : fs::directory_iterator(other))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("draw_shape is a pure function of the generator") {
  for (int label = 0; label < 10; ++label) {
    std::mt19937_64 a(label), b(label);
    cv::Mat x = draw_shape(label, 32, a), y = draw_shape(label, 32, b);
    CHECK(x.size() == cv::Size(32, 32));
    CHECK(cv::norm(x, y, cv::NORM_INF) == 0);
  }
}
