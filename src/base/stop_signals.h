// base::StopSignals: SIGTERM and SIGINT taken by a normal thread with sigwait, so what a
// process does to stop (lock a mutex, log, stop a leader elector) runs outside signal context,
// where only async-signal-safe calls are allowed.
//
// The constructor blocks both signals in the calling thread; threads started afterwards inherit
// the mask, so construct it first thing in main, before any thread exists (one that already
// runs with the signals unblocked would take them in the default way: the process dies).
// `on_signal` runs on the waiting thread for every SIGTERM/SIGINT, one at a time, with the
// signal number; it may be called more than once and must be thread-safe against its callers.
// The destructor joins the thread (within 0.1 s) and restores the caller's previous mask; a
// signal arriving after that acts as it would have without this class. One instance per process.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace base {

class StopSignals {
 public:
  explicit StopSignals(std::function<void(int signal)> on_signal);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void Wait();

  const std::function<void(int)> on_signal_;
  sigset_t signals_;
  sigset_t previous_;
  std::atomic<bool> closing_{false};
  std::thread thread_;
};

// Makes a write to a connection the peer has closed fail with EPIPE instead of killing the
// process with SIGPIPE (the default action). cpp-httplib writes TLS through OpenSSL, which sends
// without MSG_NOSIGNAL, so every process that makes HTTP(S) requests needs this; the HTTP
// clients (kube::NewHttpTransport, s3::Client) call it. Idempotent, thread-safe.
void IgnoreBrokenPipes();

}  // namespace base
