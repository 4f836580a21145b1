// rosinality/stylegan2-pytorch → NVlabs generator key map (models/stylegan2/rosinality_layout.h) against
// the same random weights written in both layouts by tests/python/stylegan2_layouts.py, plus that
// script's checks of scripts/convert_stylegan2.py and of the two layouts' forward semantics.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "core/error.h"
#include "core/io/weights.h"
#include "models/stylegan2/rosinality_layout.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using State = std::map<std::string, at::Tensor>;

State read_state(const fs::path& path) {
  State state;
  for (auto& [name, t] : loom::weights::read(path.string())) state.emplace(name, t);
  return state;
}

void require_same(const State& got, const State& want) {
  for (const auto& [name, t] : want) {
    INFO(name);
    REQUIRE(got.count(name));
    const at::Tensor& g = got.at(name);
    REQUIRE(g.scalar_type() == t.scalar_type());
    REQUIRE(g.sizes() == t.sizes());
    REQUIRE(torch::equal(g, t));
  }
  for (const auto& [name, t] : got) {
    INFO("unexpected output " << name);
    REQUIRE(want.count(name));
  }
}

// The rosinality files, written once per test run.
const fs::path& layouts() {
  static const fs::path dir = [] {
    fs::path d = loom::test::scratch("stylegan2_layouts");
    REQUIRE(loom::test::run_python("stylegan2_layouts.py", "write " + d.string()) == 0);
    return d;
  }();
  return dir;
}

void require_user_error(const State& state, const std::string& source, const std::string& also) {
  try {
    loom::generator_from_rosinality(state, source);
    FAIL("no UserError");
  } catch (const loom::UserError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(source) != std::string::npos);
    CHECK(message.find(also) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("stylegan2 rosinality layout: generator maps exactly onto the NVlabs layout", "[io][stylegan2]") {
  const fs::path& dir = layouts();
  const State nvlabs = read_state(dir / "nvlabs_g.safetensors");
  REQUIRE(!loom::is_rosinality_generator(nvlabs));
  for (const char* file : {"rosinality_g.safetensors", "rosinality_g.pt"}) {
    INFO(file);
    State ros = read_state(dir / file);
    REQUIRE(loom::is_rosinality_generator(ros));

    // Without latent_avg, w_avg is zero.
    State mapped = loom::generator_from_rosinality(ros, file);
    State want = nvlabs;
    want["mapping.w_avg"] = torch::zeros_like(nvlabs.at("mapping.w_avg"));
    require_same(mapped, want);

    // With it (it sits beside g_ema in rosinality checkpoints), everything matches.
    ros["latent_avg"] = read_state(dir / "rosinality_latent_avg.safetensors").at("latent_avg");
    require_same(loom::generator_from_rosinality(ros, file), nvlabs);
  }
}

TEST_CASE("stylegan2 rosinality layout: bad input is a user error naming source and key", "[io][stylegan2]") {
  const State ros = read_state(layouts() / "rosinality_g.safetensors");

  State extra = ros;
  extra["convs.0.mystery"] = torch::zeros({1});
  require_user_error(extra, "ckpt.pt", "convs.0.mystery");

  State missing = ros;
  missing.erase("convs.1.activate.bias");
  require_user_error(missing, "ckpt.pt", "synthesis.b8.conv1.bias");

  State bad_shape = ros;
  bad_shape["conv1.conv.weight"] = bad_shape["conv1.conv.weight"][0];
  require_user_error(bad_shape, "ckpt.pt", "conv1.conv.weight");

  State custom_blur = ros;
  custom_blur["convs.0.conv.blur.kernel"] = torch::ones({4, 4});
  require_user_error(custom_blur, "ckpt.pt", "blur kernel");

  REQUIRE(!loom::is_rosinality_generator(State{{"weight", torch::zeros({1})}}));
}

TEST_CASE("stylegan2 rosinality layout: convert_stylegan2.py and forward semantics", "[io][stylegan2]") {
  const std::string dir = layouts().string();
  CHECK(loom::test::run_python("stylegan2_layouts.py", "check-convert " + dir) == 0);
  CHECK(loom::test::run_python("stylegan2_layouts.py", "check-semantics " + dir) == 0);
}
