#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/synthetic/scenes.h"
#include "support/test_env.h"

using namespace loom;
using namespace loom::data;
namespace fs = std::filesystem;

namespace {

SceneWorld world(const std::string& split, int64_t max_objects = 1, int64_t seed = 0,
                 std::vector<std::string> novel = {}) {
  SceneWorldOptions o;
  o.split = split;
  o.max_objects = max_objects;
  o.seed = seed;
  o.novel_shapes = std::move(novel);
  return SceneWorld(o);
}

bool same(const Scene& a, const Scene& b) {
  return cv::norm(a.image, b.image, cv::NORM_INF) == 0 && a.captions == b.captions && a.background == b.background &&
         a.objects.size() == b.objects.size();
}

bool contains(const std::string& text, const std::string& word) { return text.find(word) != std::string::npos; }

std::shared_ptr<Dataset> make(const std::string& yaml) {
  register_all();
  ConfigNode node = parse_yaml(yaml, "data.yaml");
  return dataset_registry().get(registered_name(dataset_registry(), node, "dataset"))(node, "dataset");
}

}  // namespace

TEST_CASE("scene world: a scene is a pure function of (seed, split, index), on any thread", "[world]") {
  SceneWorld w = world("train", 4);
  std::vector<Scene> serial;
  for (int64_t i = 0; i < 32; ++i) serial.push_back(w.render(i));
  CHECK(same(w.render(7), serial[7]));
  CHECK(same(world("train", 4).render(7), serial[7]));
  CHECK_FALSE(same(world("train", 4, 1).render(7), serial[7]));
  CHECK_FALSE(same(w.render(8), serial[7]));

  std::vector<Scene> threaded(32);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int64_t i = 31 - t; i >= 0; i -= 4) threaded[static_cast<size_t>(i)] = w.render(i);
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < serial.size(); ++i) CHECK(same(serial[i], threaded[i]));

  const Scene& s = serial[0];
  CHECK(s.image.type() == CV_8UC3);
  CHECK(s.image.size() == cv::Size(64, 64));
  std::set<size_t> counts;
  for (const auto& scene : serial) counts.insert(scene.objects.size());
  CHECK(counts == std::set<size_t>{1, 2, 3, 4});
}

TEST_CASE("scene world: held-out pairs and novel shapes stay out of the train split", "[world]") {
  SceneWorld train = world("train", 3), heldout = world("heldout", 3, 5), all = world("all", 3);
  const int ns = static_cast<int>(scene_shapes().size()), nc = static_cast<int>(scene_colours().size());
  int held = 0;
  std::vector<int> seen_shape(static_cast<size_t>(ns)), seen_colour(static_cast<size_t>(nc));
  for (int s = 0; s < ns; ++s)
    for (int c = 0; c < nc; ++c) {
      CHECK(train.heldout(s, c) == heldout.heldout(s, c));  // the image seed does not move the split
      held += train.heldout(s, c);
      CHECK(train.in_split(s, c) != heldout.in_split(s, c));
      CHECK(all.in_split(s, c));
      seen_shape[static_cast<size_t>(s)] += train.in_split(s, c);
      seen_colour[static_cast<size_t>(c)] += train.in_split(s, c);
    }
  CHECK(held == 20);
  for (int n : seen_shape) CHECK(n > 0);
  for (int n : seen_colour) CHECK(n > 0);
  CHECK(train.split_pairs().size() == 80);
  CHECK(heldout.split_pairs().size() == 20);

  std::set<std::pair<int, int>> seen_in_heldout;
  for (int64_t i = 0; i < 400; ++i) {
    for (const auto& o : train.render(i).objects) CHECK_FALSE(train.heldout(o.shape, o.colour));
    for (const auto& o : heldout.render(i).objects) {
      CHECK(train.heldout(o.shape, o.colour));
      seen_in_heldout.insert({o.shape, o.colour});
    }
  }
  CHECK(seen_in_heldout.size() == 20);

  SceneWorld base = world("train", 2, 0, {"star", "heart"}), novel = world("heldout", 2, 0, {"star", "heart"});
  CHECK(base.novel(3));
  CHECK(base.split_pairs().size() == 64);  // 80 base pairs, 20 % of them held out
  std::set<int> novel_shapes_seen;
  for (int64_t i = 0; i < 300; ++i) {
    for (const auto& o : base.render(i).objects) CHECK((o.shape != 3 && o.shape != 8));
    for (const auto& o : novel.render(i).objects)
      if (novel.novel(o.shape)) novel_shapes_seen.insert(o.shape);
  }
  CHECK(novel_shapes_seen == std::set<int>{3, 8});
  CHECK_THROWS_WITH(world("train", 1, 0, {"blob"}), Catch::Contains("world.novel_shapes: no shape 'blob'"));
}

TEST_CASE("scene world: boxes hold the drawn pixels, captions name the attributes", "[world]") {
  SceneWorld w = world("all");
  int plain = 0;
  std::set<int> shapes;
  for (int64_t i = 0; i < 400; ++i) {
    Scene s = w.render(i);
    REQUIRE(s.objects.size() == 1);
    const SceneObject& o = s.objects[0];
    const auto& b = o.box;
    CHECK((0 <= b[0] && b[0] < b[2] && b[2] <= 64 && 0 <= b[1] && b[1] < b[3] && b[3] <= 64));
    // Every caption names the shape; the first names every attribute.
    for (const auto& c : s.captions) CHECK(contains(c, scene_shapes()[o.shape]));
    CHECK(s.captions.size() >= 10);
    for (const auto& word : {scene_sizes()[o.size], scene_colours()[o.colour], scene_backgrounds()[s.background]})
      CHECK(contains(s.captions[0], word));
    CHECK(contains(s.captions[0], scene_positions()[o.position]));
    if (o.colour == 1) CHECK(contains(s.captions[4], "an orange"));
    if (s.background != 0) continue;
    // On a plain background, every pixel unlike the background lies in the box, which is tight.
    ++plain;
    shapes.insert(o.shape);
    const cv::Vec3b bg = s.image.at<cv::Vec3b>(0, 0);
    int x1 = 64, y1 = 64, x2 = 0, y2 = 0;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x)
        if (s.image.at<cv::Vec3b>(y, x) != bg) {
          x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x + 1), y2 = std::max(y2, y + 1);
        }
    INFO("scene " << i << " shape " << scene_shapes()[o.shape]);
    CHECK((b[0] <= x1 && b[1] <= y1 && x2 <= b[2] && y2 <= b[3]));
    CHECK((x1 - b[0] <= 1 && y1 - b[1] <= 1 && b[2] - x2 <= 1 && b[3] - y2 <= 1));
  }
  CHECK(plain > 50);
  CHECK(shapes.size() == scene_shapes().size());

  // Several objects: each is named, and they stand apart (box centres about a radius sum apart; a
  // crescent's or triangle's box sits off the centre of the disc placement keeps clear).
  SceneWorld multi = world("all", 4);
  for (int64_t i = 0; i < 100; ++i) {
    Scene s = multi.render(i);
    if (s.objects.size() < 2) continue;
    for (const auto& o : s.objects)
      CHECK(contains(s.captions[1], scene_colours()[o.colour] + " " + scene_shapes()[o.shape]));
    for (size_t a = 0; a < s.objects.size(); ++a)
      for (size_t b = 0; b < a; ++b) {
        const auto &p = s.objects[a].box, &q = s.objects[b].box;
        double rp = std::max(p[2] - p[0], p[3] - p[1]) / 2, rq = std::max(q[2] - q[0], q[3] - q[1]) / 2;
        double d = std::hypot((p[0] + p[2] - q[0] - q[2]) / 2, (p[1] + p[3] - q[1] - q[3]) / 2);
        CHECK(d >= 0.6 * (rp + rq));
      }
  }
}

TEST_CASE("scene world: class names, labels and prompts agree", "[world]") {
  CHECK(scene_shapes().size() >= 8);
  CHECK(scene_colours().size() >= 8);
  CHECK(class_names(ClassKind::shape) == scene_shapes());
  CHECK(class_names(ClassKind::colour) == scene_colours());
  auto pairs = class_names(ClassKind::shape_colour);
  CHECK(pairs.size() == scene_shapes().size() * scene_colours().size());
  CHECK(class_kind("shape_colour") == ClassKind::shape_colour);
  CHECK_THROWS(class_kind("size"));
  SceneObject o;
  o.shape = 4;
  o.colour = 1;
  CHECK(pairs[static_cast<size_t>(object_label(o, ClassKind::shape_colour))] == "orange cross");
  CHECK(class_names(ClassKind::shape)[static_cast<size_t>(object_label(o, ClassKind::shape))] == "cross");
  CHECK(class_names(ClassKind::colour)[static_cast<size_t>(object_label(o, ClassKind::colour))] == "orange");
  auto prompts = class_prompts(ClassKind::colour, 1);
  CHECK(prompts.size() == prompt_templates().size());
  CHECK(prompts[0] == "a photo of an orange shape.");
  CHECK(class_prompts(ClassKind::shape_colour, 0)[0] == "a photo of a red circle.");
}

TEST_CASE("synthetic_scenes: built from YAML, samples carry image, labels, boxes and a caption", "[world]") {
  auto ds =
      make("name: synthetic_scenes\nsize: 20\nimage_size: 48\nmax_objects: 3\nlabel: shape_colour\ncaption: first\n");
  auto* scenes = dynamic_cast<SyntheticScenes*>(ds.get());
  REQUIRE(scenes);
  CHECK(ds->size() == 20);
  CHECK(ds->classes().size() == 100);
  CHECK(contains(ds->describe(), "synthetic_scenes train (20 scenes of 48px"));
  std::mt19937_64 rng(0);
  for (int64_t i = 0; i < 20; ++i) {
    Sample s = ds->get(i, rng);
    Scene scene = scenes->world().render(i);
    CHECK(s.tensors.at("image").sizes() == at::IntArrayRef{3, 48, 48});
    CHECK(s.tensors.at("label").item<int64_t>() == scene_label(scene, ClassKind::shape_colour));
    CHECK(s.text.at("caption") == scene.captions[0]);
    at::Tensor boxes = s.tensors.at("boxes"), labels = s.tensors.at("box_labels");
    CHECK(boxes.sizes() == at::IntArrayRef{3, 4});
    CHECK(labels.sizes() == at::IntArrayRef{3});
    for (int64_t k = 0; k < 3; ++k) {
      bool real = k < static_cast<int64_t>(scene.objects.size());
      CHECK(labels[k].item<int64_t>() ==
            (real ? object_label(scene.objects[static_cast<size_t>(k)], ClassKind::shape_colour) : -1));
      CHECK(boxes[k][2].item<float>() == (real ? scene.objects[static_cast<size_t>(k)].box[2] : -1.0f));
    }
  }

  // Random captions vary with the generator; the loader batches the boxes.
  auto random = make("name: synthetic_scenes\nsize: 8\nsplit: heldout\n");
  std::set<std::string> captions;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 r(seed);
    captions.insert(random->get(3, r).text.at("caption"));
  }
  CHECK(captions.size() > 3);
  LoaderOptions lo;
  lo.batch_size = 4;
  Loader loader(random, lo, 0);
  Batch batch = *loader.next();
  CHECK(batch.at("boxes").sizes() == at::IntArrayRef{4, 1, 4});
  CHECK(batch.text.at("caption").size() == 4);

  CHECK_THROWS_WITH(make("name: synthetic_scenes\nsplit: val\n"), Catch::Contains("dataset.split"));
  CHECK_THROWS_WITH(make("name: synthetic_scenes\nlabl: shape\n"), Catch::Contains("did you mean 'dataset.label'"));
  CHECK_THROWS_WITH(make("name: synthetic_scenes\nnovel_shapes: [blob]\n"),
                    Catch::Contains("dataset.novel_shapes: no shape 'blob'"));
  CHECK_THROWS_WITH(make("name: synthetic_scenes\nsplit: heldout\nheldout_fraction: 0\n"),
                    Catch::Contains("dataset.heldout_fraction"));
  CHECK_THROWS_WITH(make("name: synthetic_scenes\ntransforms: [{name: flop}]\n"),
                    Catch::Contains("dataset.transforms"));
}

TEST_CASE("materialize_scenes: written once, read back by caption_table", "[world]") {
  fs::path dir = test::scratch("data_scene_world") / "scenes";
  SyntheticScenesOptions o;
  o.size = 12;
  o.world.max_objects = 2;
  materialize_scenes(dir.string(), o);
  CHECK(fs::exists(dir / "done"));
  SceneWorld w(o.world);

  for (const char* table : {"captions.jsonl", "captions.tsv"}) {
    auto ds = make(cat("name: caption_table\npath: ", (dir / table).string(), "\n"));
    REQUIRE(ds->size() == 12);
    std::mt19937_64 rng(0);
    Sample s = ds->get(5, rng);
    Scene scene = w.render(5);
    CHECK(std::find(scene.captions.begin(), scene.captions.end(), s.text.at("caption")) != scene.captions.end());
    CHECK((s.tensors.at("image") - to_tensor(scene.image)).abs().max().item<float>() == 0);
  }
  std::ifstream in(dir / "captions.jsonl");
  std::string line;
  std::getline(in, line);
  auto row = nlohmann::json::parse(line);
  Scene first = w.render(0);
  CHECK(row.at("label").get<int64_t>() == scene_label(first, ClassKind::shape));
  CHECK(row.at("boxes").size() == first.objects.size());
  CHECK(row.at("boxes")[0][3].get<float>() == first.objects[0].box[3]);

  // Same options: nothing rewritten (a deleted image stays deleted); other options: rebuilt.
  fs::remove(dir / "images" / "00003.png");
  materialize_scenes(dir.string(), o);
  CHECK_FALSE(fs::exists(dir / "images" / "00003.png"));
  o.size = 6;
  materialize_scenes(dir.string(), o);
  CHECK(fs::exists(dir / "images" / "00003.png"));
  CHECK_FALSE(fs::exists(dir / "images" / "00006.png"));
  for (const auto& entry : fs::directory_iterator(dir.parent_path())) CHECK(entry.path().filename() == "scenes");
}
