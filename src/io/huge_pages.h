// Large internal buffers backed by transparent huge pages: a fresh 4 KiB page costs a page fault
// (tens of microseconds in a VM), a 2 MiB huge page one fault for 512 of them.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace ptio::io::detail {

/// Allocations of at least this many bytes are 2 MiB aligned with huge pages advised.
inline constexpr std::size_t kHugePageMinBytes = std::size_t{1} << 20;
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// `n` bytes (n >= 1), 2 MiB aligned and rounded up to 2 MiB, with MADV_HUGEPAGE advised (advice
/// only: the kernel may still use 4 KiB pages). Free with std::free. Throws std::bad_alloc.
void* allocate_huge_advised(std::size_t n);

/// A std allocator giving buffers of kHugePageMinBytes or more from allocate_huge_advised() and
/// smaller ones from operator new (e.g. for a std::vector that grows to megabytes).
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() noexcept = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kHugePageMinBytes) return static_cast<T*>(allocate_huge_advised(bytes));
    return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
  }
  void deallocate(T* p, std::size_t n) noexcept;
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
void HugePageAllocator<T>::deallocate(T* p, std::size_t n) noexcept {
  if (n * sizeof(T) >= kHugePageMinBytes)
    std::free(p);  // from allocate_huge_advised
  else
    ::operator delete(p, std::align_val_t{alignof(T)});
}

}  // namespace ptio::io::detail
