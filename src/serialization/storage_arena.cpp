// StorageArena: aligned blocks (huge-page advised when large) cut into storage slices.
#include "serialization/storage_arena.h"

#include <cstdlib>
#include <new>

#include "io/huge_pages.h"

namespace ptio::detail {

namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t kOwnBlock = std::size_t{1} << 20;
constexpr std::size_t kMaxBlock = std::size_t{8} << 20;

std::size_t round_up(std::size_t n, std::size_t a) {
  return (n + a - 1) / a * a;
}

std::shared_ptr<std::byte> new_block(std::size_t n) {
  void* p = nullptr;
  if (n >= io::detail::kHugePageBytes) {
    p = io::detail::allocate_huge_advised(n);
  } else {
    p = std::aligned_alloc(kAlign, round_up(n, kAlign));
    if (p == nullptr) throw std::bad_alloc();
  }
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
