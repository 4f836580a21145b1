#pragma once
// Small files that must never be seen half-written (pointers such as `latest`, resolved configs).
#include <filesystem>
#include <string>

namespace loom {

// Writes `text` to `path` (creating its folder) through write_durably (core/io/file_system.h).
// Throws UserError naming the path.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace loom
