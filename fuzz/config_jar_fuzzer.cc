// Fuzzes the jar reader and the class-file parser that `agent init` uses to list cassandra.yaml
// keys from Cassandra's jar (agent/config/config_keys.h). The input is read both as a jar (find
// Config.class and its supertypes, inflate, parse) and as a bare class file. Either must return
// a status, never crash, read out of bounds or run away.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/class_file.h"
#include "agent/config/config_keys.h"
#include "agent/config/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)agent::config::ConfigKeysFromJar(input);
  // A small limit, so a hostile declared size cannot make the fuzzer allocate gigabytes.
  auto entry = agent::config::ReadZipEntry(input, agent::config::kConfigClassEntry, 1 << 20);
  if (entry.ok()) (void)agent::config::ParseClassFile(*entry);
  auto c = agent::config::ParseClassFile(input);
  if (c.ok()) {
    for (const auto& f : c->fields) {
      for (const auto& a : f.annotations) (void)agent::config::SimpleTypeName(a.type);
    }
  }
  return 0;
}
