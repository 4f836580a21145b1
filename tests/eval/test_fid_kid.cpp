// FID, KID and their feature extractors: Inception-v3 against pytorch-fid's FID network (random weights,
// tests/python/fid_reference.py), the Fréchet distance against scipy.linalg.sqrtm and an analytic case,
// KID against NVlabs' formula in numpy, the fallback extractor, statistics files and weight errors.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>

#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/error.h"
#include "eval/metrics/fallback_extractor.h"
#include "eval/metrics/feature_extractor.h"
#include "eval/metrics/fid.h"
#include "eval/metrics/inception_v3.h"
#include "eval/metrics/kid.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

using namespace loom::eval;
using loom::test::relative_error;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const loom::UserError& e) {
    return e.what();
  }
  return "(no UserError)";
}

// Images of a smooth colour ramp per sample: visibly unlike uniform noise.
at::Tensor ramps(int64_t n, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  const at::Tensor t = torch::linspace(0, 1, size);
  const at::Tensor colour = torch::rand({n, 3, 1, 1});
  return (colour * t.view({1, 1, 1, size}) + (1 - colour) * t.view({1, 1, size, 1})).clamp(0, 1);
}

}  // namespace

TEST_CASE("Inception-v3 matches pytorch-fid's FID network and loads its state dicts", "[eval][fid]") {
  const auto dir = loom::test::scratch("fid_inception");
  REQUIRE(loom::test::run_python("fid_reference.py", "inception " + dir.string()) == 0);
  const auto ref = loom::test::read_reference((dir / "inception_features.safetensors").string());

  InceptionV3 net;
  net->load_weights((dir / "inception_state.safetensors").string());
  torch::NoGradGuard no_grad;
  for (const char* size : {"64", "299"}) {
    const at::Tensor out = net->forward(ref.at(std::string("images") + size));
    REQUIRE(out.sizes() == ref.at(std::string("features") + size).sizes());
    const double err = relative_error(out, ref.at(std::string("features") + size));
    INFO(size << "x" << size << " relative error " << err);
    CHECK(err <= 1e-4);
    WARN("Inception pool3 " << size << "x" << size << " relative error vs pytorch-fid: " << err);
  }

  // scripts/convert_inception.py turns both key layouts into exactly the same tensors.
  const auto state = loom::weights::state_dict(*net);
  for (const char* file : {"pytorch_fid_wrapper", "inception3_state"}) {
    const auto converted = dir / (std::string(file) + ".safetensors");
    const auto r = loom::test::run_command(
        loom::test::python() + " " + (loom::test::source_dir() / "scripts" / "convert_inception.py").string() + " " +
        (dir / (std::string(file) + ".pth")).string() + " " + converted.string());
    INFO(r.output);
    REQUIRE(r.code == 0);
    InceptionV3 other;
    other->load_weights(converted.string());
    const auto other_state = loom::weights::state_dict(*other);
    REQUIRE(other_state.size() == state.size());
    for (size_t i = 0; i < state.size(); ++i) {
      INFO(state[i].first);
      CHECK(other_state[i].first == state[i].first);
      CHECK(torch::equal(other_state[i].second, state[i].second));
    }
  }

  FeatureExtractorOptions options;
  options.weights = (dir / "pytorch_fid_wrapper.safetensors").string();
  options.batch_size = 2;  // several batches
  const auto extractor = make_feature_extractor(options, torch::kCPU);
  CHECK(extractor->comparable_to_published());
  CHECK(extractor->dim() == 2048);
  const at::Tensor batched = extractor->features(ref.at("images64"));
  CHECK(relative_error(batched, ref.at("features64")) <= 1e-4);
}

TEST_CASE("Frechet distance agrees with scipy's sqrtm formula", "[eval][fid]") {
  const auto dir = loom::test::scratch("fid_stats");
  const std::string path = (dir / "stats.safetensors").string();
  REQUIRE(loom::test::run_python("fid_reference.py", "stats " + path) == 0);
  const auto ref = loom::test::read_reference(path);
  for (const std::string c : {"d64", "d512"}) {
    const at::Tensor a = ref.at(c + ".a"), b = ref.at(c + ".b");
    const double fid = frechet_distance(a, b), expected = ref.at(c + ".fid_scipy").item<double>();
    INFO(c << ": loom " << fid << ", scipy " << expected);
    WARN("FID " << c << " relative difference to scipy sqrtm: " << std::abs(fid - expected) / std::abs(expected));
    CHECK(std::abs(fid - expected) <= 1e-6 * std::abs(expected));
    if (ref.count(c + ".fid_pytorch_fid"))
      CHECK(std::abs(fid - ref.at(c + ".fid_pytorch_fid").item<double>()) <= 1e-6 * std::abs(expected));
    // A set against itself: zero up to rounding (relative to the size of the terms that cancel).
    const FeatureStatistics s = feature_statistics(a);
    const double self = frechet_distance(s, s);
    CHECK(std::abs(self) <= 1e-9 * s.covariance.diagonal().sum().item<double>());

    const KidResult kid = kernel_inception_distance(a, b, 1, 1000);
    const double kid_ref = ref.at(c + ".kid").item<double>();
    INFO("KID loom " << kid.mean << ", numpy " << kid_ref);
    CHECK(kid.subset_size == a.size(0));
    CHECK(std::abs(kid.mean - kid_ref) <= 1e-9 * std::abs(kid_ref));
    CHECK(kid.std == 0.0);
  }
}

TEST_CASE("Frechet distance of Gaussians with known statistics", "[eval][fid]") {
  // Σa = Q diag(da) Qᵀ and Σb = Q diag(db) Qᵀ commute: FID = |Δμ|² + Σ (√da − √db)².
  torch::manual_seed(3);
  const int64_t d = 6;
  const auto f64 = torch::kFloat64;
  const at::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({d, d}, f64)));
  const at::Tensor da = torch::tensor({4.0, 1.0, 0.25, 9.0, 0.0, 2.0}, f64),
                   db = torch::tensor({1.0, 1.0, 1.0, 4.0, 1.0, 0.5}, f64);
  FeatureStatistics a{torch::tensor({1.0, 0.0, 0.0, 0.0, 0.0, 2.0}, f64), q.matmul(torch::diag(da)).matmul(q.t()), 100,
                      ""};
  FeatureStatistics b{torch::zeros({d}, f64), q.matmul(torch::diag(db)).matmul(q.t()), 100, ""};
  const double expected = 5.0 + (da.sqrt() - db.sqrt()).pow(2).sum().item<double>();
  CHECK(frechet_distance(a, b) == Approx(expected).epsilon(1e-10));
  CHECK(frechet_distance(b, a) == Approx(expected).epsilon(1e-10));
  // Samples of N(μ, I) and N(μ + 1, I) in 3-d: FID → 3 as the sample grows.
  const at::Tensor x = torch::randn({20000, 3}, f64), y = torch::randn({20000, 3}, f64) + 1;
  CHECK(frechet_distance(x, y) == Approx(3.0).margin(0.1));

  a.extractor = "one";
  b.extractor = "two";
  CHECK_THAT(error_of([&] { frechet_distance(a, b); }), Catch::Contains("different extractors"));
}

TEST_CASE("feature statistics accumulate in batches and survive a large offset", "[eval][fid]") {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({500, 8}, torch::kFloat64) * 0.01 + 1e4;
  StatisticsAccumulator acc;
  for (int64_t s = 0; s < 500; s += 37) acc.add(x.slice(0, s, std::min<int64_t>(500, s + 37)).to(torch::kFloat));
  const FeatureStatistics batched = acc.finish();
  const at::Tensor xf = x.to(torch::kFloat).to(torch::kFloat64);
  const at::Tensor centred = xf - xf.mean(0);
  const at::Tensor cov = centred.t().matmul(centred) / 499;
  CHECK(batched.count == 500);
  CHECK(relative_error(batched.covariance, cov) <= 1e-9);
  CHECK(relative_error(batched.mean, xf.mean(0)) <= 1e-12);
  CHECK_THAT(error_of([] { feature_statistics(torch::ones({1, 3})); }), Catch::Contains("at least 2"));
}

TEST_CASE("KID subsets are deterministic per seed and unbiased", "[eval][kid]") {
  torch::manual_seed(5);
  const at::Tensor a = torch::randn({400, 16}, torch::kFloat64).relu(),
                   b = torch::randn({300, 16}, torch::kFloat64).relu() * 1.3;
  const KidResult r1 = kernel_inception_distance(a, b, 50, 100, 7), r2 = kernel_inception_distance(a, b, 50, 100, 7);
  const KidResult r3 = kernel_inception_distance(a, b, 50, 100, 8);
  CHECK(r1.mean == r2.mean);
  CHECK(r1.std == r2.std);
  CHECK(r1.mean != r3.mean);
  CHECK(r1.subset_size == 100);
  CHECK(r1.std > 0.0);
  // The unbiased estimate of subsets averages to the full-set one (sizes matched by a 300-row subset of a).
  const KidResult full = kernel_inception_distance(a.slice(0, 0, 300), b, 1, 1000);
  const KidResult many = kernel_inception_distance(a.slice(0, 0, 300), b, 400, 100, 1);
  INFO("full " << full.mean << ", subsets " << many.mean << " ± " << many.std);
  CHECK(std::abs(many.mean - full.mean) <= 4 * many.std / std::sqrt(400.0) + 1e-12);
  // Two samples of one distribution: KID around zero, negative values allowed.
  const KidResult same = kernel_inception_distance(a.slice(0, 0, 200), a.slice(0, 200, 400), 20, 200, 1);
  CHECK(std::abs(same.mean) <= 0.1 * r1.mean);
}

TEST_CASE("fallback extractor: labelled, deterministic, separates image sets", "[eval][fid]") {
  FallbackFeatureExtractor f;
  CHECK_FALSE(f.comparable_to_published());
  CHECK_THAT(f.name(), Catch::Contains("not comparable to published FID") && Catch::Contains("seed 20151205"));
  CHECK(f.dim() == 480);
  torch::manual_seed(6);
  const at::Tensor noise = torch::rand({256, 3, 64, 64});
  const at::Tensor smooth = ramps(256, 64, 7);
  const at::Tensor fa = f.features(noise);
  REQUIRE(fa.sizes() == at::IntArrayRef({256, 480}));
  CHECK(fa.scalar_type() == torch::kFloat);
  CHECK(torch::equal(FallbackFeatureExtractor().features(noise.slice(0, 0, 10)), fa.slice(0, 0, 10)));
  // A different seed is a different network.
  CHECK_FALSE(
      torch::allclose(FallbackFeatureExtractor(torch::kCPU, 64, 1).features(noise.slice(0, 0, 4)), fa.slice(0, 0, 4)));
  // Any size: 32×32 (upsampled) and 96×80 (antialiased down).
  CHECK(f.features(torch::rand({3, 3, 32, 32})).sizes() == at::IntArrayRef({3, 480}));
  CHECK(f.features(torch::rand({3, 3, 96, 80})).sizes() == at::IntArrayRef({3, 480}));

  const FeatureStatistics sn = feature_statistics(fa, f.name());
  CHECK(std::abs(frechet_distance(sn, sn)) <= 1e-9 * sn.covariance.diagonal().sum().item<double>());
  // Two draws of one distribution (FID > 0 from the sample size alone) are much closer than noise vs ramps.
  const double same = frechet_distance(sn, feature_statistics(f.features(torch::rand({256, 3, 64, 64})), f.name()));
  const double different = frechet_distance(sn, feature_statistics(f.features(smooth), f.name()));
  INFO("noise vs noise " << same << ", noise vs ramps " << different);
  CHECK(different > 0.0);
  CHECK(different > 10 * same);
  const KidResult kid_same = kernel_inception_distance(fa, f.features(torch::rand({256, 3, 64, 64})), 10, 128);
  const KidResult kid_diff = kernel_inception_distance(fa, f.features(smooth), 10, 128);
  CHECK(kid_diff.mean > 10 * std::abs(kid_same.mean));
}

TEST_CASE("feature statistics files round-trip and refuse other extractors", "[eval][fid]") {
  const auto dir = loom::test::scratch("fid_files");
  torch::manual_seed(8);
  const FeatureStatistics s = feature_statistics(torch::randn({50, 12}), "fallback X");
  const std::string path = (dir / "real.safetensors").string();
  save_statistics(path, s);
  const FeatureStatistics back = load_statistics(path, "fallback X");
  CHECK(torch::equal(back.mean, s.mean));
  CHECK(torch::equal(back.covariance, s.covariance));
  CHECK(back.count == 50);
  CHECK(back.extractor == "fallback X");
  CHECK(frechet_distance(back, s) == Approx(0.0).margin(1e-9));
  CHECK_THAT(error_of([&] { load_statistics(path, "inception"); }),
             Catch::Contains(path) && Catch::Contains("fallback X"));
  const std::string missing = (dir / "absent.safetensors").string();
  CHECK_THAT(error_of([&] { load_statistics(missing); }), Catch::Contains(missing));
  std::ofstream(dir / "junk.safetensors") << "not a safetensors file";
  CHECK_THAT(error_of([&] { load_statistics((dir / "junk.safetensors").string()); }),
             Catch::Contains("junk.safetensors"));
}

TEST_CASE("extractor factory: auto, options schema and weight-file errors", "[eval][fid]") {
  const auto dir = loom::test::scratch("fid_factory");
  FeatureExtractorOptions options;
  CHECK_FALSE(make_feature_extractor(options, torch::kCPU)->comparable_to_published());  // auto, no weights

  options.weights = (dir / "no_such_inception.safetensors").string();
  CHECK_THAT(error_of([&] { make_feature_extractor(options, torch::kCPU); }), Catch::Contains(options.weights));
  std::ofstream(dir / "corrupt.safetensors") << "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}";
  options.weights = (dir / "corrupt.safetensors").string();
  CHECK_THAT(error_of([&] { make_feature_extractor(options, torch::kCPU); }), Catch::Contains("corrupt.safetensors"));
  // A valid file of the wrong network: strict loading names it.
  loom::weights::write((dir / "other.safetensors").string(),
                       {{"fc.weight", torch::ones({2, 2})}, {"x", torch::ones({1})}});
  options.weights = (dir / "other.safetensors").string();
  CHECK_THAT(error_of([&] { make_feature_extractor(options, torch::kCPU); }), Catch::Contains("other.safetensors"));
  options.kind = "inception";
  options.weights.clear();
  CHECK_THAT(error_of([&] { make_feature_extractor(options, torch::kCPU); }), Catch::Contains("convert_inception.py"));

  const auto parsed = loom::read_config<FeatureExtractorOptions>(
      loom::parse_yaml("kind: fallback\nbatch_size: 16\n", "fid.yaml"), "metrics.fid.extractor");
  CHECK(parsed.kind == "fallback");
  CHECK(parsed.batch_size == 16);
  CHECK_THROWS(loom::read_config<FeatureExtractorOptions>(loom::parse_yaml("kind: vgg\n", "fid.yaml"), "x"));
}

TEST_CASE("feature extractor throughput", "[.benchmark]") {
  // Not run by default (hidden tag): test_eval "[.benchmark]" prints images/s at the current thread count.
  auto time_it = [](FeatureExtractor& f, const at::Tensor& images) {
    f.features(images.slice(0, 0, std::min<int64_t>(8, images.size(0))));  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    f.features(images);
    return images.size(0) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  FallbackFeatureExtractor fallback;
  WARN("threads " << at::get_num_threads() << ": fallback 64x64 " << time_it(fallback, torch::rand({2048, 3, 64, 64}))
                  << " images/s, 32x32 " << time_it(fallback, torch::rand({2048, 3, 32, 32})) << " images/s");
  for (int64_t d : {480, 2048}) {
    const FeatureStatistics a = feature_statistics(torch::randn({2 * d, d})),
                            b = feature_statistics(torch::randn({2 * d, d}));
    for (int rep = 0; rep < 2; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      frechet_distance(a, b);
      WARN("frechet_distance d=" << d << ": "
                                 << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                                 << " s");
    }
  }
  const char* weights = std::getenv("LOOM_FID_INCEPTION_WEIGHTS");
  if (weights && *weights) {
    InceptionFeatureExtractor inception(weights, torch::kCPU, 32);
    WARN("threads " << at::get_num_threads() << ": inception 299x299 "
                    << time_it(inception, torch::rand({64, 3, 299, 299})) << " images/s");
  }
}

TEST_CASE("fallback extractor features are pinned", "[eval][fid]") {
  // Its weights come from a portable PRNG, so these values hold on every machine; a change here means
  // stored fallback statistics files are stale (change the seed, hence the name, with the network).
  const at::Tensor h = torch::linspace(0, 1, 64).view({1, 1, 64, 1}), w = torch::linspace(0, 1, 64).view({1, 1, 1, 64});
  const at::Tensor c = torch::arange(3, torch::kFloat).view({1, 3, 1, 1});
  const at::Tensor image = ((torch::sin(7 * h + 3 * w + c) + torch::cos(11 * h * w - c)) / 4 + 0.5).clamp(0, 1);
  const at::Tensor f = FallbackFeatureExtractor().features(image)[0];
  const std::vector<int64_t> idx{0, 1, 31, 32, 95, 96, 223, 224};
  const std::vector<double> expected{0.332038164,  0.209307134, 0.366998881, 0.143875793,
                                     0.0250924453, 0.41326052,  0.153021783, 0.195749596};
  for (size_t k = 0; k < idx.size(); ++k) {
    INFO("feature " << idx[k]);
    CHECK(f[idx[k]].item<double>() == Approx(expected[k]).epsilon(1e-4));
  }
  CHECK(f.sum().item<double>() == Approx(97.1708679).epsilon(1e-5));
}
