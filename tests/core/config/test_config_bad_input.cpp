// Configs that once crashed, hung or were silently misread: each must be a ConfigError naming the file
// (or override) and what is wrong, quickly and with bounded memory.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "support/test_env.h"

using namespace loom;
namespace fs = std::filesystem;

namespace {

fs::path write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Nine levels of nine aliases: 511 bytes that expand to 9^7 scalars.
std::string alias_bomb() {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'h'; ++level) {
    const char prev = static_cast<char>(level - 1);
    text += cat(level, ": &", level, " [");
    for (int i = 0; i < 9; ++i) text += cat(i ? ", " : "", "*", prev);
    text += "]\n";
  }
  return text;
}

struct Stages {
  std::vector<int64_t> widths{8};
  template <class V>
  void visit(V& v) {
    v("widths", widths, {.min = 1, .min_items = 1});
  }
};

}  // namespace

TEST_CASE("a self-referencing YAML alias is an error, in a file and in an override", "[config][bad input]") {
  auto dir = test::scratch("config_bad/alias");
  CHECK_THROWS_WITH(load_config(write(dir / "cycle.yaml", "a: &x [*x]\n").string()),
                    Catch::Contains("cycle.yaml:1") && Catch::Contains("nests deeper than 64 levels"));
  ConfigNode root = parse_yaml("model: {a: 1}\n", "base.yaml");
  CHECK_THROWS_WITH(apply_override(root, "model.x=&x [*x]"),
                    Catch::Contains("override 'model.x=&x [*x]'") && Catch::Contains("nests deeper"));
  CHECK_THROWS_WITH(parse_yaml("a: &m {b: *m}\n", "map.yaml"), Catch::Contains("map.yaml"));
}

TEST_CASE("a YAML alias bomb is refused at the node limit", "[config][bad input]") {
  const std::string bomb = alias_bomb();
  CHECK(bomb.size() < 600);
  CHECK_THROWS_WITH(parse_yaml(bomb, "bomb.yaml"), Catch::Contains("bomb.yaml") &&
                                                       Catch::Contains("more than 1000000 values") &&
                                                       Catch::Contains("LOOM_LIMIT_CONFIG_NODES"));
  // Aliases that stay small are fine.
  ConfigNode ok = parse_yaml("base: &b {lr: 0.1}\nG: *b\nD: *b\n", "ok.yaml");
  CHECK(ok.find("D")->find("lr")->scalar() == "0.1");
}

TEST_CASE("nesting deeper than the limit is an error, not a stack overflow", "[config][bad input]") {
  CHECK_THROWS_AS(parse_yaml(std::string(100, '[') + std::string(100, ']'), "deep.yaml"), ConfigError);
  CHECK_THROWS_AS(parse_yaml(std::string(100000, '[') + std::string(100000, ']'), "deeper.yaml"), ConfigError);
  CHECK_NOTHROW(parse_yaml(std::string(60, '[') + std::string(60, ']'), "fine.yaml"));
  // An override's key path nests as deep as its parts.
  ConfigNode root = parse_yaml("a: 1\n", "base.yaml");
  std::string path = "x";
  for (int i = 0; i < 30000; ++i) path += ".x";
  CHECK_THROWS_WITH(apply_override(root, path + "=1"), Catch::Contains("30001 parts"));
}

TEST_CASE("_base_ must name a regular file: not empty, a folder or a device", "[config][bad input]") {
  auto dir = test::scratch("config_bad/base");
  CHECK_THROWS_WITH(load_config(write(dir / "zero.yaml", "_base_: /dev/zero\n").string()),
                    Catch::Contains("zero.yaml:1") && Catch::Contains("'/dev/zero' is not a regular file"));
  CHECK_THROWS_WITH(load_config(write(dir / "empty.yaml", "_base_: \"\"\n").string()),
                    Catch::Contains("empty.yaml:1") && Catch::Contains("empty path"));
  fs::create_directories(dir / "folder");
  CHECK_THROWS_WITH(load_config(write(dir / "folder.yaml", "_base_: folder\n").string()),
                    Catch::Contains("is a folder"));
  CHECK_THROWS_WITH(load_config((dir / "folder").string()), Catch::Contains("is a folder"));
  // A name longer than the file system allows (found by fuzzing): an error, not an exception.
  CHECK_THROWS_WITH(load_config(write(dir / "long.yaml", "_base_: " + std::string(300, 'x') + "\n").string()),
                    Catch::Contains("long.yaml:1") && Catch::Contains("File name too long"));
}

TEST_CASE("a second YAML document is an error, not ignored", "[config][bad input]") {
  CHECK_THROWS_WITH(parse_yaml("a: 1\n---\nb: 2\n", "two.yaml"),
                    Catch::Contains("two.yaml:2") && Catch::Contains("after the end of the first YAML document"));
  // yaml-cpp 0.7 reads these as endless empty documents: an error, not a hang.
  CHECK_THROWS_AS(parse_yaml("[1],[2]\n", "flow.yaml"), ConfigError);
  CHECK_THROWS_AS(parse_yaml("'a','b'\n", "quoted.yaml"), ConfigError);
  CHECK(parse_yaml("---\na: 1\n", "one.yaml").find("a"));
  CHECK(parse_yaml("a: 1\n...\n", "ended.yaml").find("a"));
}

TEST_CASE("to_yaml quotes keys and values that would not read back", "[config][bad input]") {
  const std::string text =
      "\"a: b\": 1\n\"c#d\": {\"x y\": 2, \"null\": 3, \"~\": 4, \"-\": 5, \"[k]\": 6}\n"
      "\"tab\\there\": \"bell\\x07 and \\r\"\nplain: value\n";
  const ConfigNode parsed = parse_yaml(text, "keys.yaml");
  const std::string printed = to_yaml(parsed);
  INFO(printed);
  const ConfigNode again = parse_yaml(printed, "printed.yaml");
  CHECK(to_yaml(again) == printed);
  CHECK(again.find("a: b")->scalar() == "1");
  CHECK(again.find("c#d")->find("null")->scalar() == "3");
  CHECK(again.find("c#d")->find("[k]")->scalar() == "6");
  CHECK(again.find("tab\there")->scalar() == "bell\x07 and \r");
  CHECK(printed.find("plain: value\n") != std::string::npos);  // plain stays plain
  CHECK(parse_yaml(to_flow_yaml(parsed), "flow.yaml").find("c#d")->find("~")->scalar() == "4");

  // Every spelling of null, and keys longer than YAML's 1024-character implicit keys (found by fuzzing).
  ConfigNode odd = ConfigNode::make_map({});
  for (const char* key : {"Null", "NULL", "null", "~"}) odd.set(key, ConfigNode::make_scalar("Null", {}));
  odd.set(std::string(2000, 'k'), ConfigNode::make_scalar("long", {}));
  odd.set(std::string(300, '\x7f'), ConfigNode::make_scalar("escaped", {}));
  odd.set("nested", odd);
  for (const std::string& text : {to_yaml(odd), to_flow_yaml(odd)}) {
    INFO(text.substr(0, 200));
    const ConfigNode back = parse_yaml(text, "odd.yaml");
    CHECK(to_yaml(back) == to_yaml(odd));
    CHECK(back.find("Null")->scalar() == "Null");
    CHECK(back.find("nested")->find(std::string(2000, 'k'))->scalar() == "long");
  }
}

TEST_CASE("a list with fewer items than the schema allows names the key", "[config][bad input]") {
  CHECK_THROWS_WITH(read_config<Stages>(parse_yaml("widths: []\n", "m.yaml"), "model"),
                    Catch::Contains("model.widths") && Catch::Contains("at least 1 item"));
  CHECK(read_config<Stages>(parse_yaml("widths: [4, 8]\n", "m.yaml"), "model").widths.size() == 2);
}
