// The helpers recipes build with (train/components.h): declared sections, factories that name the full
// section path, the typed model factory and the evaluation pass.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "data/dataset.h"
#include "models/clip/clip.h"
#include "train/components.h"

using namespace loom;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Sample i: tensor "x" = i, ragged-free, text "name" = "s<i>".
class Counting : public data::Dataset {
 public:
  int64_t size() const override { return 10; }
  data::Sample get(int64_t index, std::mt19937_64&) const override {
    data::Sample s;
    s.tensors["x"] = torch::tensor(static_cast<float>(index));
    s.text["name"] = cat("s", index);  // not "s" + std::to_string: GCC 12 -O3 warns falsely (stringop-overflow)
    return s;
  }
  std::string describe() const override { return "counting (10 samples)"; }
};

struct EvalSection {
  int64_t batch_size = 1;

  template <class V>
  void visit(V& v) {
    v("batch_size", batch_size);
  }
};

}  // namespace

TEST_CASE("factories name the full section path in their errors", "[components][config]") {
  register_all();
  CHECK_THAT(error_of([] { make_dataset(parse_yaml("name: synthetic_shapes\nsplitt: val\n", "d.yaml"), "data.val"); }),
             Catch::Contains("d.yaml:2: unknown key 'data.val.splitt'; did you mean 'data.val.split'?"));
  CHECK_THAT(error_of([] { make_model(parse_yaml("name: convnet\nwidht: 3\n", "m.yaml"), "teacher"); }),
             Catch::Contains("m.yaml:2: unknown key 'teacher.widht'; did you mean 'teacher.widths'?"));
  const ConfigNode schedule = parse_yaml("name: warmup_cosine\nwarmup_step: 3\ntotal_steps: 10\n", "s.yaml");
  CHECK_THAT(error_of([&] { make_schedule(&schedule, "d_schedule"); }),
             Catch::Contains("unknown key 'd_schedule.warmup_step'; did you mean 'd_schedule.warmup_steps'?"));
  CHECK_THAT(error_of([] { make_loss(parse_yaml("name: clip\nlabel_smoothin: 0.1\n", "l.yaml"), "aux_loss"); }),
             Catch::Contains("unknown key 'aux_loss.label_smoothin'; did you mean 'aux_loss.label_smoothing'?"));
}

TEST_CASE("make_model<T> names the section when the model is of another kind", "[components][config]") {
  register_all();
  const ConfigNode convnet = parse_yaml("name: convnet\nwidths: [4]\nnum_classes: 2\n", "m.yaml");
  CHECK_THAT(error_of([&] { make_model<Clip>(convnet, "student", "needs a CLIP model"); }),
             Catch::Contains("m.yaml:1: student.name: needs a CLIP model"));
  CHECK(make_model<Model>(convnet, "model", "unused") != nullptr);
}

TEST_CASE("RecipeSections reads the declared sections and answers sections()", "[components][config]") {
  const ConfigNode config = parse_yaml("recipe: {name: x}\nmodel: {name: convnet}\neval: {batch_size: 3}\n", "r.yaml");
  RecipeSections sections(config, {{"model"}, {"eval", false}, {"schedule", false}});
  CHECK(sections.keys() == std::vector<std::string>{"model", "eval", "schedule"});
  CHECK(sections.find("schedule") == nullptr);
  CHECK(sections.at("schedule").is_null());
  CHECK(sections.at("model").find("name")->scalar() == "convnet");
  CHECK(sections.at("recipe").find("name")->scalar() == "x");
  CHECK(sections.read<EvalSection>("eval").batch_size == 3);
  CHECK(sections.read<EvalSection>("schedule").batch_size == 1);  // absent: the defaults
  CHECK_THROWS_AS(sections.find("data"), std::logic_error);       // read but never declared: a bug
  CHECK_THROWS_WITH(RecipeSections(config, {{"data"}}), Catch::Contains("the config has no 'data' section"));
}

TEST_CASE("for_each_eval_batch passes every sample once, in order, cut at the limit", "[components][data]") {
  auto dataset = std::make_shared<Counting>();
  for (int64_t limit : {0, 6, 8, 20}) {
    INFO("limit " << limit);
    std::vector<int64_t> sizes;
    std::vector<float> xs;
    std::vector<std::string> names;
    const int64_t passed = eval::for_each_eval_batch(
        dataset, {.batch_size = 4, .workers = 0, .limit = limit}, c10::kCPU, [&](const data::Batch& batch) {
          sizes.push_back(batch.size());
          CHECK(batch.at("x").size(0) == batch.size());
          CHECK(static_cast<int64_t>(batch.text.at("name").size()) == batch.size());
          for (int64_t i = 0; i < batch.size(); ++i) xs.push_back(batch.at("x")[i].item<float>());
          names.insert(names.end(), batch.text.at("name").begin(), batch.text.at("name").end());
        });
    const int64_t expected = limit == 0 ? 10 : std::min<int64_t>(limit, 10);
    CHECK(passed == expected);
    REQUIRE(static_cast<int64_t>(xs.size()) == expected);
    for (int64_t i = 0; i < expected; ++i) {
      CHECK(xs[static_cast<size_t>(i)] == static_cast<float>(i));
      CHECK(names[static_cast<size_t>(i)] == cat("s", i));
    }
    CHECK(sizes.back() == (expected % 4 == 0 ? 4 : expected % 4));
  }
}
