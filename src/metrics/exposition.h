// metrics::Exposition: one scrape's Prometheus text exposition (format 0.0.4), built by the
// caller from values it already holds, then rendered once. Each family's HELP (when given) and
// TYPE lines are written once, followed by all its samples, whatever order they were added in;
// families appear in the order they were first declared.
//
// Why our own small module and not prometheus-cpp: every exporter here already holds its values
// (the agent re-reads ~1,500 series from one Jolokia bulk read per scrape, wholesale; the
// operator's counters live in Controller/WorkQueue snapshots; per-cluster gauges live and die
// with a Cluster). A registry of long-lived metric objects would make each of them mirror its
// state into the registry and remove stale series by hand; a per-scrape builder needs neither,
// nor a new package in two images. One escaper lives here (EscapeLabelValue).
//
// Names: metric and label names are not validated; callers pass constants that follow
// [a-zA-Z_:][a-zA-Z0-9_:]*. Label values are escaped here (backslash, double quote, newline).
// Thread-safety: none; build an Exposition on one thread (one per scrape).
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace metrics {

// Label name -> value, in the order written.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kSummary, kUntyped };

// Escapes a label value for the text format: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(absl::string_view value);

// The shortest text that reads back as exactly `value` ("42", "12.5", "1e+20"); NaN, +Inf, -Inf
// as Prometheus spells them.
std::string FormatValue(double value);

class Exposition {
 public:
  // Declares family `name`. Declaring it again keeps the first type and help.
  void Declare(absl::string_view name, Type type, absl::string_view help = {});

  // Adds a sample of family `family` (declared as untyped if not declared yet). The sample's
  // name is family + suffix: summaries write "_sum" and "_count" under one family.
  void Add(absl::string_view family, const Labels& labels, double value,
           absl::string_view suffix = {});

  // The text of every family declared so far, in declaration order.
  std::string Text() const;

 private:
  struct Family {
    std::string name;
    Type type;
    std::string help;
    std::string samples;  // rendered sample lines
  };
  Family& Get(absl::string_view name, Type type, absl::string_view help);

  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> index_;  // name -> families_ position
};

}  // namespace metrics
