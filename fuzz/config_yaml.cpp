// The YAML config loader on one document's text: load_config reads it as a file (so the size and
// regular-file checks, _base_ inheritance relative to its folder, cycles and the top-level mapping
// check run as for `loom train`), then the resolved tree must survive to_yaml (config_support.h).
#include <cstddef>
#include <cstdint>

#include "config_support.h"
#include "core/config/config_loader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // In the scratch folder, not a memfd: the loader canonicalises the path to find _base_ files.
  const std::string path = loom::fuzz::write_scratch("config.yaml", data, size);
  loom::fuzz::expect_user_errors([&] { loom::fuzz::check_round_trip(loom::load_config(path)); });
  return 0;
}
