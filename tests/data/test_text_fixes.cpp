#include <catch2/catch.hpp>

#include <unicode/unistr.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/text_fixes.h"
#include "support/test_env.h"

using loom::data::fix_text;
namespace fs = std::filesystem;

namespace {

// tests/python/tokenizer_reference.py --fixes: the hand-picked cases and ftfy.fix_text's answers.
const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    const fs::path dir = loom::test::scratch("text_fixes_reference");
    REQUIRE(loom::test::run_python("tokenizer_reference.py", dir.string() + " --fixes") == 0);
    std::ifstream in(dir / "text_fixes_reference.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

// The reference strings are valid UTF-8 (JSON carries no lone surrogates), so ICU converts them exactly.
std::u32string utf32(const std::string& utf8) {
  const icu::UnicodeString s = icu::UnicodeString::fromUTF8(utf8);
  std::u32string out;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) out += static_cast<char32_t>(s.char32At(i));
  return out;
}

std::string utf8(const std::u32string& text) {
  icu::UnicodeString s;
  for (char32_t c : text) s.append(static_cast<UChar32>(c));
  std::string out;
  return s.toUTF8String(out);
}

// Control characters and non-ASCII as \u escapes, so a report shows what differs; long texts by their ends.
std::string escaped(const std::string& text) {
  const std::string json = nlohmann::json(text).dump(-1, ' ', true);
  return json.size() > 300 ? json.substr(0, 150) + " ... " + json.substr(json.size() - 150) : json;
}

std::string fixed(const std::string& text) { return utf8(fix_text(utf32(text))); }

}  // namespace

TEST_CASE("text_fixes: each fix equals ftfy.fix_text on its hand-picked cases", "[text_fixes]") {
  const nlohmann::json& cases = reference().at("fix_cases");
  REQUIRE(cases.size() >= 20);
  for (const nlohmann::json& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const std::string got = fixed(text), want = c.at("fixed").get<std::string>();
    INFO(c.at("fix").get<std::string>() << ": " << escaped(text) << "\n  ftfy: " << escaped(want)
                                        << "\n  loom: " << escaped(got));
    CHECK(got == want);
  }
}

// ftfy's fix_encoding is not reproduced: mojibake comes out as ftfy leaves it with that step turned off.
TEST_CASE("text_fixes: mojibake is left as ftfy without fix_encoding leaves it", "[text_fixes]") {
  for (const nlohmann::json& c : reference().at("mojibake")) {
    const std::string text = c.at("text").get<std::string>();
    const std::string got = fixed(text), want = c.at("without_fix_encoding").get<std::string>();
    INFO(escaped(text) << " (ftfy repairs it to " << escaped(c.at("fixed").get<std::string>())
                       << ")\n  ftfy: " << escaped(want) << "\n  loom: " << escaped(got));
    CHECK(got == want);
  }
}

TEST_CASE("text_fixes: text that needs no fix comes back unchanged", "[text_fixes]") {
  for (const char32_t* text : {U"", U"a photo of a cat", U"café crème, 東京, 🐶, \n\t x", U"<b>&amp;</b>", U"&&;&#;"})
    CHECK(fix_text(text) == text);
}
