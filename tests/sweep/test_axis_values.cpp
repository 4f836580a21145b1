#include <catch2/catch.hpp>

#include "core/config/config_loader.h"
#include "core/error.h"
#include "sweep/axis_values.h"

namespace {

using loom::sweep::parse_axis_values;

std::vector<std::string> texts(const std::string& value) {
  std::vector<std::string> out;
  for (const auto& v : parse_axis_values("k", value)) out.push_back(v.text);
  return out;
}

std::string error_of(const std::string& value) {
  try {
    parse_axis_values("k", value);
  } catch (const loom::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("axis values follow Hydra's multirun syntax", "[sweep][axis]") {
  using V = std::vector<std::string>;
  CHECK(texts("a,b,c") == V{"a", "b", "c"});
  CHECK(texts(" 1 , 2 ") == V{"1", "2"});
  CHECK(texts("range(1,4)") == V{"1", "2", "3"});
  CHECK(texts("range(5,0,-2)") == V{"5", "3", "1"});
  CHECK(texts("range(0,1,0.25)") == V{"0", "0.25", "0.5", "0.75"});
  CHECK(texts("range(0,2),7") == V{"0", "1", "7"});
  CHECK(texts("choice(x,y)") == V{"x", "y"});
  // Quotes, brackets and braces keep their commas; the label drops the quotes.
  CHECK(texts("'a,b',c") == V{"'a,b'", "c"});
  CHECK(parse_axis_values("k", "\"a,b\",c")[0].label == "a,b");
  CHECK(texts("[1,2],[3]") == V{"[1,2]", "[3]"});
  CHECK(texts("{a: 1, b: 2},{a: 3}") == V{"{a: 1, b: 2}", "{a: 3}"});
}

TEST_CASE("single values are fixed overrides and bad syntax names the assignment", "[sweep][axis]") {
  using loom::sweep::is_sweep_value;
  CHECK_FALSE(is_sweep_value("0.1"));
  CHECK_FALSE(is_sweep_value("[1,2]"));
  CHECK_FALSE(is_sweep_value("'a,b'"));
  CHECK(is_sweep_value("1,2"));
  CHECK(is_sweep_value("range(3)"));
  CHECK(is_sweep_value("[1,2"));  // malformed: reported by parse_axis_values
  CHECK_THAT(error_of("1,,2"), Catch::Contains("sweep axis 'k=1,,2': value 2 of 3 is empty"));
  CHECK_THAT(error_of("1,2,"), Catch::Contains("value 3 of 3 is empty"));
  CHECK_THAT(error_of("[1,2"), Catch::Contains("'k=[1,2'") && Catch::Contains("missing ']'"));
  CHECK_THAT(error_of("a]"), Catch::Contains("unbalanced ']'"));
  CHECK_THAT(error_of("'a,b"), Catch::Contains("unclosed quote"));
  CHECK_THAT(error_of("range(3,1)"), Catch::Contains("'k=range(3,1)'") && Catch::Contains("no values"));
  CHECK_THAT(error_of("range(1,2,0)"), Catch::Contains("the step is 0"));
  CHECK_THAT(error_of("range(1)"), Catch::Contains("range takes (start, stop)"));
  CHECK_THAT(error_of("range(a,3)"), Catch::Contains("'a' is not a number"));
  CHECK_THAT(error_of("glob(*),1"), Catch::Contains("unknown sweep function 'glob'"));
}

TEST_CASE("sweep-file values become override text that loads back", "[sweep][axis]") {
  loom::ConfigNode file = loom::parse_yaml("v: [0.1, [1, 2], {a: x}, 'q: r', true]\n", "values.yaml");
  std::vector<std::string> got;
  for (const auto& item : file.find("v")->items()) got.push_back(loom::sweep::axis_value(item).text);
  CHECK(got == std::vector<std::string>{"0.1", "[1, 2]", "{a: x}", "\"q: r\"", "true"});
  CHECK(loom::sweep::axis_value(file.find("v")->items()[3]).label == "q: r");
  for (size_t i = 0; i < got.size(); ++i) {
    loom::ConfigNode root = loom::ConfigNode::make_map({});
    loom::apply_override(root, "x=" + got[i]);
    CHECK(loom::to_flow_yaml(*root.find("x")) == loom::to_flow_yaml(file.find("v")->items()[i]));
  }
}
