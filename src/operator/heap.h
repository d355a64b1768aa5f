// The operator's heap: which allocator holds its memory, and what it says about it.
//
// The operator links jemalloc (Debian's libjemalloc) with one arena, small thread caches, and
// freed pages given back at once (the settings are compiled in: heap.cc). Why: with glibc's malloc,
// the caches' long-lived packed objects end up between each pass's short-lived garbage (parsed
// responses, built objects); once the garbage is freed, the pages it shared with a cached object
// stay resident, and malloc_trim cannot give them back. jemalloc puts objects of one size class
// on slabs of their own, so freed pages empty out and go back. Measured with
// bench/operator_scale.sh at N=300, once settled: glibc with malloc_trim every 10 s, RSS 41.7 MiB
// (23 MiB of heap resident for 10.8 MiB in use) and 7.9 s of CPU; jemalloc so configured, 33.4 MiB
// and 6.2 s.
//
// Builds with sanitizers (RINGKEEPER_JEMALLOC=OFF: the asan and fuzz presets) keep glibc's
// malloc, whose figures HeapFigures then reports.
#pragma once

#include <cstddef>

namespace ringkeeper {

struct HeapFigures {
  size_t in_use = 0;  // bytes in live allocations
  size_t free = 0;    // bytes the allocator holds resident for no live allocation
};

HeapFigures ReadHeapFigures();

// "jemalloc" or "glibc": logged at start, so a figure can be read knowing which.
const char* HeapAllocatorName();

}  // namespace ringkeeper
