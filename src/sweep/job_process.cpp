#include "sweep/job_process.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"
#include "core/text/join.h"

extern char** environ;

namespace loom::sweep {

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

std::string JobCommand::shell() const {
  std::vector<std::string> words = env;
  for (const auto& a : argv) words.push_back(shell_quote(a));
  return join(words, " ");
}

JobCommand job_command(const Manifest& manifest, const Job& job, const SweepLayout& layout, int64_t threads,
                       Runner runner) {
  JobCommand c;
  if (runner == Runner::torchrun) {
    std::string launcher = manifest.torchrun;
    for (size_t start = 0; start < launcher.size();) {  // a command with arguments, split at spaces
      size_t end = launcher.find(' ', start);
      if (end == std::string::npos) end = launcher.size();
      if (end > start) c.argv.push_back(launcher.substr(start, end - start));
      start = end + 1;
    }
    for (const char* a : {"--standalone", "--nproc-per-node"}) c.argv.emplace_back(a);
    c.argv.push_back(std::to_string(manifest.ranks));
    c.argv.emplace_back("--no-python");
  } else if (runner == Runner::srun) {
    c.argv = {"srun", cat("--ntasks=", manifest.ranks)};
  }
  for (const char* a : {manifest.binary.c_str(), "train", manifest.config.c_str()}) c.argv.emplace_back(a);
  bool own_threads = false;
  for (const auto& o : manifest.fixed) {
    c.argv.push_back(o);
    own_threads = own_threads || o.starts_with("train.threads=");
  }
  for (const auto& o : job.overrides()) {
    c.argv.push_back(o);
    own_threads = own_threads || o.starts_with("train.threads=");
  }
  c.argv.push_back(cat("output.root=", layout.jobs().string()));
  c.argv.push_back(cat("output.name=", job.id));
  c.argv.emplace_back("output.id=run");
  c.argv.emplace_back("resume=auto");
  if (threads > 0 && !own_threads) {
    c.argv.push_back(cat("train.threads=", threads));
    c.env.push_back(cat("OMP_NUM_THREADS=", threads));
  }
  return c;
}

std::optional<RunningJob> start_job(const SweepLayout& layout, const Job& job, const JobCommand& command) {
  std::filesystem::create_directories(layout.job(job.id));
  const int lock = open(layout.lock(job.id).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) throw UserError(cat(layout.lock(job.id).string(), ": cannot open (", std::strerror(errno), ")"));
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    close(lock);
    return std::nullopt;
  }
  RunningJob running{&job, 0, lock, read_status(layout.status(job.id)), std::chrono::steady_clock::now()};
  remove_tree(layout.run(job.id) / "summary.json");  // the next one tells how this attempt ended
  const int log = open(layout.log(job.id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw UserError(cat(layout.log(job.id).string(), ": cannot open (", std::strerror(errno), ")"));
  const std::string banner =
      cat("=== ", local_time_now(), " attempt ", running.status.attempts + 1, ": ", command.shell(), "\n");
  (void)!write(log, banner.data(), banner.size());  // the log is best effort; the status file is not

  // Everything the child needs is built before fork: between fork and exec only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& e : command.env) env_strings.push_back(e);
  std::vector<char*> argv, envp;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    const std::string reason = std::strerror(errno);
    for (int fd : {null_in, log, lock}) close(fd);
    throw UserError(cat("cannot start job ", job.id, " (fork: ", reason, ")"));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(125);  // the sweep died before prctl took effect
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(null_in, 0);
    dup2(log, 1);
    dup2(log, 2);
    // The job itself holds its lock (fd 3, inherited through exec) until it exits, also when the sweep
    // is killed first; every other descriptor of the sweep is closed.
    if (lock != 3) dup2(lock, 3);
    close_range(4, ~0U, 0);
    execvpe(argv[0], argv.data(), envp.data());
    const char message[] = "loom sweep: cannot execute the job's command\n";
    (void)!write(2, message, sizeof message - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also from here, so a stop right after the fork reaches the group
  close(null_in);
  close(log);
  running.pid = pid;
  running.status.state = JobState::running;
  running.status.exit_code.reset();
  running.status.attempts += 1;
  running.status.started = local_time_now();
  running.status.finished.clear();
  running.status.pid = pid;
  running.status.host = hostname();
  write_status(layout.status(job.id), running.status);
  return running;
}

void stop_job(const RunningJob& running) {
  if (running.pid > 0) kill(-running.pid, SIGTERM);
}

const JobStatus& finish_job(const SweepLayout& layout, RunningJob& running, int wait_status, bool stop_requested) {
  JobStatus& s = running.status;
  const std::string id = running.job->id;
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    s.exit_code = 0;
    const std::optional<RunSummary> summary = read_run_summary(layout, id);
    const std::string how = summary ? summary->status : "";
    s.state = how == "finished" ? JobState::done : how == "interrupted" ? JobState::interrupted : JobState::failed;
  } else if (WIFEXITED(wait_status)) {
    s.exit_code = WEXITSTATUS(wait_status);
    s.state = JobState::failed;
  } else {
    s.exit_code = 128 + WTERMSIG(wait_status);
    s.state = stop_requested ? JobState::interrupted : JobState::failed;
  }
  s.finished = local_time_now();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - running.start).count();
  s.pid = 0;
  write_status(layout.status(id), s);
  if (running.lock_fd >= 0) close(running.lock_fd);  // the job, which held it too, has exited
  running.lock_fd = -1;
  return s;
}

std::optional<RunSummary> read_run_summary(const SweepLayout& layout, const std::string& id) {
  auto text = read_file(layout.run(id) / "summary.json");
  if (!text) return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(*text);
    RunSummary summary{j.at("status").get<std::string>(), {}};
    for (const auto& [name, value] : j.at("final_metrics").items())
      if (value.is_number()) summary.final_metrics[name] = value.get<double>();
    return summary;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string log_tail(const SweepLayout& layout, const std::string& id, int lines) {
  auto text = read_file(layout.log(id));
  if (!text) return "";
  size_t pos = text->size();
  if (pos > 0 && (*text)[pos - 1] == '\n') --pos;
  for (int n = 0; n < lines && pos != std::string::npos && pos > 0; ++n) pos = text->rfind('\n', pos - 1);
  return pos == std::string::npos ? *text : text->substr(pos + 1);
}

}  // namespace loom::sweep
