#include "core/io/atomic_file.h"

#include "core/io/file_system.h"

namespace loom {

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  write_durably(path, [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

}  // namespace loom
