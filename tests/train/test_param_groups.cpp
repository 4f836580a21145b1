// Parameter groups by name (train/optim/param_groups.h): per-pattern lr multipliers and weight decay,
// ViT layer decay on open_clip names, the schedule on top, resume-safe group order, and config errors.
#include <map>
#include <mutex>
#include <sstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config/config_error.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
#include "models/model.h"
#include "support/trainer_test_util.h"
#include "train/components.h"
#include "train/optim/param_groups.h"
#include "train/recipe.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

// Known names: backbone.{0,1}.{weight,bias}, norm.{weight,bias}, head.{weight,bias}.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    backbone = register_module("backbone", torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::Linear(8, 8)));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({8})));
    head = register_module("head", torch::nn::Linear(8, 3));
  }
  at::Tensor forward(const at::Tensor& x) { return head->forward(norm->forward(backbone->forward(x))); }
  torch::nn::Sequential backbone{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Net);

struct Placement {
  size_t group;
  double lr;
  double weight_decay;
};

// Where each named parameter ended up in an AdamW optimizer.
std::map<std::string, Placement> placements(const torch::optim::Optimizer& optimizer, const NamedParameters& params) {
  std::map<std::string, Placement> out;
  const auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(groups[g].options());
    for (const auto& p : groups[g].params())
      for (const auto& [name, q] : params)
        if (q.is_same(p)) out[name] = {g, o.lr(), o.weight_decay()};
  }
  REQUIRE(out.size() == params.size());  // every parameter in exactly one group
  return out;
}

const char* const kRules =
    "name: adamw\nlr: 0.01\nweight_decay: 0.05\n"
    "groups:\n"
    "  - {match: 'backbone.*', lr_mult: 0.1}\n"
    "  - {match: head.weight, weight_decay: 0.2}\n"
    "  - {match: '*.bias', lr_mult: 2}\n";

}  // namespace

TEST_CASE("group rules set lr multipliers and weight decay by name, the first match wins", "[optim]") {
  Net net;
  auto params = named_parameters(*net);
  auto optimizer = make_optimizer(params, yaml(kRules), "optimizer");
  auto at = placements(*optimizer, params);
  // backbone.* takes the backbone biases before '*.bias' can; 1-D tensors keep no decay in any group.
  CHECK(at["backbone.0.weight"].lr == Approx(0.001));
  CHECK(at["backbone.0.weight"].weight_decay == 0.05);
  CHECK(at["backbone.1.bias"].lr == Approx(0.001));
  CHECK(at["backbone.1.bias"].weight_decay == 0.0);
  CHECK(at["head.weight"].lr == Approx(0.01));
  CHECK(at["head.weight"].weight_decay == 0.2);
  CHECK(at["head.bias"].lr == Approx(0.02));
  CHECK(at["norm.bias"].lr == Approx(0.02));
  CHECK(at["norm.bias"].weight_decay == 0.0);
  CHECK(at["norm.weight"].lr == Approx(0.01));  // no entry matches: the section's lr
  CHECK(at["norm.weight"].weight_decay == 0.0);
  // Order: unmatched first, then entries in config order, decayed before excluded.
  CHECK(at["norm.weight"].group == 0);
  CHECK(at["backbone.0.weight"].group == 1);
  CHECK(at["backbone.0.bias"].group == 2);
  CHECK(at["head.weight"].group == 3);
  CHECK(at["head.bias"].group == 4);
  CHECK(optimizer->param_groups().size() == 5);

  // The start-up table: a title, a header and one row per group with tensors and parameter counts.
  ParamGroupOptions options = read_config<AdamOptions>(yaml(kRules), "optimizer").grouping;
  auto plan = plan_parameter_groups(params, options, DecayExclusions{}, 0.05, yaml(kRules), "optimizer");
  auto table = parameter_group_table(plan, 0.01, "optimizer (adamw)");
  REQUIRE(table.size() == 2 + 5);
  CHECK_THAT(table[0], Catch::Contains("5 parameter groups, 8 tensors, 155 parameters"));
  CHECK_THAT(table[1], Catch::Contains("group") && Catch::Contains("weight_decay") && Catch::Contains("parameters"));
  CHECK_THAT(table[3], Catch::Contains("groups[0] 'backbone.*'") && Catch::Contains("0.001") &&
                           Catch::Contains(" 2 ") && Catch::EndsWith("96"));
  CHECK_THAT(table[4], Catch::Contains("groups[0] 'backbone.*', no decay") && Catch::EndsWith("16"));

  // Without entries the layout is the one older checkpoints hold: [decay, no decay].
  auto plain = make_optimizer(params, yaml("name: adamw\nweight_decay: 0.1\n"), "optimizer");
  auto p = placements(*plain, params);
  REQUIRE(plain->param_groups().size() == 2);
  CHECK(p["head.weight"].group == 0);
  CHECK(p["head.bias"].group == 1);
}

TEST_CASE("globs match the whole name", "[optim]") {
  CHECK(glob_match("backbone.*", "backbone.0.weight"));
  CHECK_FALSE(glob_match("backbone.", "backbone.0.weight"));
  CHECK(glob_match("*.bias", "a.b.bias"));
  CHECK_FALSE(glob_match("*.bias", "a.bias_k"));
  CHECK(glob_match("*norm*", "visual.ln_post.norm_weight"));
  CHECK(glob_match("blocks.?.attn*", "blocks.3.attn.qkv"));
  CHECK_FALSE(glob_match("blocks.?.attn*", "blocks.10.attn.qkv"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("a*b*c", "aXbYbZc"));
}

TEST_CASE("ViT layer ids follow the ViTDet rule with open_clip names", "[optim]") {
  CHECK(vit_layer_id("patch_embed.proj.weight", 12) == 0);
  CHECK(vit_layer_id("backbone.net.pos_embed", 12) == 0);
  CHECK(vit_layer_id("cls_token", 12) == 0);
  CHECK(vit_layer_id("blocks.0.attn.qkv.weight", 12) == 1);
  CHECK(vit_layer_id("backbone.net.blocks.11.mlp.fc1.weight", 12) == 12);
  CHECK(vit_layer_id("norm.weight", 12) == 13);
  CHECK(vit_layer_id("head.weight", 12) == 13);
  CHECK(vit_layer_id("visual.conv1.weight", 2) == 0);
  CHECK(vit_layer_id("visual.class_embedding", 2) == 0);
  CHECK(vit_layer_id("visual.positional_embedding", 2) == 0);
  CHECK(vit_layer_id("visual.ln_pre.bias", 2) == 0);
  CHECK(vit_layer_id("visual.transformer.resblocks.1.attn.in_proj_weight", 2) == 2);
  CHECK(vit_layer_id("visual.ln_post.weight", 2) == 3);
  CHECK(vit_layer_id("visual.proj", 2) == 3);
  CHECK_FALSE(vit_block_index("blocks.x.weight"));
}

TEST_CASE("layer decay on the tiny CLIP vision tower combines with multipliers and the lazy ratio", "[optim]") {
  ConfigNode config = load_config((source_dir() / "configs/clip/models/tiny.yaml").string());
  std::shared_ptr<Model> model = make_model(required_section(config, "model"), "model");
  auto params = named_parameters(*model);
  // Two vision blocks, decay 0.5: embeddings 0.5^3, block 0 0.5^2, block 1 0.5, ln_post/proj 1; the text
  // tower is outside layer_decay_match and keeps 1.
  auto expected = [](const std::string& name) {
    if (name.starts_with("visual.transformer.resblocks.0.")) return 0.25;
    if (name.starts_with("visual.transformer.resblocks.1.")) return 0.5;
    if (name == "visual.conv1.weight" || name == "visual.class_embedding" || name == "visual.positional_embedding" ||
        name.starts_with("visual.ln_pre."))
      return 0.125;
    return 1.0;
  };
  const std::string section =
      "name: adamw\nlr: 0.004\nweight_decay: 0.1\nlayer_decay: 0.5\nlayer_decay_match: 'visual.*'\n";
  auto optimizer = make_optimizer(params, yaml(section), "optimizer");
  int embeddings = 0, heads = 0;
  for (const auto& [name, at] : placements(*optimizer, params)) {
    INFO(name);
    CHECK(at.lr == Approx(0.004 * expected(name)));
    embeddings += expected(name) == 0.125;
    heads += name.starts_with("visual.ln_post.") || name == "visual.proj";
  }
  CHECK(embeddings == 5);  // conv1.weight, class_embedding, positional_embedding, ln_pre.{weight,bias}
  CHECK(heads == 3);

  // An lr multiplier multiplies the layer scale; lazy regularisation (c = 16/17) scales every group.
  const double c = 16.0 / 17.0;
  auto lazy = optimizer_registry().get("adamw")(
      params, yaml(section + "betas: [0.9, 0.99]\ngroups: [{match: 'visual.transformer.resblocks.1.*', lr_mult: 2}]\n"),
      OptimizerContext(c, "optimizer"));
  for (const auto& [name, at] : placements(*lazy, params)) {
    INFO(name);
    double mult = name.starts_with("visual.transformer.resblocks.1.") ? 2.0 : 1.0;
    CHECK(at.lr == Approx(0.004 * c * mult * expected(name)));
  }
  for (const auto& group : lazy->param_groups())
    CHECK(std::get<1>(static_cast<const torch::optim::AdamWOptions&>(group.options()).betas()) ==
          Approx(std::pow(0.99, c)));
}

TEST_CASE("optimizer state restores group by group into a freshly built optimizer", "[optim][resume]") {
  auto build = [](Net& net) { return make_optimizer(named_parameters(*net), yaml(kRules), "optimizer"); };
  torch::manual_seed(0);
  Net a;
  auto first = build(a);
  for (int s = 0; s < 2; ++s) {
    first->zero_grad();
    a->forward(torch::randn({5, 4})).square().sum().backward();
    first->step();
  }
  std::ostringstream bytes;
  {
    torch::serialize::OutputArchive archive;
    first->save(archive);
    archive.save_to(bytes);
  }
  Net b;
  auto second = build(b);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  second->load(archive);
  // The same names land in the same groups, so each parameter gets its own moments back.
  auto pa = named_parameters(*a), pb = named_parameters(*b);
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    auto& sa = static_cast<torch::optim::AdamParamState&>(*first->state().at(pa[i].second.unsafeGetTensorImpl()));
    auto& sb = static_cast<torch::optim::AdamParamState&>(*second->state().at(pb[i].second.unsafeGetTensorImpl()));
    CHECK(torch::equal(sa.exp_avg(), sb.exp_avg()));
    CHECK(torch::equal(sa.exp_avg_sq(), sb.exp_avg_sq()));
  }
}

namespace {

class PointsDataset : public data::Dataset {
 public:
  int64_t size() const override { return 64; }
  data::Sample get(int64_t index, std::mt19937_64&) const override {
    data::Sample s;
    s.tensors["x"] = torch::full({4}, static_cast<float>(index % 7) / 7.0f);
    return s;
  }
  std::string describe() const override { return "64 points"; }
};

// One phase training Net through add_main_phase (optimizer and schedule sections); keeps its optimizer
// where the test can read the group learning rates after the run.
class GroupsRecipe : public Recipe {
 public:
  static inline std::shared_ptr<torch::optim::Optimizer> last_optimizer;
  static inline NamedParameters last_parameters;

  explicit GroupsRecipe(const ConfigNode& config) : config_(config) {}
  std::vector<std::string> sections() const override { return {"optimizer", "schedule"}; }
  TrainSetup setup(const RecipeContext&) override {
    net_ = Net();  // here, after the trainer seeded the generators
    TrainSetup s;
    s.train_data = std::make_shared<PointsDataset>();
    s.modules = {{"model", net_.ptr()}};
    add_main_phase(
        s, *net_, required_section(config_, "optimizer"), required_section(config_, "schedule"),
        [this](const data::Batch& b, const StepInfo&) { return LossOutput{net_->forward(b.at("x")).square().mean()}; });
    last_optimizer = s.optimizers.at("main").optimizer;
    last_parameters = named_parameters(*net_);
    return s;
  }
  Scalars evaluate(const EvalContext&) override { return {}; }

 private:
  ConfigNode config_;
  Net net_{nullptr};
};

TrainResult train_groups(const std::filesystem::path& root, const std::string& id,
                         const std::vector<std::string>& overrides = {}) {
  static std::once_flag once;
  std::call_once(once, [] {
    recipe_registry().add(
        "test_param_groups", [](const ConfigNode& c) { return std::make_shared<GroupsRecipe>(c); }, "test: groups");
  });
  stop_signal::reset();
  ConfigNode config = yaml(cat(
      "recipe: {name: test_param_groups}\n",
      "optimizer: {name: adamw, lr: 0.01, weight_decay: 0.05, groups: [{match: 'backbone.*', lr_mult: 0.1}]}\n",
      "schedule: {name: step, milestones: [2], gamma: 0.5}\n", "output: {root: ", root.string(), ", name: groups, id: ",
      id, "}\n", "train:\n  steps: 4\n  seed: 5\n  threads: 1\n  log_every: 2\n  checkpoint_every: 2\n",
      "  loader: {batch_size: 8, workers: 1}\n"));
  for (const auto& o : overrides) apply_override(config, o);
  return train(config, "groups.yaml");
}

}  // namespace

TEST_CASE("the schedule multiplies each group's own lr and a resumed run equals an uninterrupted one",
          "[optim][resume]") {
  auto root = scratch("param_groups_train");
  TrainResult whole = train_groups(root, "whole");
  REQUIRE(whole.steps == 4);
  // The last step (3) is past the milestone: factor 0.5 on top of each group's multiplier.
  auto at = placements(*GroupsRecipe::last_optimizer, GroupsRecipe::last_parameters);
  CHECK(at["backbone.0.weight"].lr == Approx(0.01 * 0.1 * 0.5));
  CHECK(at["backbone.0.bias"].lr == Approx(0.01 * 0.1 * 0.5));
  CHECK(at["head.weight"].lr == Approx(0.01 * 0.5));
  CHECK(at["norm.bias"].lr == Approx(0.01 * 0.5));

  TrainResult first = train_groups(root, "split", {"train.steps=2"});
  REQUIRE(first.steps == 2);
  TrainResult second = train_groups(root, "split", {"resume=auto"});
  REQUIRE(second.steps == 4);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(second.last_checkpoint));
  at = placements(*GroupsRecipe::last_optimizer, GroupsRecipe::last_parameters);
  CHECK(at["backbone.1.weight"].lr == Approx(0.01 * 0.1 * 0.5));
  CHECK(at["backbone.1.weight"].weight_decay == 0.05);

  // A rule that matches nothing stops `loom train` as a config error (exit 2), naming the key.
  CHECK_THROWS_AS(train_groups(root, "bad", {"optimizer.groups.0.match=backbone."}), ConfigError);
}

TEST_CASE("bad group rules and layer decay are config errors naming the real section path", "[optim]") {
  Net net;
  auto params = named_parameters(*net);
  auto build = [&](const std::string& text, const std::string& path) {
    return make_optimizer(params, yaml(text), path);
  };
  CHECK_THROWS_WITH(build("name: adamw\ngroups: [{match: 'head.*'}, {match: backbone.}]\n", "d_optimizer"),
                    Catch::Contains("test.yaml:2: d_optimizer.groups[1].match: 'backbone.' matches no parameter") &&
                        Catch::Contains("first names: backbone.0.weight, backbone.0.bias") &&
                        Catch::Contains("did you mean 'backbone.*'?"));
  CHECK_THROWS_WITH(
      build("name: adamw\ngroups: [{match: '*'}, {match: '*.bias'}]\n", "optimizer"),
      Catch::Contains(
          "optimizer.groups[1].match: '*.bias' matches only parameters that groups[0] ('*') already takes"));
  CHECK_THROWS_WITH(build("name: adamw\ngroups: [{match: '*', lr_mul: 2}]\n", "d_optimizer"),
                    Catch::Contains("did you mean 'd_optimizer.groups[0].lr_mult'?"));
  CHECK_THROWS_WITH(build("name: adamw\ngroups: [{lr_mult: 2}]\n", "d_optimizer"),
                    Catch::Contains("d_optimizer.groups[0].match: missing required value"));
  CHECK_THROWS_WITH(build("name: adamw\nlayer_decay: 0\n", "optimizer"),
                    Catch::Contains("optimizer.layer_decay: must be in (0, 1]"));
  CHECK_THROWS_WITH(build("name: sgd\nlayer_decay: 1.5\n", "d_optimizer"),
                    Catch::Contains("d_optimizer.layer_decay: must be in (0, 1]"));
  CHECK_THROWS_WITH(build("name: adamw\nlayer_decay: 0.7\n", "optimizer"),
                    Catch::Contains("optimizer.layer_decay: no parameter") && Catch::Contains("numbered block"));
  CHECK_THROWS_WITH(build("name: adamw\nlayer_decay: 0.7\nlayer_decay_match: 'visual.*'\n", "optimizer"),
                    Catch::Contains("optimizer.layer_decay_match: 'visual.*' matches no parameter"));
  // Errors in any option name the section the factory was given, not "optimizer".
  CHECK_THROWS_WITH(build("name: adam\nlr: -1\n", "d_optimizer"), Catch::Contains("d_optimizer.lr"));
  CHECK_THROWS_WITH(build("name: adam\nbetas: [0.9]\n", "d_optimizer"),
                    Catch::Contains("d_optimizer.betas: expected 2 values"));
  CHECK_THROWS_WITH(build("name: sgd\nmomentum: 2\n", "d_optimizer"), Catch::Contains("d_optimizer.momentum"));
  CHECK_THROWS_AS(build("name: adamw\ngroups: [{match: nothing}]\n", "optimizer"), ConfigError);
}
