// StorageArena: aligned blocks (huge-page advised when large) cut into storage slices.
#include "serialization/storage_arena.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace ptio::detail {

namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kOwnBlock = std::size_t{1} << 20;
constexpr std::size_t kMaxBlock = std::size_t{8} << 20;

std::size_t round_up(std::size_t n, std::size_t a) {
  return (n + a - 1) / a * a;
}

std::shared_ptr<std::byte> new_block(std::size_t n) {
  const std::size_t align = n >= kHugePage ? kHugePage : kAlign;
  const std::size_t size = round_up(n, align);
  if (size < n) throw std::bad_alloc();
  void* p = std::aligned_alloc(align, size);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (align == kHugePage) (void)::madvise(p, size, MADV_HUGEPAGE);  // advice only
#endif
  // (If the control block cannot be allocated, shared_ptr frees `p` with the deleter.)
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

}  // namespace

StorageArena::Slice StorageArena::allocate(std::size_t n) {
  if (n >= kOwnBlock) {
    auto b = new_block(n);
    std::span<std::byte> bytes(b.get(), n);
    return {bytes, std::move(b)};
  }
  const std::size_t need = round_up(n, kAlign);
  if (!block_ || size_ - used_ < need) {
    const std::size_t size = next_block_ < need ? need : next_block_;
    block_ = new_block(size);
    size_ = size;
    used_ = 0;
    if (next_block_ < kMaxBlock) next_block_ *= 2;
  }
  std::span<std::byte> bytes(block_.get() + used_, n);
  used_ += need;
  return {bytes, block_};
}

}  // namespace ptio::detail
