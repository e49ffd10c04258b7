// Byte-order helpers: swap storage bytes element by element (spec-torch-save.md sections 3.5, 6).
#pragma once

#include <cstddef>
#include <span>

#include "ptio/core/scalar_type.h"

namespace ptio::detail {

/// Reverses the bytes of every `swap_size`-byte unit of `bytes` in place (complex dtypes swap per
/// component: pass scalar_type_info(t).swap_size). A trailing partial unit is left alone.
void swap_bytes(std::span<std::byte> bytes, std::size_t swap_size) noexcept;

/// swap_bytes with the swap unit of `dtype`.
inline void swap_bytes(std::span<std::byte> bytes, ScalarType dtype) noexcept {
  swap_bytes(bytes, scalar_type_info(dtype).swap_size);
}

}  // namespace ptio::detail
