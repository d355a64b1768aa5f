// Helpers for integration tests that run against the real API server started by
// test/env/kube-env.sh. Tests fail (never skip) when the environment is missing.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kube/client.h"

namespace kube::testing {

// A client for $KUBECONFIG (admin). Aborts the test with instructions when it is unset.
std::unique_ptr<Client> AdminClient();
// A client from another kubeconfig the environment wrote ("kubeconfig-limited", ...).
std::unique_ptr<Client> ClientFor(const std::string& kubeconfig_name);

// Creates a namespace "<prefix>-<random>" and returns its name.
std::string CreateNamespace(Client& client, const std::string& prefix);

// Runs `kube-env.sh <subcommand>` (restart-apiserver, compact-etcd, ...).
absl::Status RunEnvScript(const std::string& subcommand);

// Polls `predicate` every `interval` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& predicate, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(50));

}  // namespace kube::testing
