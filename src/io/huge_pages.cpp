// allocate_huge_advised: aligned_alloc + madvise(MADV_HUGEPAGE).
#include "io/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>

namespace ptio::io::detail {

void* allocate_huge_advised(std::size_t n) {
  const std::size_t size = (n + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  if (n == 0 || size < n) throw std::bad_alloc();
  void* p = std::aligned_alloc(kHugePageBytes, size);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  (void)::madvise(p, size, MADV_HUGEPAGE);  // advice only
#endif
  return p;
}

}  // namespace ptio::io::detail
