#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text/cat.h"
#include "data/clip_tokenizer.h"
#include "support/test_env.h"

using loom::data::ClipTokenizer;
namespace fs = std::filesystem;

namespace {

// tests/python/tokenizer_reference.py's strings and open_clip's answers, made once per process.
const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    const fs::path dir = loom::test::scratch("tokenizer_reference");
    REQUIRE(loom::test::run_python("tokenizer_reference.py", dir.string()) == 0);
    std::ifstream in(dir / "tokenizer_reference.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

std::vector<std::string> strings() { return reference().at("strings").get<std::vector<std::string>>(); }

std::vector<int64_t> row(const at::Tensor& t, int64_t i) {
  at::Tensor r = t[i].contiguous();
  return {r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()};
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::ostringstream out;
  for (size_t i = 0; i < ids.size(); ++i) out << (i ? " " : "") << ids[i];
  return out.str();
}

// Compares a [N, L] tensor with open_clip's rows, row by row; reports the first few differences with
// the string and both id lists.
void check_rows(const at::Tensor& got, const nlohmann::json& want, const std::vector<std::string>& texts) {
  REQUIRE(got.size(0) == static_cast<int64_t>(want.size()));
  std::string report;
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto expected = want[i].get<std::vector<int64_t>>();
    const auto actual = row(got, static_cast<int64_t>(i));
    if (actual == expected) continue;
    if (++bad <= 5)
      report += loom::cat("\n#", i, " ", nlohmann::json(texts[i]).dump(), "\n  open_clip: ", ids_text(expected),
                          "\n  loom:      ", ids_text(actual));
  }
  INFO(bad << " of " << want.size() << " rows differ" << report);
  CHECK(bad == 0);
}

// encode() of each string against open_clip's ids; reports the first few differences.
void check_encode(const ClipTokenizer& tok, const nlohmann::json& texts, const nlohmann::json& want) {
  REQUIRE(texts.size() == want.size());
  std::string report;
  int64_t bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto expected = want[i].get<std::vector<int64_t>>();
    const auto actual = tok.encode(texts[i].get<std::string>());
    if (actual != expected && ++bad <= 5)
      report += loom::cat("\n#", i, " ", texts[i].dump(), "\n  open_clip: ", ids_text(expected),
                          "\n  loom:      ", ids_text(actual));
  }
  INFO(bad << " of " << texts.size() << " texts differ" << report);
  CHECK(bad == 0);
}

// decode() of each id list against open_clip's text.
void check_decode(const ClipTokenizer& tok, const nlohmann::json& ids, const nlohmann::json& want) {
  REQUIRE(ids.size() == want.size());
  std::string report;
  int64_t bad = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string got = tok.decode(ids[i].get<std::vector<int64_t>>());
    if (got != want[i].get<std::string>() && ++bad <= 5)
      report += loom::cat("\n", ids[i].dump(), "\n  open_clip: ", want[i].dump(),
                          "\n  loom:      ", nlohmann::json(got).dump());
  }
  INFO(bad << " of " << ids.size() << " id lists decode differently" << report);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("clip_tokenizer: vocabulary facts", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  CHECK(tok.vocab_size() == 49408);
  CHECK(tok.encode("a photo of *") == std::vector<int64_t>{320, 1125, 539, 265});
  CHECK(tok.encode("!") == std::vector<int64_t>{256});  // "!</w>"; the bare "!" is 0, the pad id
  CHECK(tok.encode("<start_of_text><end_of_text>") ==
        std::vector<int64_t>{ClipTokenizer::kStartToken, ClipTokenizer::kEndToken});
}

TEST_CASE("clip_tokenizer: tokenize equals open_clip.tokenize on every reference string", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  const std::vector<std::string> texts = strings();
  REQUIRE(texts.size() >= 600);
  SECTION("context length 77") { check_rows(tok.tokenize(texts), reference().at("tokens"), texts); }
  SECTION("context length 16 (most rows truncated)") {
    check_rows(tok.tokenize(texts, 16), reference().at("tokens_16"), texts);
  }
  SECTION("encode, untruncated") { check_encode(tok, reference().at("strings"), reference().at("encode")); }
  SECTION("decode of the ids") { check_decode(tok, reference().at("encode"), reference().at("decode")); }
}

// Captions as the web writes them, ftfy's fixes included. Mojibake (ftfy's fix_encoding, not
// reproduced) and Unicode 15 against Python's 14 in NFC may differ; nothing else should.
TEST_CASE("clip_tokenizer: tokenize equals open_clip.tokenize on at least 995 in 1000 captions of a mix",
          "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  const auto texts = reference().at("mix_strings").get<std::vector<std::string>>();
  const nlohmann::json& want = reference().at("mix_tokens");
  REQUIRE(texts.size() >= 2000);
  const at::Tensor got = tok.tokenize(texts);
  size_t matches = 0, shown = 0;
  std::string report;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto expected = want[i].get<std::vector<int64_t>>();
    const auto actual = row(got, static_cast<int64_t>(i));
    if (actual == expected) {
      ++matches;
    } else if (++shown <= 10) {
      report += loom::cat("\n#", i, " ", nlohmann::json(texts[i]).dump(-1, ' ', true),
                          "\n  open_clip: ", ids_text(expected), "\n  loom:      ", ids_text(actual));
    }
  }
  WARN("caption mix: " << matches << " of " << texts.size() << " tokenize as open_clip.tokenize ("
                       << reference().at("mix_matches_without_ftfy").get<size_t>() << " without ftfy's fixes)"
                       << report);
  CHECK(matches * 1000 >= texts.size() * 995);
}

TEST_CASE("clip_tokenizer: tokenize equals open_clip.tokenize on each ftfy fix's cases", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  const nlohmann::json& cases = reference().at("fix_cases");
  REQUIRE(cases.size() >= 20);
  for (const nlohmann::json& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const bool long_text = text.size() > 200;  // shown by its end
    const std::string shown = nlohmann::json(long_text ? text.substr(text.size() - 100) : text)
                                  .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    const auto expected = c.at("tokens").get<std::vector<int64_t>>();
    const auto actual = row(tok.tokenize({text}), 0);
    INFO(c.at("fix").get<std::string>() << ": " << (long_text ? "..." : "") << shown << "\n  open_clip: "
                                        << ids_text(expected) << "\n  loom:      " << ids_text(actual));
    CHECK(actual == expected);
  }
}

// Random code points and random ids: the cleaning, splitting and UTF-8 corners that captions rarely
// reach. open_clip ran without ftfy's mojibake repair here, which C++ does not reproduce.
TEST_CASE("clip_tokenizer: equals open_clip (without fix_encoding) on random text and random ids", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  check_encode(tok, reference().at("fuzz_strings"), reference().at("fuzz_encode"));
  check_decode(tok, reference().at("fuzz_ids"), reference().at("fuzz_decode"));
}

TEST_CASE("clip_tokenizer: truncation keeps the end token last", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word" + std::to_string(i) + " ";
  const std::vector<int64_t> ids = tok.encode(long_text);
  REQUIRE(ids.size() > 200);
  at::Tensor t = tok.tokenize({long_text, "a cat", ""});
  REQUIRE(t.sizes() == at::IntArrayRef({3, 77}));
  REQUIRE(t.scalar_type() == at::kLong);
  std::vector<int64_t> first = row(t, 0);
  CHECK(first.front() == ClipTokenizer::kStartToken);
  CHECK(first.back() == ClipTokenizer::kEndToken);
  CHECK(std::vector<int64_t>(first.begin() + 1, first.end() - 1) ==
        std::vector<int64_t>(ids.begin(), ids.begin() + 75));
  CHECK(row(t, 1)[3] == ClipTokenizer::kEndToken);
  CHECK(row(t, 1)[4] == 0);
  CHECK(row(t, 2)[1] == ClipTokenizer::kEndToken);
  // 75 ids fill a row exactly; a 76th is cut and the row ends the same way.
  std::string words74;
  for (int i = 0; i < 74; ++i) words74 += "a ";
  const std::vector<int64_t> full = row(tok.tokenize({words74 + "cat"}), 0);
  CHECK(full[75] == tok.encode("cat").at(0));
  CHECK(full[76] == ClipTokenizer::kEndToken);
  CHECK(row(tok.tokenize({words74 + "cat dog"}), 0) == full);
  CHECK(row(tok.tokenize({"a cat"}, 1), 0) == std::vector<int64_t>{ClipTokenizer::kEndToken});
  CHECK_THROWS_AS(tok.tokenize({"a"}, 0), loom::UserError);
}

TEST_CASE("clip_tokenizer: decode round trip on plain ASCII", "[tokenizer]") {
  const ClipTokenizer& tok = ClipTokenizer::shared();
  for (std::string text : {"a photo of a cat", "supercalifragilisticexpialidocious words",
                           "the quick brown fox jumps over the lazy dog", "zzz qqq xxx jjj", "hello , world !"}) {
    // Each word ends in "</w>", which decodes to a space.
    CHECK(tok.decode(tok.encode(text)) == text + " ");
  }
  CHECK(tok.decode({ClipTokenizer::kStartToken, 320, ClipTokenizer::kEndToken}) == "<start_of_text>a <end_of_text>");
  CHECK_THROWS_AS(tok.decode({49408}), std::out_of_range);
  CHECK_THROWS_AS(tok.decode({-1}), std::out_of_range);
}

TEST_CASE("clip_tokenizer: 8 threads on one tokenizer agree with one thread", "[tokenizer]") {
  const std::vector<std::string> texts = strings();
  const at::Tensor want = ClipTokenizer::shared().tokenize(texts);
  // A fresh instance, so the threads fill its cold cache concurrently.
  const std::string home = loom::test::env_or("LOOM_HOME", (loom::test::env_or("HOME", "") + "/.cache/loom").c_str());
  const ClipTokenizer tok(loom::test::env_or("LOOM_CLIP_VOCAB", (home + "/bpe_simple_vocab_16e6.txt.gz").c_str()));
  std::vector<at::Tensor> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), 77}, at::kLong);
      // Each thread walks the strings from a different start so they race on different words.
      for (size_t k = 0; k < texts.size(); ++k) {
        const size_t i = (k + static_cast<size_t>(t) * texts.size() / 8) % texts.size();
        out[static_cast<int64_t>(i)].copy_(tok.tokenize({texts[i]})[0]);
      }
      got[static_cast<size_t>(t)] = out;
    });
  for (auto& th : threads) th.join();
  for (const at::Tensor& g : got) CHECK(at::equal(g, want));
}

TEST_CASE("clip_tokenizer: a missing or malformed vocabulary file is a UserError naming it", "[tokenizer]") {
  const fs::path dir = loom::test::scratch("tokenizer_bad_vocab");
  auto message = [](const std::string& path) {
    try {
      ClipTokenizer tok(path);
    } catch (const loom::UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string missing = (dir / "missing.txt.gz").string();
  CHECK_THAT(message(missing), Catch::Contains(missing));
  const std::string short_file = (dir / "short.txt").string();
  std::ofstream(short_file) << "#version: 0.2\ni n\nt h\n";
  CHECK_THAT(message(short_file), Catch::Contains(short_file) && Catch::Contains("lines"));
}
