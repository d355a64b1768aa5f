#include "base/stop_signals.h"

#include <mutex>
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
  closing_ = true;  // seen by the waiting thread within one wait period
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

void StopSignals::Wait() {
  // A bounded wait, so that the destructor can end the thread without sending it a signal.
  const timespec period{0, 100'000'000};
  while (!closing_) {
    const int signal = sigtimedwait(&signals_, nullptr, &period);
    if (signal > 0) on_signal_(signal);  // else timeout (EAGAIN) or EINTR: look at closing_
  }
}

void IgnoreBrokenPipes() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

}  // namespace base
