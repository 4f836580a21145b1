#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "app/register_all.h"
#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "data/caption_table.h"
#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

void write_image(const fs::path& file, int h = 8, int w = 8) { write_png(file.string(), at::rand({3, h, w})); }

std::shared_ptr<Dataset> make(const std::string& yaml) {
  register_all();
  ConfigNode node = parse_yaml(yaml, "data.yaml");
  return dataset_registry().get(registered_name(dataset_registry(), node, "dataset"))(node, "dataset");
}

LoaderOptions one_pass(int64_t batch, double max_bad) {
  LoaderOptions o;
  o.batch_size = batch;
  o.workers = 2;
  o.repeat = false;
  o.drop_last = false;
  o.shuffle = false;
  o.max_bad_fraction = max_bad;
  return o;
}

}  // namespace

TEST_CASE("image_io: decode to RGB, grayscale and alpha become 3 channels, PNG round trip") {
  fs::path dir = test::scratch("data_image_io");
  cv::Mat bgr(2, 3, CV_8UC3, cv::Scalar(0, 0, 255));  // red
  cv::imwrite((dir / "red.png").string(), bgr);
  cv::Mat rgb = read_image((dir / "red.png").string());
  CHECK(rgb.type() == CV_8UC3);
  CHECK(rgb.at<cv::Vec3b>(0, 0) == cv::Vec3b(255, 0, 0));
  cv::imwrite((dir / "gray.png").string(), cv::Mat(4, 5, CV_8UC1, cv::Scalar(77)));
  CHECK(read_image((dir / "gray.png").string()).at<cv::Vec3b>(3, 4) == cv::Vec3b(77, 77, 77));
  cv::imwrite((dir / "alpha.png").string(), cv::Mat(4, 5, CV_8UC4, cv::Scalar(10, 20, 30, 128)));
  CHECK(read_image((dir / "alpha.png").string()).at<cv::Vec3b>(0, 0) == cv::Vec3b(30, 20, 10));

  at::Tensor image = at::rand({3, 6, 7});
  write_png((dir / "sub" / "x.png").string(), image);
  at::Tensor back = to_tensor(read_image((dir / "sub" / "x.png").string()));
  CHECK(back.sizes() == image.sizes());
  CHECK((back - image).abs().max().item<float>() <= 0.5f / 255 + 1e-6f);

  write_text(dir / "empty.jpg", "");
  write_text(dir / "junk.png", "not a png at all");
  CHECK_THROWS_WITH(read_image((dir / "empty.jpg").string()), Catch::Contains("empty file"));
  CHECK_THROWS_AS(read_image((dir / "junk.png").string()), BadSample);
  try {
    read_image((dir / "missing.png").string());
    FAIL("no exception");
  } catch (const BadSample& e) {
    CHECK(e.path == (dir / "missing.png").string());
    CHECK(std::string(e.what()) == "file not found");
  }
}

TEST_CASE("image_folder: sorted files, class subfolders, labels") {
  fs::path dir = test::scratch("data_image_folder");
  write_image(dir / "dog" / "b.png");
  write_image(dir / "cat" / "z.png");
  write_image(dir / "cat" / "a.PNG");
  write_image(dir / "cat" / "deep" / "c.png");
  write_text(dir / "cat" / "notes.txt", "not an image");
  auto ds = make(cat("name: image_folder\nroot: ", dir.string(), "\n"));
  auto& folder = dynamic_cast<ImageFolder&>(*ds);
  REQUIRE(ds->size() == 4);
  CHECK(ds->classes() == std::vector<std::string>{"cat", "dog"});
  CHECK(folder.file(0) == (dir / "cat" / "a.PNG").string());
  CHECK(folder.file(1) == (dir / "cat" / "deep" / "c.png").string());
  CHECK(folder.file(3) == (dir / "dog" / "b.png").string());
  std::mt19937_64 rng(0);
  Sample s = ds->get(3, rng);
  CHECK(s.tensors.at("label").item<int64_t>() == 1);
  CHECK(s.tensors.at("label").dim() == 0);
  CHECK(s.tensors.at("image").sizes() == at::IntArrayRef{3, 8, 8});
  CHECK(s.text.at("path") == folder.file(3));
  CHECK(ds->describe().find("4 images, 2 classes") != std::string::npos);

  auto flat = make(cat("name: image_folder\nroot: ", dir.string(), "\nclass_subfolders: false\n"));
  CHECK(flat->size() == 4);
  CHECK(flat->classes().empty());
  CHECK(flat->get(0, rng).tensors.count("label") == 0);
}

TEST_CASE("image_folder: missing or empty root and bad config name the problem") {
  fs::path dir = test::scratch("data_image_folder_empty");
  CHECK_THROWS_WITH(make(cat("name: image_folder\nroot: ", (dir / "nope").string(), "\n")),
                    Catch::Contains("dataset.root") && Catch::Contains((dir / "nope").string()));
  CHECK_THROWS_WITH(make(cat("name: image_folder\nroot: ", dir.string(), "\n")),
                    Catch::Contains("no images") && Catch::Contains(dir.string()));
  CHECK_THROWS_WITH(
      make("name: image_folder\nroot: x\ntransforms:\n  - {name: hflip}\n  - {name: center_crap, size: 3}\n"),
      Catch::Contains("data.yaml:5") && Catch::Contains("dataset.transforms[1].name") &&
          Catch::Contains("did you mean 'center_crop'"));
  CHECK_THROWS_WITH(make("name: image_folder\nroot: x\nclass_subfolder: true\n"),
                    Catch::Contains("did you mean 'dataset.class_subfolders'"));
  CHECK_THROWS_AS(make("name: image_folder\n"), ConfigError);
}

TEST_CASE("bad images are skipped and counted, too many stop the run naming a path") {
  fs::path dir = test::scratch("data_bad_images");
  for (int i = 0; i < 4; ++i) write_image(dir / "imgs" / cat("good", i, ".png"));
  write_text(dir / "imgs" / "corrupt.png", std::string("\x89PNG\r\n\x1a\n", 8) + "truncated garbage");
  write_text(dir / "imgs" / "zero.jpg", "");
  auto ds = make(cat("name: image_folder\nroot: ", (dir / "imgs").string(), "\n"));
  REQUIRE(ds->size() == 6);
  {
    Loader loader(ds, one_pass(6, 0.5), 0);
    auto batch = loader.next();
    REQUIRE(batch);
    CHECK(batch->size() == 4);
    CHECK(batch->at("image").size(0) == 4);
    CHECK_FALSE(loader.next());
    CHECK(loader.bad_samples() == 2);
  }
  Loader strict(ds, one_pass(6, 0.2), 0);
  CHECK_THROWS_WITH(strict.next(), Catch::Contains("2 of 6 samples") && Catch::Contains("corrupt.png"));

  // A caption table pointing at a missing file.
  write_text(dir / "captions.csv", "filepath,caption\nimgs/good0.png,a\nimgs/missing.png,b\nimgs/good1.png,c\n");
  auto table = make(cat("name: caption_table\npath: ", (dir / "captions.csv").string(), "\n"));
  Loader loader(table, one_pass(3, 0.5), 0);
  auto batch = loader.next();
  REQUIRE(batch);
  CHECK(batch->size() == 2);
  CHECK(batch->text.at("caption") == std::vector<std::string>{"a", "c"});
  CHECK(batch->indices == std::vector<int64_t>{0, 2});
  CHECK(loader.bad_samples() == 1);
}

TEST_CASE("CSV: RFC 4180 quoting") {
  TextTable t =
      parse_csv("filepath,caption\r\n\"a,b.png\",\"she said \"\"hi\"\"\"\nc.png,\"two\nlines\"\n\nd.png,\n", "t.csv");
  CHECK(t.columns == std::vector<std::string>{"filepath", "caption"});
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0] == std::vector<std::string>{"a,b.png", "she said \"hi\""});
  CHECK(t.rows[1] == std::vector<std::string>{"c.png", "two\nlines"});
  CHECK(t.rows[2] == std::vector<std::string>{"d.png", ""});
  CHECK(t.lines == std::vector<int64_t>{2, 3, 6});
  CHECK_THROWS_WITH(parse_csv("a,b\nx,y\nx\"y,z\n", "t.csv"), Catch::Contains("t.csv:3"));
  CHECK_THROWS_WITH(parse_csv("a,b\n\"x\"y,z\n", "t.csv"), Catch::Contains("t.csv:2"));
  CHECK_THROWS_WITH(parse_csv("a,b\n\"x,z\n", "t.csv"), Catch::Contains("t.csv:2") && Catch::Contains("never closed"));
  CHECK_THROWS_WITH(parse_csv("a,b\nx,y\nx,y,z\n", "t.csv"), Catch::Contains("t.csv:3: expected 2 fields"));
}

TEST_CASE("TSV and JSONL tables") {
  TextTable t = parse_tsv("filepath\tcaption\na.png\ta cat, sitting\n\nb.png\t\"quoted\"\n", "t.tsv");
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] == std::vector<std::string>{"a.png", "a cat, sitting"});
  CHECK(t.rows[1] == std::vector<std::string>{"b.png", "\"quoted\""});
  CHECK(t.lines == std::vector<int64_t>{2, 4});
  CHECK_THROWS_WITH(parse_tsv("a\tb\nx\n", "t.tsv"), Catch::Contains("t.tsv:2"));

  TextTable j = parse_jsonl(
      "{\"filepath\": \"a.png\", \"caption\": \"x\\ny\", \"extra\": 1}\n\n{\"caption\": \"z\", \"filepath\": "
      "\"b.png\"}\n",
      "t.jsonl", {"filepath", "caption"});
  REQUIRE(j.rows.size() == 2);
  CHECK(j.rows[0] == std::vector<std::string>{"a.png", "x\ny"});
  CHECK(j.rows[1] == std::vector<std::string>{"b.png", "z"});
  CHECK_THROWS_WITH(parse_jsonl("{\"filepath\": \"a\"}\n{oops\n", "t.jsonl", {"filepath"}),
                    Catch::Contains("t.jsonl:2"));
  CHECK_THROWS_WITH(parse_jsonl("{\"path\": \"a\"}\n", "t.jsonl", {"filepath"}),
                    Catch::Contains("t.jsonl:1: no key 'filepath'") && Catch::Contains("path"));
}

TEST_CASE("caption_table dataset: formats, image_root, missing columns") {
  fs::path dir = test::scratch("data_caption_table");
  write_image(dir / "images" / "a.png", 5, 6);
  write_text(dir / "t.jsonl", "{\"file\": \"a.png\", \"text\": \"a picture\"}\n");
  auto ds = make(cat("name: caption_table\npath: ", (dir / "t.jsonl").string(),
                     "\npath_column: file\ncaption_column: text\nimage_root: ", (dir / "images").string(), "\n"));
  REQUIRE(ds->size() == 1);
  std::mt19937_64 rng(0);
  Sample s = ds->get(0, rng);
  CHECK(s.tensors.at("image").sizes() == at::IntArrayRef{3, 5, 6});
  CHECK(s.text.at("caption") == "a picture");
  CHECK(s.text.at("path") == (dir / "images" / "a.png").string());

  write_text(dir / "t.tsv", "path\ttitle\nimages/a.png\thello\n");
  CHECK_THROWS_WITH(make(cat("name: caption_table\npath: ", (dir / "t.tsv").string(), "\n")),
                    Catch::Contains((dir / "t.tsv").string()) && Catch::Contains("no column 'filepath'") &&
                        Catch::Contains("columns: path, title"));
  auto tsv = make(
      cat("name: caption_table\npath: ", (dir / "t.tsv").string(), "\npath_column: path\ncaption_column: title\n"));
  CHECK(tsv->get(0, rng).text.at("caption") == "hello");
  write_text(dir / "t.txt", "x");
  CHECK_THROWS_WITH(make(cat("name: caption_table\npath: ", (dir / "t.txt").string(), "\n")),
                    Catch::Contains("dataset.format"));
  CHECK_THROWS_WITH(make(cat("name: caption_table\npath: ", (dir / "none.csv").string(), "\n")),
                    Catch::Contains("dataset.path") && Catch::Contains("none.csv"));
}
