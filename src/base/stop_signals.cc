#include "base/stop_signals.h"

#include <pthread.h>

#include <utility>

namespace base {

StopSignals::StopSignals(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  thread_ = std::thread([this] { Wait(); });  // inherits the blocked mask
}

StopSignals::~StopSignals() {
  closing_ = true;
  // A signal sent to the waiting thread alone: its sigwait returns and it sees closing_.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

void StopSignals::Wait() {
  while (true) {
    int signal = 0;
    if (sigwait(&signals_, &signal) != 0) continue;
    if (closing_) return;
    on_signal_(signal);
  }
}

}  // namespace base
