#include "metrics/exposition.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace metrics {
namespace {

TEST(EscapeLabelValueTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("plain-value_1.2"), "plain-value_1.2");
  EXPECT_EQ(EscapeLabelValue(R"(a\b)"), R"(a\\b)");
  EXPECT_EQ(EscapeLabelValue(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), R"(two\nlines)");
  EXPECT_EQ(EscapeLabelValue("\\\"\n"), R"(\\\"\n)");
  EXPECT_EQ(EscapeLabelValue(""), "");
}

TEST(FormatValueTest, ShortestExactForm) {
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(12.5), "12.5");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(ExpositionTest, WritesEachFamilyOnceWithItsSamplesTogether) {
  Exposition e;
  e.Declare("requests_total", Type::kCounter, "Requests by verb.");
  e.Declare("up", Type::kGauge);
  e.Add("requests_total", {{"verb", "GET"}}, 3);
  e.Add("up", {}, 1);
  e.Add("requests_total", {{"verb", "PUT"}}, 1);
  e.Declare("requests_total", Type::kGauge, "ignored: the first declaration wins");
  EXPECT_EQ(e.Text(),
            "# HELP requests_total Requests by verb.\n"
            "# TYPE requests_total counter\n"
            "requests_total{verb=\"GET\"} 3\n"
            "requests_total{verb=\"PUT\"} 1\n"
            "# TYPE up gauge\n"
            "up 1\n");
}

TEST(ExpositionTest, EscapesLabelValuesAndWritesSummarySuffixes) {
  Exposition e;
  e.Declare("work_seconds", Type::kSummary, "Time\\spent\nworking.");
  e.Add("work_seconds", {{"name", "a\"b\\c\nd"}, {"pod", "p"}}, 0.5, "_sum");
  e.Add("work_seconds", {{"name", "x"}}, 2, "_count");
  EXPECT_EQ(e.Text(),
            "# HELP work_seconds Time\\\\spent\\nworking.\n"
            "# TYPE work_seconds summary\n"
            "work_seconds_sum{name=\"a\\\"b\\\\c\\nd\",pod=\"p\"} 0.5\n"
            "work_seconds_count{name=\"x\"} 2\n");
}

TEST(ExpositionTest, UndeclaredFamilyIsUntypedAndEmptyFamilyHasNoSamples) {
  Exposition e;
  e.Declare("empty", Type::kGauge, "No series yet.");
  e.Add("loose", {}, 7);
  EXPECT_EQ(e.Text(),
            "# HELP empty No series yet.\n# TYPE empty gauge\n"
            "# TYPE loose untyped\nloose 7\n");
}

}  // namespace
}  // namespace metrics
