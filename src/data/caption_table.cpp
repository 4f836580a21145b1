#include "data/caption_table.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/image_io.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

// Every data row must have as many fields as the header.
void check_widths(const TextTable& t, const std::string& file) {
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.rows[i].size() != t.columns.size())
      throw UserError(cat(file, ":", t.lines[i], ": expected ", t.columns.size(), " fields (", join(t.columns, ", "),
                          "), found ", t.rows[i].size()));
}

// The header becomes the column names.
TextTable with_header(std::vector<std::vector<std::string>> rows, std::vector<int64_t> lines, const std::string& file) {
  if (rows.empty()) throw UserError(cat(file, ": the table is empty (expected a header line)"));
  TextTable t;
  t.columns = std::move(rows.front());
  t.rows.assign(std::make_move_iterator(rows.begin() + 1), std::make_move_iterator(rows.end()));
  t.lines.assign(lines.begin() + 1, lines.end());
  check_widths(t, file);
  return t;
}

}  // namespace

TextTable parse_csv(const std::string& text, const std::string& file) {
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false, after_quote = false;
  int64_t line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    after_quote = false;
  };
  auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) {  // blank lines are skipped
      rows.push_back(std::move(row));
      lines.push_back(row_line);
    }
    row.clear();
    row_line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        in_quotes = false;
        after_quote = true;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      if (!field.empty() || after_quote)
        throw UserError(
            cat(file, ":", line, ": a quote inside an unquoted field (quote the whole field and double inner quotes)"));
      in_quotes = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      ++line;
      end_row();
    } else {
      if (after_quote) throw UserError(cat(file, ":", line, ": text after the closing quote of a field"));
      field += c;
    }
  }
  if (in_quotes) throw UserError(cat(file, ":", row_line, ": a quoted field is never closed"));
  if (!row.empty() || !field.empty() || after_quote) end_row();
  return with_header(std::move(rows), std::move(lines), file);
}

TextTable parse_tsv(const std::string& text, const std::string& file) {
  std::vector<std::vector<std::string>> rows;
  std::vector<int64_t> lines;
  size_t start = 0;
  for (int64_t line = 1; start < text.size(); ++line) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string l = text.substr(start, end - start);
    start = end + 1;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.empty()) continue;
    std::vector<std::string> fields;
    size_t from = 0;
    for (size_t tab; (tab = l.find('\t', from)) != std::string::npos; from = tab + 1)
      fields.push_back(l.substr(from, tab - from));
    fields.push_back(l.substr(from));
    rows.push_back(std::move(fields));
    lines.push_back(line);
  }
  return with_header(std::move(rows), std::move(lines), file);
}

TextTable parse_jsonl(const std::string& text, const std::string& file, const std::vector<std::string>& columns) {
  TextTable t;
  t.columns = columns;
  size_t start = 0;
  for (int64_t line = 1; start < text.size(); ++line) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string l = text.substr(start, end - start);
    start = end + 1;
    if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json object = nlohmann::json::parse(l, nullptr, false);
    if (object.is_discarded() || !object.is_object()) throw UserError(cat(file, ":", line, ": not a JSON object"));
    std::vector<std::string> row;
    for (const auto& column : columns) {
      auto it = object.find(column);
      if (it == object.end()) {
        std::vector<std::string> keys;
        for (const auto& [k, v] : object.items()) keys.push_back(k);
        throw UserError(cat(file, ":", line, ": no key '", column, "' (keys: ", join(keys, ", "), ")"));
      }
      if (!it->is_string()) throw UserError(cat(file, ":", line, ": '", column, "' is not a string"));
      row.push_back(it->get<std::string>());
    }
    t.rows.push_back(std::move(row));
    t.lines.push_back(line);
  }
  return t;
}

CaptionTable::CaptionTable(const CaptionTableOptions& options, const std::string& path)
    : table_(options.path), transforms_(Transforms::from_config(options.transforms, path + ".transforms")) {
  std::string why;
  const std::optional<std::string> read = read_file(table_, &why);
  if (!read) throw UserError(cat(path, ".path: cannot read the caption table '", table_, "': ", why));
  const std::string& text = *read;

  std::string format = options.format;
  if (format == "auto") {
    std::string ext = fs::path(table_).extension().string();
    format = ext == ".csv" ? "csv" : ext == ".tsv" ? "tsv" : ext == ".jsonl" ? "jsonl" : "";
    if (format.empty())
      throw UserError(cat(path, ".path: cannot tell the format of '", table_, "' from its extension; set ", path,
                          ".format to csv, tsv or jsonl"));
  }
  const std::vector<std::string> wanted{options.path_column, options.caption_column};
  TextTable table = format == "csv"   ? parse_csv(text, table_)
                    : format == "tsv" ? parse_tsv(text, table_)
                                      : parse_jsonl(text, table_, wanted);
  std::vector<size_t> at;
  for (const auto& [column, key] :
       {std::pair{options.path_column, "path_column"}, std::pair{options.caption_column, "caption_column"}}) {
    auto it = std::find(table.columns.begin(), table.columns.end(), column);
    if (it == table.columns.end())
      throw UserError(
          cat(table_, ": no column '", column, "' (columns: ", join(table.columns, ", "), "); set ", path, ".", key));
    at.push_back(static_cast<size_t>(it - table.columns.begin()));
  }
  if (table.rows.empty()) throw UserError(cat(table_, ": the table has no rows"));

  fs::path root = options.image_root.empty() ? fs::path(table_).parent_path() : fs::path(options.image_root);
  for (const auto& row : table.rows) {
    fs::path image(row[at[0]]);
    images_.push_back((image.is_absolute() ? image : root / image).string());
    captions_.push_back(row[at[1]]);
  }
}

Sample CaptionTable::get(int64_t index, std::mt19937_64& rng) const {
  const std::string& image = images_.at(static_cast<size_t>(index));
  Sample s;
  s.tensors["image"] = transforms_(read_image(image), rng);
  s.text["path"] = image;
  s.text["caption"] = captions_[static_cast<size_t>(index)];
  return s;
}

std::string CaptionTable::describe() const { return cat("caption_table ", table_, " (", images_.size(), " images)"); }

}  // namespace loom::data
