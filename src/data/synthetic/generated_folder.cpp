#include "data/synthetic/generated_folder.h"

#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/text/cat.h"
#include "core/error.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

// Removes a folder tree (std::filesystem::remove_all is unusable: libtorch exports a broken copy).
void remove_tree(const fs::path& dir) {
  nftw(dir.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); }, 16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace

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
  const fs::path tmp = cat(target.string(), ".tmp-", ::getpid());
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
  const fs::path old = cat(target.string(), ".old-", ::getpid());
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
