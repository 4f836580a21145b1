#include <catch2/catch.hpp>

#include <fstream>

#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "support/test_env.h"

using namespace loom;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

struct Inner {
  int64_t width = 8;
  std::vector<double> betas{0.9, 0.999};
  template <class V>
  void visit(V& v) {
    v("width", width, {.min = 1});
    v("betas", betas, {.min = 0.0, .max = 1.0});
  }
};

struct Outer {
  std::string name;
  double lr = 1e-3;
  bool amp = false;
  std::optional<int64_t> seed;
  std::string mode = "fast";
  Inner inner;
  template <class V>
  void visit(V& v) {
    v("name", name, {.required = true});
    v("lr", lr, {.min = 0.0});
    v("amp", amp);
    v("seed", seed);
    v("mode", mode, {.choices = {"fast", "exact"}});
    v("inner", inner);
  }
};

// The message of the ConfigError that `f` throws.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError thrown");
  return "";
}

}  // namespace

TEST_CASE("_base_ inheritance merges bases in order, then the file") {
  fs::path dir = test::scratch("config_base");
  write(dir / "common/a.yaml", "x: 1\nnested: {p: 1, q: 2}\nlist: [1, 2]\n");
  write(dir / "common/b.yaml", "_base_: a.yaml\nx: 2\nnested: {q: 3}\n");
  write(dir / "run.yaml", "_base_: [common/b.yaml]\nnested: {r: 4}\nlist: [5]\n");
  ConfigNode c = load_config((dir / "run.yaml").string());
  CHECK(c.find("x")->scalar() == "2");
  CHECK(c.find("nested")->find("p")->scalar() == "1");
  CHECK(c.find("nested")->find("q")->scalar() == "3");
  CHECK(c.find("nested")->find("r")->scalar() == "4");
  REQUIRE(c.find("list")->items().size() == 1);  // lists replace, maps merge
  CHECK(c.find("_base_") == nullptr);
  CHECK(c.find("x")->origin().file.find("b.yaml") != std::string::npos);
}

TEST_CASE("command-line overrides: scalars, lists, maps, list elements, new keys") {
  fs::path dir = test::scratch("config_override");
  write(dir / "run.yaml", "model: {width: 4, layers: [1, 2, 3]}\nlr: 0.1\n");
  ConfigNode c = load_config((dir / "run.yaml").string(),
                             {"lr=0.5", "model.layers.1=7", "model.extra={a: 1}", "tags=[x, y]", "new.deep.key=true"});
  CHECK(c.find("lr")->scalar() == "0.5");
  CHECK(c.find("model")->find("layers")->items()[1].scalar() == "7");
  CHECK(c.find("model")->find("width")->scalar() == "4");
  CHECK(c.find("model")->find("extra")->find("a")->scalar() == "1");
  CHECK(c.find("tags")->items().size() == 2);
  CHECK(c.find("new")->find("deep")->find("key")->scalar() == "true");
  CHECK(c.find("lr")->origin().file == "override 'lr=0.5'");
  CHECK_THROWS_WITH(apply_override(c, "model.layers.9=1"), Catch::Contains("past the end"));
  CHECK_THROWS_WITH(apply_override(c, "novalue"), Catch::Contains("expected key.path=value"));
  CHECK_THROWS_WITH(apply_override(c, "lr.x=1"), Catch::Contains("not a mapping"));
}

TEST_CASE("the resolved config prints as YAML that loads back to the same tree") {
  fs::path dir = test::scratch("config_roundtrip");
  write(dir / "run.yaml",
        "name: \"123\"\ntext: 'a: b # c'\nempty: ''\nnothing: null\nnums: [1, 2.5, -3e-4]\n"
        "blocks:\n  - {kind: conv, width: 3}\n  - kind: attn\n    heads: [1, 2]\nmap: {}\nflag: true\n");
  ConfigNode c = load_config((dir / "run.yaml").string());
  std::string once = to_yaml(c);
  write(dir / "again.yaml", once);
  ConfigNode again = load_config((dir / "again.yaml").string());
  CHECK(to_yaml(again) == once);
  CHECK(again.find("name")->quoted());
  CHECK(again.find("text")->scalar() == "a: b # c");
  CHECK(again.find("blocks")->items()[1].find("heads")->items().size() == 2);
}

TEST_CASE("options structs read values, keep defaults and validate") {
  ConfigNode c = parse_yaml("name: run\nlr: 2e-4\nseed: 7\ninner: {betas: [0.5, 0.6]}\n", "mem.yaml");
  Outer o = read_config<Outer>(c);
  CHECK(o.name == "run");
  CHECK(o.lr == Approx(2e-4));
  CHECK(o.seed == 7);
  CHECK(o.inner.width == 8);
  CHECK(o.inner.betas == std::vector<double>{0.5, 0.6});

  ConfigNode written = write_config(o);
  Outer back = read_config<Outer>(parse_yaml(to_yaml(written), "written.yaml"));
  CHECK(back.lr == o.lr);
  CHECK(back.inner.betas == o.inner.betas);
  CHECK(back.mode == "fast");
}

TEST_CASE("config errors name file, line and full key path") {
  auto read = [](const std::string& yaml) { return read_config<Outer>(parse_yaml(yaml, "exp.yaml")); };
  std::string unknown = error_of([&] { read("name: a\ninner:\n  widht: 3\n"); });
  CHECK_THAT(unknown, Catch::Contains("exp.yaml:3") && Catch::Contains("unknown key 'inner.widht'") &&
                          Catch::Contains("did you mean 'inner.width'"));
  CHECK_THAT(error_of([&] { read("name: a\nlr: fast\n"); }),
             Catch::Contains("exp.yaml:2: lr: expected a number, got 'fast'"));
  CHECK_THAT(error_of([&] { read("name: a\nlr: -1\n"); }),
             Catch::Contains("exp.yaml:2: lr:") && Catch::Contains("must be >= 0"));
  CHECK_THAT(error_of([&] { read("name: a\ninner: {betas: [0.5, 1.5]}\n"); }), Catch::Contains("inner.betas[1]"));
  CHECK_THAT(error_of([&] { read("lr: 1\n"); }), Catch::Contains("name: missing required value"));
  CHECK_THAT(error_of([&] { read("name: a\namp: 3\n"); }), Catch::Contains("amp: expected true or false"));
  CHECK_THAT(error_of([&] { read("name: a\nmode: exakt\n"); }), Catch::Contains("did you mean 'exact'"));
  CHECK_THAT(error_of([&] { read("name: [1]\n"); }), Catch::Contains("name: expected a string, got a list"));
  CHECK_THAT(error_of([&] { read("name: a\ninner: 5\n"); }), Catch::Contains("inner: expected a mapping"));
  CHECK_THAT(error_of([&] { parse_yaml("a: [1, 2\nb: 3\n", "bad.yaml"); }),
             Catch::Contains("bad.yaml:") && Catch::Contains("malformed YAML"));
  CHECK_THAT(error_of([&] { parse_yaml("a: 1\na: 2\n", "dup.yaml"); }),
             Catch::Contains("dup.yaml:2: duplicate key 'a'"));
}

TEST_CASE("file errors: missing files, missing bases and _base_ cycles") {
  fs::path dir = test::scratch("config_files");
  CHECK_THAT(error_of([&] { load_config((dir / "nope.yaml").string()); }),
             Catch::Contains("nope.yaml' does not exist"));
  write(dir / "a.yaml", "_base_: b.yaml\n");
  write(dir / "b.yaml", "_base_: a.yaml\n");
  CHECK_THAT(error_of([&] { load_config((dir / "a.yaml").string()); }),
             Catch::Contains("_base_ cycle: a.yaml -> b.yaml -> a.yaml"));
  write(dir / "c.yaml", "x: 1\n_base_: [missing.yaml]\n");
  CHECK_THAT(error_of([&] { load_config((dir / "c.yaml").string()); }),
             Catch::Contains("c.yaml:2: _base_: config file") && Catch::Contains("missing.yaml' does not exist"));
  write(dir / "list.yaml", "- 1\n- 2\n");
  CHECK_THAT(error_of([&] { load_config((dir / "list.yaml").string()); }), Catch::Contains("must be a mapping"));
}
