// Configs as JSON: maps keep their order, and scalars are typed as YAML reads them (quotes keep strings).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/config/config_json.h"
#include "core/config/config_loader.h"

TEST_CASE("a config as JSON keeps key order and YAML's scalar types", "[config][json]") {
  const loom::ConfigNode node = loom::parse_yaml(
      "model: {name: clip, embed_dim: 64, eps: 1.0e-6, quick: false, tag: '12', bias: ~, none: null}\n"
      "list: [1, 2.5, abc, 'true']\n"
      "empty: {}\n",
      "json.yaml");
  const nlohmann::ordered_json j = loom::config_to_json(node);
  CHECK(j.dump() ==
        R"({"model":{"name":"clip","embed_dim":64,"eps":1e-06,"quick":false,"tag":"12","bias":null,"none":null},)"
        R"("list":[1,2.5,"abc","true"],"empty":{}})");
}
