// The node's curated metrics (DESIGN.md "Metrics"), read from Cassandra's MBeans by exact name.
//
// Why exact names: an MBean pattern (`type=Table,keyspace=*,...`) makes the JVM match every one
// of its thousands of MBeans for each pattern, on every scrape: at 100 tables one scrape cost p99
// ~600 ms and ~560 ms of Cassandra CPU. Reading the same attributes by exact name costs p99 ~38 ms
// and ~47 ms of CPU (src/agent/testing/metrics_ways.py measured the ways side by side). The names
// come from a catalogue found with Jolokia searches (names only, no attributes read), kept until
// the schema changes, a name stops answering, or it is a minute old (thread pools are created
// lazily, e.g. the repair ones).
//
// Per-table series cover the tables of user keyspaces; the system keyspaces' tables are in the
// node-wide figures (compactions, load) only.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "metrics/exposition.h"
#include "nlohmann/json.hpp"

namespace agent::node {

// What the node has to read, by name.
struct MetricCatalog {
  std::vector<std::pair<std::string, std::string>> tables;  // (keyspace, table), user keyspaces
  std::vector<std::string> request_types;                   // ClientRequest scopes: Read, Write...
  std::vector<std::string> dropped_message_types;           // DroppedMessage scopes: MUTATION...
  std::vector<std::string> gc_collectors;                   // "G1 Young Generation"...
  std::vector<std::pair<std::string, std::string>> thread_pools;  // (path, pool)
  std::string schema_version;  // the schema the tables were found in ("" when unread)
};

// The Jolokia searches (one bulk) that find the catalogue's names.
nlohmann::json CatalogRequests();
// The catalogue from the searches' answers (same order as CatalogRequests); a search that failed
// leaves its part empty.
MetricCatalog ParseCatalog(const nlohmann::json& responses);

// One scrape's exact reads for a catalogue, and the rendering of their answers. Immutable once
// built; share it between scrapes.
class MetricPlan {
 public:
  explicit MetricPlan(const MetricCatalog& catalog);

  // The bulk read (one POST). Its last request reads StorageService (operation mode, schema
  // version, the ring as this node sees it).
  const nlohmann::json& requests() const { return requests_; }

  struct Scrape {
    std::string text;            // Prometheus text, every series with the given labels first
    std::string schema_version;  // "" when it could not be read
    int missing = 0;             // reads answered "no such MBean" (a table dropped...)
  };
  // Renders the answers to requests(). Values Jolokia cannot give (NaN, strings) are skipped.
  Scrape Render(const nlohmann::json& responses, const metrics::Labels& labels) const;

 private:
  struct Read {
    size_t spec;                                              // index into the specs
    std::vector<std::pair<std::string, std::string>> labels;  // label name -> value
  };
  nlohmann::json requests_;
  std::vector<Read> reads_;  // parallel to requests_, but for the trailing StorageService read
};

// Size of the filesystem holding `path`: the data volume's used and available bytes, as `df`
// counts them (available is what Cassandra, not root, may still write).
struct VolumeUsage {
  double used_bytes = 0;
  double available_bytes = 0;
};
bool ReadVolumeUsage(const std::string& path, VolumeUsage& out);
void RenderVolumeUsage(const VolumeUsage& usage, const metrics::Labels& labels,
                       metrics::Exposition& out);

}  // namespace agent::node
