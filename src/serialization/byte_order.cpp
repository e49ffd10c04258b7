// Element-wise byte swapping for big-endian checkpoints.
#include "serialization/byte_order.h"

#include <algorithm>

namespace ptio::detail {

void swap_bytes(std::span<std::byte> bytes, std::size_t swap_size) noexcept {
  if (swap_size <= 1) return;
  const std::size_t n = bytes.size() / swap_size;
  std::byte* p = bytes.data();
  for (std::size_t i = 0; i < n; ++i, p += swap_size) std::reverse(p, p + swap_size);
}

}  // namespace ptio::detail
