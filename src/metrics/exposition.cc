#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace metrics {
namespace {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kSummary:
      return "summary";
    case Type::kUntyped:
      break;
  }
  return "untyped";
}

// HELP text escapes only backslash and newline (the format's rule for docstrings).
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char ch : help) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    switch (ch) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);  // shortest exact form
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

Exposition::Family& Exposition::Get(absl::string_view name, Type type, absl::string_view help) {
  auto [it, inserted] = index_.try_emplace(std::string(name), families_.size());
  if (inserted) families_.push_back({std::string(name), type, std::string(help), {}});
  return families_[it->second];
}

void Exposition::Declare(absl::string_view name, Type type, absl::string_view help) {
  Get(name, type, help);
}

void Exposition::Add(absl::string_view family, const Labels& labels, double value,
                     absl::string_view suffix) {
  std::string& out = Get(family, Type::kUntyped, {}).samples;
  absl::StrAppend(&out, family, suffix);
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    out += '}';
  }
  absl::StrAppend(&out, " ", FormatValue(value), "\n");
}

std::string Exposition::Text() const {
  std::string out;
  for (const Family& f : families_) {
    if (!f.help.empty()) absl::StrAppend(&out, "# HELP ", f.name, " ", EscapeHelp(f.help), "\n");
    absl::StrAppend(&out, "# TYPE ", f.name, " ", TypeName(f.type), "\n", f.samples);
  }
  return out;
}

}  // namespace metrics
