// loom::data::SentencePieceTokenizer against open_clip's HFTokenizer as the SigLIP models configure it
// (tests/python/sentencepiece_reference.py: the CLIP tokenizer's string set, a T5-style model trained on
// them, the HF tokenizer open_clip's SigLipTokenizer makes from it).
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/text/cat.h"
#include "data/sentencepiece_tokenizer.h"
#include "eval/model_inputs.h"
#include "support/test_env.h"

using loom::data::SentencePieceTokenizer;
using loom::data::TextClean;
namespace fs = std::filesystem;

namespace {

const fs::path& reference_dir() {
  static const fs::path dir = [] {
    fs::path out = loom::test::scratch("sentencepiece_reference");
    REQUIRE(loom::test::run_python("sentencepiece_reference.py", out.string()) == 0);
    return out;
  }();
  return dir;
}

const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    std::ifstream in(reference_dir() / "sentencepiece_reference.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

std::string model_file() { return (reference_dir() / "t5_style.model").string(); }

const SentencePieceTokenizer& canonicalizing() {
  static const SentencePieceTokenizer tokenizer(model_file(), TextClean::canonicalize);
  return tokenizer;
}

std::vector<std::string> strings(const char* key = "strings") {
  return reference().at(key).get<std::vector<std::string>>();
}

std::vector<int64_t> row(const at::Tensor& t, int64_t i) {
  at::Tensor r = t[i].contiguous();
  return {r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()};
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::ostringstream out;
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  return out.str();
}

// Row by row against open_clip's; `only` (if given) selects the rows compared. Reports the first few
// differences. Returns the number of rows compared.
int64_t check_rows(const at::Tensor& got, const nlohmann::json& want, const std::vector<std::string>& texts,
                   const nlohmann::json* only = nullptr) {
  REQUIRE(got.size(0) == static_cast<int64_t>(want.size()));
  std::string report;
  int64_t bad = 0, compared = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (only && !(*only)[i].get<bool>()) continue;
    ++compared;
    const auto expected = want[i].get<std::vector<int64_t>>();
    const auto actual = row(got, static_cast<int64_t>(i));
    if (actual == expected) continue;
    if (++bad <= 5)
      report += loom::cat("\n#", i, " ", nlohmann::json(texts[i]).dump(), "\n  open_clip: ", ids_text(expected),
                          "\n  loom:      ", ids_text(actual));
  }
  INFO(bad << " of " << compared << " rows differ" << report);
  CHECK(bad == 0);
  return compared;
}

}  // namespace

TEST_CASE("sentencepiece: tokenize equals open_clip's SigLIP HFTokenizer on every reference string", "[tokenizer]") {
  const std::vector<std::string> texts = strings();
  REQUIRE(texts.size() >= 600);
  // Where the HF normalizer and SentencePiece's disagree (see the header) the rows may differ; the
  // reference strings have no such text.
  for (const auto& agrees : reference().at("normalizer_agrees")) REQUIRE(agrees.get<bool>());
  SECTION("context length 64") { check_rows(canonicalizing().tokenize(texts, 64), reference().at("tokens"), texts); }
  SECTION("context length 16 (most rows truncated), with the truncation count") {
    int64_t truncated = 0;
    check_rows(canonicalizing().tokenize(texts, 16, &truncated), reference().at("tokens_16"), texts);
    int64_t longer = 0;
    for (const auto& ids : reference().at("encode")) longer += ids.size() + 1 > 16;
    CHECK(truncated == longer);
    CHECK(longer > 200);
  }
  SECTION("encode, untruncated") {
    const auto& want = reference().at("encode");
    int64_t bad = 0;
    for (size_t i = 0; i < texts.size(); ++i)
      bad += canonicalizing().encode(texts[i]) != want[i].get<std::vector<int64_t>>();
    CHECK(bad == 0);
  }
  SECTION("clean 'lower'") {
    SentencePieceTokenizer lower(model_file(), TextClean::lower);
    check_rows(lower.tokenize(texts, 64), reference().at("tokens_lower"), texts);
  }
}

// Random code points, canonicalized without ftfy on both sides: the normalization, unknown-piece and
// Viterbi corners captions rarely reach. Rows whose text the two normalizers treat differently are left
// out (and counted).
TEST_CASE("sentencepiece: equals the HF tokenizer on random text", "[tokenizer]") {
  const std::vector<std::string> cleaned = strings("fuzz_cleaned");
  const SentencePieceTokenizer& tok = canonicalizing();
  at::Tensor rows = at::full({static_cast<int64_t>(cleaned.size()), 64}, tok.end_id(), at::kLong);
  for (size_t i = 0; i < cleaned.size(); ++i) {
    std::vector<int64_t> ids = tok.encode_cleaned(cleaned[i]);
    ids.resize(std::min<size_t>(ids.size(), 63));
    for (size_t k = 0; k < ids.size(); ++k) rows[static_cast<int64_t>(i)][static_cast<int64_t>(k)] = ids[k];
  }
  const int64_t compared =
      check_rows(rows, reference().at("fuzz_tokens"), cleaned, &reference().at("fuzz_normalizer_agrees"));
  std::printf("sentencepiece: %lld of %zu random strings compared (the rest normalize differently in HF)\n",
              static_cast<long long>(compared), cleaned.size());
  CHECK(compared > 2500);
}

TEST_CASE("sentencepiece: end id, padding and truncation as SigLIP's tokenizer", "[tokenizer]") {
  const SentencePieceTokenizer& tok = canonicalizing();
  CHECK(tok.end_id() == 1);
  CHECK(tok.vocab_size() > 500);
  const std::vector<int64_t> cat = tok.encode("a photo of a cat");
  REQUIRE(!cat.empty());
  CHECK(tok.encode("A photo, of a CAT!") == cat);  // canonicalize: case and punctuation go
  at::Tensor t = tok.tokenize({"a photo of a cat", ""}, 8);
  REQUIRE(t.sizes() == at::IntArrayRef({2, 8}));
  std::vector<int64_t> expected(8, 1);
  std::copy(cat.begin(), cat.end(), expected.begin());
  CHECK(row(t, 0) == expected);
  CHECK(row(t, 1) == std::vector<int64_t>(8, 1));
  int64_t truncated = 0;
  CHECK(row(tok.tokenize({"a photo of a cat"}, 1, &truncated), 0) == std::vector<int64_t>{1});
  CHECK(truncated == 1);
  CHECK_THROWS_AS(tok.tokenize({"a"}, 0), loom::UserError);
}

TEST_CASE("sentencepiece: one instance tokenizes from many threads", "[tokenizer]") {
  const SentencePieceTokenizer& tok = canonicalizing();
  const std::vector<std::string> texts = strings();
  const at::Tensor expected = tok.tokenize(texts, 64);
  std::vector<at::Tensor> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = tok.tokenize(texts, 64); });
  for (auto& thread : threads) thread.join();
  for (const auto& g : got) CHECK(g.equal(expected));
}

TEST_CASE(
    "sentencepiece: a missing, broken or Gemma-style model file is a ConfigError naming model.text.tokenizer.path",
    "[tokenizer]") {
  const fs::path dir = loom::test::scratch("sentencepiece_bad_input");
  auto make = [](const std::string& path) {
    return loom::eval::make_text_tokenizer({.name = "sentencepiece", .path = path, .clean = "canonicalize"},
                                           "model.text.tokenizer");
  };
  const std::string missing = (dir / "missing.model").string(), broken = (dir / "broken.model").string();
  CHECK_THROWS_AS(make(missing), loom::ConfigError);
  CHECK_THROWS_WITH(make(missing), Catch::Contains("model.text.tokenizer.path") && Catch::Contains("missing.model"));
  CHECK_THROWS_AS(make(""), loom::ConfigError);
  CHECK_THROWS_WITH(make(""), Catch::Contains("model.text.tokenizer.path"));
  std::ofstream(broken) << "not a model";
  CHECK_THROWS_AS(make(broken), loom::ConfigError);
  CHECK_THROWS_WITH(make(broken),
                    Catch::Contains("model.text.tokenizer.path") && Catch::Contains("not a SentencePiece model"));
  CHECK_THROWS_WITH(make((reference_dir() / "byte_fallback.model").string()),
                    Catch::Contains("model.text.tokenizer.path") && Catch::Contains("byte-fallback"));
  const auto made = make(model_file());
  CHECK(made->describe() == "SentencePiece (" + model_file() + ")");
  CHECK(make(model_file()) == made);  // one instance per file and cleaning
}
