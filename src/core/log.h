#pragma once
// Logging facade. The implementation (log.cpp) uses spdlog with Debian's fmt 9 and is compiled in a
// target without torch include paths, because the torch wheel ships fmt 12 headers that would shadow
// fmt 9. Callers build messages with loom::cat.
#include <string>
#include <string_view>

#include "core/text/cat.h"

namespace loom::log {

enum class Level { debug, info, warn, error };

void write(Level level, std::string_view message);
void set_level(Level level);
Level level();
Level parse_level(std::string_view name);  // "debug" | "info" | "warn" | "error"; throws UserError
// Also write every message to this file (created with its directories); replaces an earlier file sink.
void set_file(const std::string& path);
void flush();

}  // namespace loom::log

#define LOOM_DEBUG(...) ::loom::log::write(::loom::log::Level::debug, ::loom::cat(__VA_ARGS__))
#define LOOM_INFO(...) ::loom::log::write(::loom::log::Level::info, ::loom::cat(__VA_ARGS__))
#define LOOM_WARN(...) ::loom::log::write(::loom::log::Level::warn, ::loom::cat(__VA_ARGS__))
#define LOOM_ERROR(...) ::loom::log::write(::loom::log::Level::error, ::loom::cat(__VA_ARGS__))
