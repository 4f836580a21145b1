#include "sweep/manifest.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/crc32c.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"

namespace loom::sweep {

namespace {

using Json = nlohmann::ordered_json;
constexpr int kManifestVersion = 1;

Json parse_json(const std::filesystem::path& path, const std::string& what) {
  auto text = read_file(path);
  if (!text) throw UserError(cat(path.string(), ": cannot read the ", what));
  try {
    return Json::parse(*text);
  } catch (const Json::exception& e) {
    throw UserError(cat(path.string(), ": not a readable ", what, " (", e.what(), ")"));
  }
}

}  // namespace

const Job* Manifest::find(const std::string& id) const {
  for (const auto& job : jobs)
    if (job.id == id) return &job;
  return nullptr;
}

void write_manifest(const std::filesystem::path& path, const Manifest& m) {
  Json j;
  j["version"] = kManifestVersion;
  j["name"] = m.name;
  j["config"] = m.config;
  j["fixed"] = m.fixed;
  j["config_hash"] = m.config_hash;
  j["binary"] = m.binary;
  j["binary_hash"] = m.binary_hash;
  j["metric"] = m.metric;
  j["mode"] = m.mode;
  j["ranks"] = m.ranks;
  j["torchrun"] = m.torchrun;
  j["jobs"] = Json::array();
  for (const auto& job : m.jobs) {
    Json swept = Json::array();
    for (const auto& [key, value] : job.swept)
      swept.push_back({{"key", key}, {"text", value.text}, {"label", value.label}});
    Json columns = Json::array();
    for (const auto& [column, label] : job.columns) columns.push_back({{"column", column}, {"label", label}});
    j["jobs"].push_back({{"id", job.id}, {"swept", swept}, {"columns", columns}});
  }
  write_file_atomically(path, j.dump(1) + "\n");
}

Manifest read_manifest(const std::filesystem::path& path) {
  Json j = parse_json(path, "sweep manifest");
  try {
    if (j.at("version").get<int>() != kManifestVersion)
      throw UserError(cat(path.string(), ": manifest version ", j.at("version").dump(), " (this loom reads ",
                          kManifestVersion, ")"));
    Manifest m;
    m.name = j.at("name").get<std::string>();
    m.config = j.at("config").get<std::string>();
    m.fixed = j.at("fixed").get<std::vector<std::string>>();
    m.config_hash = j.at("config_hash").get<std::string>();
    m.binary = j.at("binary").get<std::string>();
    m.binary_hash = j.at("binary_hash").get<std::string>();
    m.metric = j.at("metric").get<std::string>();
    m.mode = j.at("mode").get<std::string>();
    m.ranks = j.at("ranks").get<int64_t>();
    m.torchrun = j.at("torchrun").get<std::string>();
    for (const auto& row : j.at("jobs")) {
      Job job;
      job.id = row.at("id").get<std::string>();
      for (const auto& s : row.at("swept"))
        job.swept.emplace_back(s.at("key").get<std::string>(),
                               AxisValue{s.at("text").get<std::string>(), s.at("label").get<std::string>()});
      for (const auto& c : row.at("columns"))
        job.columns.emplace_back(c.at("column").get<std::string>(), c.at("label").get<std::string>());
      m.jobs.push_back(std::move(job));
    }
    return m;
  } catch (const Json::exception& e) {
    throw UserError(cat(path.string(), ": not a sweep manifest (", e.what(), ")"));
  }
}

const char* state_name(JobState state) {
  switch (state) {
    case JobState::pending:
      return "pending";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
    case JobState::interrupted:
      return "interrupted";
  }
  return "";
}

JobStatus read_status(const std::filesystem::path& path) {
  JobStatus s;
  if (!std::filesystem::exists(path)) return s;
  Json j = parse_json(path, "job status");
  try {
    const std::string state = j.at("state").get<std::string>();
    bool known = false;
    for (JobState candidate :
         {JobState::pending, JobState::running, JobState::done, JobState::failed, JobState::interrupted})
      if (state == state_name(candidate)) {
        s.state = candidate;
        known = true;
      }
    if (!known) throw UserError(cat(path.string(), ": unknown job state '", state, "'"));
    if (!j.at("exit_code").is_null()) s.exit_code = j.at("exit_code").get<int>();
    s.started = j.at("started").get<std::string>();
    s.finished = j.at("finished").get<std::string>();
    s.seconds = j.at("seconds").get<double>();
    s.attempts = j.at("attempts").get<int64_t>();
    s.requeues = j.value("requeues", int64_t{0});
    s.pid = j.at("pid").get<int64_t>();
    s.host = j.at("host").get<std::string>();
    return s;
  } catch (const Json::exception& e) {
    throw UserError(cat(path.string(), ": not a job status (", e.what(), ")"));
  }
}

void write_status(const std::filesystem::path& path, const JobStatus& s) {
  Json j;
  j["state"] = state_name(s.state);
  j["exit_code"] = s.exit_code ? Json(*s.exit_code) : Json(nullptr);
  j["started"] = s.started;
  j["finished"] = s.finished;
  j["seconds"] = s.seconds;
  j["attempts"] = s.attempts;
  j["requeues"] = s.requeues;
  j["pid"] = s.pid;
  j["host"] = s.host;
  write_file_atomically(path, j.dump(1) + "\n");
}

std::string hash_text(const std::string& text) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", crc32c(text));
  return hex;
}

std::string hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  uint32_t crc = 0;
  std::vector<char> buffer(1 << 20);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    crc = crc32c_extend(crc, buffer.data(), static_cast<size_t>(in.gcount()));
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", crc);
  return hex;
}

std::string local_time_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  return buffer;
}

}  // namespace loom::sweep
