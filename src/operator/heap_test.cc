#include "operator/heap.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringkeeper {
namespace {

constexpr size_t kMiB = 1 << 20;

// Many small allocations, as a pass's parsed responses are.
std::vector<std::unique_ptr<char[]>> Garbage(size_t total, size_t each) {
  std::vector<std::unique_ptr<char[]>> out;
  out.reserve(total / each);
  for (size_t n = 0; n < total; n += each) {
    out.emplace_back(new char[each]);
    std::memset(out.back().get(), 1, each);  // touched: resident
  }
  return out;
}

TEST(HeapTest, CountsWhatIsInUse) {
  const HeapFigures before = ReadHeapFigures();
  auto garbage = Garbage(16 * kMiB, 200);
  const HeapFigures during = ReadHeapFigures();
  EXPECT_GE(during.in_use, before.in_use + 16 * kMiB) << HeapAllocatorName();
  garbage.clear();
  garbage.shrink_to_fit();
  EXPECT_LT(ReadHeapFigures().in_use, before.in_use + kMiB) << HeapAllocatorName();
}

#if RINGKEEPER_JEMALLOC
TEST(HeapTest, IsJemallocGivingFreedPagesBackAtOnce) {
  EXPECT_STREQ(HeapAllocatorName(), "jemalloc");
  const HeapFigures before = ReadHeapFigures();  // free: jemalloc's own metadata, ~2 MiB
  auto garbage = Garbage(16 * kMiB, 200);
  garbage.clear();
  garbage.shrink_to_fit();
  // The compiled-in settings (decay 0): nothing of the 16 MiB stays resident.
  EXPECT_LT(ReadHeapFigures().free, before.free + kMiB);
}
#endif

}  // namespace
}  // namespace ringkeeper
