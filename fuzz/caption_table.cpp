// The caption table readers on one text, as CSV, TSV and JSONL alike (seeds of one format then also
// probe the others). A table that parses must be rectangular, with one line number per row.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/caption_table.h"
#include "fuzz_support.h"

namespace {

void check(const loom::data::TextTable& t, const char* format) {
  bool ok = t.rows.size() == t.lines.size();
  for (size_t i = 0; ok && i < t.rows.size(); ++i)
    ok = t.rows[i].size() == t.columns.size() && t.lines[i] >= 1 && (i == 0 || t.lines[i] > t.lines[i - 1]);
  if (!ok) {
    std::fprintf(stderr, "%s table: rows, widths and line numbers disagree\n", format);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  loom::fuzz::expect_user_errors([&] { check(loom::data::parse_csv(text, "fuzz.csv"), "csv"); });
  loom::fuzz::expect_user_errors([&] { check(loom::data::parse_tsv(text, "fuzz.tsv"), "tsv"); });
  loom::fuzz::expect_user_errors([&] {
    check(loom::data::parse_jsonl(text, "fuzz.jsonl", {"filepath", "caption"}), "jsonl");
  });
  return 0;
}
