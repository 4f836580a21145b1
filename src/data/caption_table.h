#pragma once
// Dataset `caption_table`: image-caption pairs listed in a table (CSV, TSV or JSONL), e.g. the
// open_clip/img2dataset layout "filepath<TAB>caption". Relative image paths resolve against image_root
// (by default the table's folder).
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "data/dataset.h"
#include "data/transforms.h"

namespace loom::data {

// A table of strings; lines[i] is the 1-based line of the file where rows[i] starts.
struct TextTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
};

// The parsers throw UserError "file:line: ..." for a malformed line. `file` is only for messages.
TextTable parse_csv(const std::string& text, const std::string& file);  // RFC 4180, header line first
TextTable parse_tsv(const std::string& text, const std::string& file);  // tab-separated, header line first
// One JSON object per line; reads `columns` (string values), blank lines skipped.
TextTable parse_jsonl(const std::string& text, const std::string& file, const std::vector<std::string>& columns);

struct CaptionTableOptions {
  std::string name = "caption_table";
  std::string path;
  std::string format = "auto";
  std::string path_column = "filepath";
  std::string caption_column = "caption";
  std::string image_root;
  ConfigNode transforms;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("path", path, {.help = "the table: .csv, .tsv or .jsonl", .required = true});
    v("format", format,
      {.help = "table format (auto: from the file extension)", .choices = {"auto", "csv", "tsv", "jsonl"}});
    v("path_column", path_column, {.help = "column holding image paths"});
    v("caption_column", caption_column, {.help = "column holding captions"});
    v("image_root", image_root, {.help = "folder relative image paths start from (default: the table's folder)"});
    v("transforms", transforms, {.help = "augmentation list (see data/transforms.h)"});
  }
};

// Samples: tensors {"image": float [3, H, W]}, text {"path", "caption"}.
class CaptionTable : public Dataset {
 public:
  // `path` is the options' key in the config (for error messages). Throws UserError for a missing,
  // malformed or empty table or a missing column.
  explicit CaptionTable(const CaptionTableOptions& options, const std::string& path = "dataset");

  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;

 private:
  std::string table_;
  std::vector<std::string> images_, captions_;
  Transforms transforms_;
};

}  // namespace loom::data
