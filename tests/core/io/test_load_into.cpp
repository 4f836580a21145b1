// loom::weights::load_into: strict and non-strict loading, key maps, and the messages naming keys.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/io/weights.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::weights::NamedTensors;

struct StatsImpl : torch::nn::Module {
  StatsImpl() { mean = register_buffer("mean", torch::zeros({2})); }
  at::Tensor mean;
};
TORCH_MODULE(Stats);

struct NetImpl : torch::nn::Module {
  NetImpl() {
    seq = register_module("seq", torch::nn::Sequential(torch::nn::Linear(3, 4), torch::nn::Linear(4, 2)));
    stats = register_module("stats", Stats());
  }
  torch::nn::Sequential seq{nullptr};
  Stats stats{nullptr};
};
TORCH_MODULE(Net);

const std::vector<std::string> kNames{"seq.0.weight", "seq.0.bias", "seq.1.weight", "seq.1.bias", "stats.mean"};

// A file's worth of float64 tensors with distinct values, shaped like Net's.
NamedTensors file_tensors() {
  NamedTensors out;
  double start = 0;
  for (const auto& [name, t] : loom::weights::state_dict(*Net())) {
    out.emplace_back(name, torch::arange(start, start + t.numel(), torch::kFloat64).reshape(t.sizes()) / 8);
    start += t.numel();
  }
  return out;
}

std::string user_error(const std::function<void()>& f) {
  REQUIRE_THROWS_AS(f(), loom::UserError);
  try {
    f();
  } catch (const loom::UserError& e) {
    return e.what();
  }
  return {};
}

void require_loaded(const torch::nn::Module& net, const NamedTensors& file, const std::string& skip = "") {
  for (const auto& [name, t] : loom::weights::state_dict(net)) {
    if (name == skip) continue;
    INFO(name);
    REQUIRE(t.scalar_type() == torch::kFloat32);
    for (const auto& [fname, ft] : file)
      if (fname == name) REQUIRE(torch::equal(t, ft.to(torch::kFloat32)));
  }
}

}  // namespace

TEST_CASE("load_into: state_dict lists parameters then buffers by dotted name", "[io][load]") {
  std::vector<std::string> names;
  for (const auto& [name, t] : loom::weights::state_dict(*Net())) names.push_back(name);
  CHECK(names == kNames);
}

TEST_CASE("load_into: strict load copies everything and converts dtype", "[io][load]") {
  Net net;
  const NamedTensors file = file_tensors();
  auto report = loom::weights::load_into(*net, file);
  CHECK(report.ok());
  CHECK(report.loaded == kNames.size());
  require_loaded(*net, file);
  CHECK(net->seq->parameters()[0].requires_grad());
}

TEST_CASE("load_into: strict errors name the keys and the file, and leave the module alone", "[io][load]") {
  Net net;
  const at::Tensor before = net->seq->parameters()[0].clone();
  NamedTensors file = file_tensors();

  SECTION("missing key") {
    file.erase(file.begin() + 3);
    const std::string m = user_error([&] { loom::weights::load_into(*net, file, {}, "ckpt.pt"); });
    CHECK_THAT(m, Catch::Contains("seq.1.bias") && Catch::Contains("ckpt.pt") && Catch::Contains("missing"));
  }
  SECTION("unexpected key") {
    file.emplace_back("head.extra", torch::ones({1}));
    const std::string m = user_error([&] { loom::weights::load_into(*net, file, {}, "ckpt.pt"); });
    CHECK_THAT(m, Catch::Contains("head.extra") && Catch::Contains("unexpected"));
  }
  SECTION("shape mismatch") {
    file[0].second = torch::zeros({3, 4});
    const std::string m = user_error([&] { loom::weights::load_into(*net, file, {}, "ckpt.pt"); });
    CHECK_THAT(m, Catch::Contains("seq.0.weight: file [3, 4] vs module [4, 3]"));
  }
  CHECK(torch::equal(net->seq->parameters()[0], before));
}

TEST_CASE("load_into: non-strict load copies what matches and reports the rest", "[io][load]") {
  Net net;
  const at::Tensor mean_before = net->stats->mean.clone();
  NamedTensors file = file_tensors();
  file.pop_back();                               // stats.mean missing
  file.emplace_back("extra", torch::ones({1}));  // unexpected
  file[2].second = torch::zeros({1, 1});         // seq.1.weight mismatched
  auto report = loom::weights::load_into(*net, file, {.strict = false});
  CHECK(report.missing == std::vector<std::string>{"stats.mean"});
  CHECK(report.unexpected == std::vector<std::string>{"extra"});
  REQUIRE(report.shape_mismatched.size() == 1);
  CHECK_THAT(report.shape_mismatched[0], Catch::StartsWith("seq.1.weight"));
  CHECK(report.loaded == 3);
  CHECK_THAT(report.summary(), Catch::Contains("stats.mean") && Catch::Contains("extra"));
  CHECK(torch::equal(net->stats->mean, mean_before));
  CHECK(torch::equal(net->seq->parameters()[0], file[0].second.to(torch::kFloat32)));
}

TEST_CASE("load_into: key maps rename and drop keys", "[io][load]") {
  NamedTensors file;
  for (const auto& [name, t] : file_tensors()) file.emplace_back("module." + name, t);

  Net net;
  auto report = loom::weights::load_into(*net, file, {.key_map = loom::weights::prefix_key_map({{"module.", ""}})});
  CHECK(report.ok());
  require_loaded(*net, file_tensors());

  file.emplace_back("module.optimizer_step", torch::zeros({}));
  auto drop = [](const std::string& key) -> std::optional<std::string> {
    if (key.ends_with("optimizer_step")) return std::nullopt;
    return key.substr(std::string("module.").size());
  };
  CHECK(loom::weights::load_into(*net, file, {.key_map = drop}).ok());

  // Unmapped, every key is unexpected and every module key missing.
  const std::string m = user_error([&] { loom::weights::load_into(*net, file); });
  CHECK_THAT(m, Catch::Contains("module.seq.0.weight") && Catch::Contains("stats.mean"));

  const std::string clash = user_error([&] {
    loom::weights::load_into(*net, {{"a.x", torch::ones({1})}, {"b.x", torch::ones({1})}},
                             {.key_map = loom::weights::prefix_key_map({{"a.", ""}, {"b.", ""}})});
  });
  CHECK_THAT(clash, Catch::Contains("'a.x'") && Catch::Contains("'b.x'"));
}

TEST_CASE("load_into: load_file reads a saved module back", "[io][load]") {
  const auto dir = loom::test::scratch("weights_load_file");
  Net source, target;
  const std::string path = (dir / "net.safetensors").string();
  loom::weights::write(path, loom::weights::state_dict(*source));
  CHECK(loom::weights::load_file(*target, path).loaded == kNames.size());
  require_loaded(*target, loom::weights::state_dict(*source));

  const std::string m = user_error([&] { loom::weights::load_file(*Net(), (dir / "absent.pt").string()); });
  CHECK_THAT(m, Catch::Contains("absent.pt"));
}
