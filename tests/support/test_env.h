#pragma once
// What a test needs from its environment: the Python with the reference packages, the source tree, a
// scratch folder in the build tree, and the built binaries. The build compiles the defaults in
// (tests/CMakeLists.txt), so a test executable or a single case runs by hand as under ctest; the
// environment variables of the same names override them.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/io/file_system.h"
#include "core/text/cat.h"
#include "train/distributed/process_group.h"

namespace loom::test {

inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline std::string python() { return env_or("LOOM_PYTHON", LOOM_TEST_PYTHON); }
inline std::filesystem::path source_dir() { return env_or("LOOM_SOURCE_DIR", LOOM_TEST_SOURCE_DIR); }
inline std::filesystem::path bin_dir() { return env_or("LOOM_BIN", LOOM_TEST_BIN_DIR); }

// Folder trees are deleted with loom::remove_tree (core/io/file_system.h), never std::filesystem::remove_all:
// libtorch.so exports its own copy of it, which test executables bind to and which crashes on non-empty folders.
using loom::remove_tree;

// A fresh, empty folder for one test case under $LOOM_TEST_DATA.
inline std::filesystem::path scratch(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(env_or("LOOM_TEST_DATA", LOOM_TEST_DATA_DIR)) / name;
  remove_tree(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct CommandResult {
  int code;            // exit status; -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs a shell command and captures what it prints.
inline CommandResult run_command(const std::string& command) {
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The built `loom` with arguments.
inline CommandResult run_loom(const std::string& args) {
  return run_command(cat((bin_dir() / "loom").string(), " ", args));
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `command` as ranks 0..world-1 of a local job in the environment torchrun would give them
// (127.0.0.1, a free port; `env` adds variables), each under `timeout hard_limit` so a hang fails the
// test; logs go to `dir`. Returns each rank's exit code and output.
inline std::vector<CommandResult> run_ranks(int world, const std::string& command, const std::filesystem::path& dir,
                                            const std::string& env = "", int hard_limit = 180) {
  const int port = free_loopback_port();
  std::string all;
  for (int r = 0; r < world; ++r)
    all += cat("( env -u TORCHELASTIC_USE_AGENT_STORE -u SLURM_PROCID MASTER_ADDR=127.0.0.1 MASTER_PORT=", port,
               " WORLD_SIZE=", world, " RANK=", r, " LOCAL_RANK=", r, " ", env, " timeout ", hard_limit, " ", command,
               " > ", (dir / cat("rank", r, ".log")).string(), " 2>&1; echo $? > ",
               (dir / cat("rank", r, ".rc")).string(), " ) & ");
  run_command(all + "wait");
  std::vector<CommandResult> ranks;
  for (int r = 0; r < world; ++r)
    ranks.push_back({std::stoi(read_text(dir / cat("rank", r, ".rc"))), read_text(dir / cat("rank", r, ".log"))});
  return ranks;
}

// Starts `program args...` as a child process with `env` ("NAME=value") added; returns its pid.
inline pid_t spawn(const std::string& program, const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}) {
  std::vector<std::string> storage{program};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Runs tests/python/<script> with the reference Python; returns its exit status (0 = success).
inline int run_python(const std::string& script, const std::string& args) {
  std::string cmd = cat(python(), " ", (source_dir() / "tests" / "python" / script).string(), " ", args);
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace loom::test
