// All-reduce bandwidth of two Gloo ranks on loopback (what GradientReducer's 25 MB buckets see).
// Run without arguments: the program starts itself as ranks 0 and 1 on a free port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "train/distributed/process_group.h"

extern char** environ;

namespace {

int spawn_ranks(char* self) {
  const std::string port = std::to_string(loom::free_loopback_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    std::vector<std::string> vars{"RANK=" + std::to_string(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                                  "MASTER_PORT=" + port};
    std::vector<char*> env;
    for (auto& v : vars) env.push_back(v.data());
    for (char** e = environ; *e; ++e) env.push_back(*e);
    env.push_back(nullptr);
    char* argv[] = {self, nullptr};
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, env.data()) != 0) return 1;
    pids.push_back(pid);
  }
  int rc = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  }
  return rc;
}

}  // namespace

int main(int, char** argv) {
  if (!std::getenv("RANK")) return spawn_ranks(argv[0]);
  at::set_num_threads(1);
  loom::DistributedOptions options;
  options.backend = "gloo";
  auto pg = loom::ProcessGroup::create(loom::detect_launch_environment(), options);
  for (int64_t bytes : {int64_t(1) << 20, int64_t(25) << 20}) {
    std::vector<at::Tensor> t{at::ones({bytes / 4})};
    pg->all_reduce_sum(t);  // warm-up: connections and buffers
    pg->barrier();
    const int iterations = bytes > (int64_t(1) << 20) ? 10 : 50;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) pg->all_reduce_sum(t);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
    // Bus bandwidth: what each rank sends and receives in a ring all-reduce, 2 (n-1)/n of the buffer.
    if (pg->rank() == 0)
      std::printf("all_reduce %5.1f MB, 2 gloo ranks, loopback: %7.2f ms  algbw %.2f GB/s  busbw %.2f GB/s\n",
                  bytes / 1048576.0, seconds * 1e3, bytes / seconds / 1e9, bytes / seconds / 1e9 * 2 * (2 - 1) / 2);
  }
  return 0;
}
