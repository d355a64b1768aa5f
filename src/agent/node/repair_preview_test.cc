#include "agent/node/repair_preview.h"

#include <gtest/gtest.h>

namespace agent::node {
namespace {

TEST(RepairPreview, InSync) {
  auto p = ParsePreviewSummary("Repair preview completed successfully; Previewed data was in sync");
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.ranges, 0);
  EXPECT_EQ(p.bytes, 0);
  EXPECT_TRUE(p.tables.empty());
}

TEST(RepairPreview, Mismatches) {
  auto p = ParsePreviewSummary(
      "Repair preview completed successfully; Preview complete\n"
      "Total estimated streaming: 5 ranges, 6 sstables, 1.500KiB bytes\n"
      "ks.a - 3 ranges, 4 sstables, 1.000KiB bytes\n"
      "    Mismatching ranges: (-10,20],(20,30],\n"
      "    /10.0.0.1:7000 -> /10.0.0.2:7000: 3 ranges, 4 sstables, 1.000KiB bytes\n"
      "ks.b - 2 ranges, 2 sstables, 0.500KiB bytes\n"
      "ks.c - 0 ranges, 0 sstables, 0.000KiB bytes\n");
  EXPECT_TRUE(p.done);
  EXPECT_EQ(p.ranges, 5);
  EXPECT_EQ(p.sstables, 6);
  EXPECT_EQ(p.bytes, 1536);
  EXPECT_EQ(p.tables, (std::vector<std::string>{"ks.a", "ks.b"}));
}

TEST(RepairPreview, UnitsAndSeparators) {
  EXPECT_EQ(
      ParsePreviewSummary("Total estimated streaming: 1 ranges, 1 sstables, 2.000 MiB bytes").bytes,
      2 << 20);
  EXPECT_EQ(
      ParsePreviewSummary("Total estimated streaming: 1 ranges, 1 sstables, 1,5GiB bytes").bytes,
      int64_t{3} << 29);
  EXPECT_EQ(
      ParsePreviewSummary("Total estimated streaming: 1 ranges, 1 sstables, 17bytes bytes").bytes,
      17);
}

TEST(RepairPreview, NotAPreview) {
  EXPECT_FALSE(ParsePreviewSummary("Repair command #3 finished in 2 seconds").done);
  EXPECT_FALSE(ParsePreviewSummary("").done);
}

}  // namespace
}  // namespace agent::node
