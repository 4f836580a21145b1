#include "data/synthetic/generated_folder.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"

namespace loom::data {

namespace fs = std::filesystem;

bool generated_folder_ready(const std::string& dir, const std::string& stamp) {
  std::ifstream in(fs::path(dir) / "done");
  std::stringstream text;
  text << in.rdbuf();
  return in && text.str() == stamp;
}

void generate_folder(const std::string& dir, const std::string& stamp,
                     const std::function<void(const fs::path& tmp)>& write) {
  if (generated_folder_ready(dir, stamp)) return;
  const fs::path target(dir);
  const fs::path tmp = temporary_path(target);
  remove_tree(tmp);
  fs::create_directories(tmp);
  try {
    write(tmp);
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  std::ofstream(tmp / "done") << stamp;
  // Another process (a rank of the same job) may have finished first: keep its folder, which readers
  // may already be using.
  if (generated_folder_ready(dir, stamp)) {
    remove_tree(tmp);
    return;
  }
  // Swap into place; an older (different) version is moved aside first and deleted after.
  const fs::path old = temporary_path(target, "old");
  std::error_code ec;
  if (fs::exists(target)) fs::rename(target, old, ec);
  fs::rename(tmp, target, ec);
  if (ec) {
    remove_tree(tmp);  // another process won the race; its folder is used if it is complete
    if (!generated_folder_ready(dir, stamp))
      throw UserError(cat("cannot create the generated data folder ", dir, ": ", ec.message()));
  }
  remove_tree(old);
}

}  // namespace loom::data
