#include "operator/heap.h"

#if RINGKEEPER_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <cstdint>

// Read by jemalloc at its first allocation (the MALLOC_CONF environment variable still overrides
// it). One arena: the operator's threads mostly wait, and an arena per core doubles the slabs
// each size class keeps partly used. Thread caches for small objects only (up to 1 KiB): 30-odd
// threads each caching freed objects of every size class would hold memory no other thread can
// use, and without any cache a pass costs 50 % more CPU. Decay 0: a page emptied is given back
// at once rather than after 10 s, at the cost of an madvise per emptied page.
extern "C" {
// NOLINTNEXTLINE(readability-identifier-naming): the name jemalloc looks for.
const char* malloc_conf = "narenas:1,tcache_max:1024,dirty_decay_ms:0,muzzy_decay_ms:0";
}

namespace ringkeeper {
namespace {
size_t Stat(const char* name) {
  size_t value = 0;
  size_t size = sizeof(value);
  return mallctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}
}  // namespace

HeapFigures ReadHeapFigures() {
  // jemalloc's statistics are a snapshot taken when "epoch" is written.
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);
  const size_t allocated = Stat("stats.allocated");
  const size_t resident = Stat("stats.resident");
  return {allocated, resident > allocated ? resident - allocated : 0};
}

const char* HeapAllocatorName() { return "jemalloc"; }

}  // namespace ringkeeper

#else
#include <malloc.h>

namespace ringkeeper {

HeapFigures ReadHeapFigures() {
  const struct mallinfo2 heap = mallinfo2();
  return {heap.uordblks + heap.hblkhd, heap.fordblks};
}

const char* HeapAllocatorName() { return "glibc"; }

}  // namespace ringkeeper
#endif
