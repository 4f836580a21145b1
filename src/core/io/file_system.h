#pragma once
// File-system steps that must survive crashes, shared by every writer of the project: durable writes,
// the naming rule of temporaries, and deleting trees.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace loom {

// Every temporary is named ".tmp-[<role>-]<name>-<pid>" next to what it becomes: hidden, and telling a
// cleanup whose it is (temporary_writer). `role` tells apart several temporaries of one target ("old").
std::filesystem::path temporary_path(const std::filesystem::path& target, const std::string& role = "");
// The pid in a temporary's name; 0 when the name does not end in one.
int64_t temporary_writer(const std::string& filename);

// Writes `path` so that readers (also after a crash) see the old file or the whole new one: `write` fills
// a temporary (temporary_path), which is fsynced and renamed over `path`, then the folder is fsynced.
// Creates the folder. Throws UserError naming the path (or what `write` threw), leaving no temporary.
void write_durably(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

// fsync of a folder: renames and new entries in it are durable only after this.
void sync_folder(const std::filesystem::path& folder);

// Deletes a file or a folder tree; true when nothing is left. Not std::filesystem::remove_all: libtorch.so
// exports its own copy of it, which binaries bind to and which crashes on non-empty folders.
bool remove_tree(const std::filesystem::path& path);

// The whole file; nullopt when it cannot be read (missing, a folder or a FIFO, a read error), with the
// reason in `why` when given.
std::optional<std::string> read_file(const std::filesystem::path& path, std::string* why = nullptr);

}  // namespace loom
