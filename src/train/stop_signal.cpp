#include "train/stop_signal.h"

#include <atomic>
#include <csignal>

namespace loom::stop_signal {
namespace {

std::atomic<int> received{0};

extern "C" void on_signal(int signal) {
  received.store(signal);
  std::signal(signal, SIG_DFL);  // the next one is not caught
}

}  // namespace

void install() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool requested() { return received.load() != 0; }
int signal_number() { return received.load(); }
void reset() { received.store(0); }

}  // namespace loom::stop_signal
