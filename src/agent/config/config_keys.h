// The cassandra.yaml keys a Cassandra version knows, derived from its own jar, so the agent
// works with the official image's layout alone (no config-keys.txt, and a JRE that cannot run
// a Java source probe). Reproduces images/cassandra/ListConfigKeys.java exactly: the public,
// non-static, non-final fields of org.apache.cassandra.config.Config (inherited public fields
// included, as Class.getFields() lists them), plus the old names of renamed keys: the `oldName`
// of every runtime-visible @Replaces/@ReplacesList on any public field, cut, like the probe's
// regex, to its leading [A-Za-z0-9_] characters.
//
// Pure except ConfigJarInDir/ConfigKeysFromLib, which read files. Thread-safe.
//
// Errors: NotFound when no jar holds Config.class (or a superclass is missing from the jar);
// InvalidArgument for a malformed jar or class; FailedPrecondition when no keys were found.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/config/render.h"

namespace agent::config {

inline constexpr absl::string_view kConfigClassEntry = "org/apache/cassandra/config/Config.class";

// Keys from the bytes of a jar that holds Config.class.
absl::StatusOr<KnownKeys> ConfigKeysFromJar(absl::string_view jar);

// The path of the jar in `dir` holding Config.class. The official image's
// apache-cassandra-<version>.jar and Maven's cassandra-all-<version>.jar are tried first.
absl::StatusOr<std::string> ConfigJarInDir(const std::string& dir);

struct DerivedKeys {
  std::string jar;  // the jar they came from
  KnownKeys keys;
};
absl::StatusOr<DerivedKeys> ConfigKeysFromLib(const std::string& dir);

}  // namespace agent::config
