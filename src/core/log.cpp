#include "core/log.h"

#include <filesystem>
#include <memory>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace loom::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;

  State() {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    logger = std::make_shared<spdlog::logger>("loom", console);
    logger->set_pattern("%^[%H:%M:%S %L]%$ %v");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::warn);
  }
};

State& state() {
  static State s;
  return s;
}

}  // namespace

void write(Level level, std::string_view message) { state().logger->log(to_spdlog(level), "{}", message); }

void set_level(Level level) { state().logger->set_level(to_spdlog(level)); }

Level level() {
  switch (state().logger->level()) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::debug;
    case spdlog::level::info:
      return Level::info;
    case spdlog::level::warn:
      return Level::warn;
    default:
      return Level::error;
  }
}

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn") return Level::warn;
  if (name == "error") return Level::error;
  throw UserError("unknown log level '" + std::string(name) + "' (expected debug, info, warn or error)");
}

void set_file(const std::string& path) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  auto& sinks = s.logger->sinks();
  if (s.file) std::erase(sinks, std::static_pointer_cast<spdlog::sinks::sink>(s.file));
  s.file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  s.file->set_pattern("[%Y-%m-%d %H:%M:%S.%e %L] %v");
  sinks.push_back(s.file);
}

void flush() { state().logger->flush(); }

}  // namespace loom::log
