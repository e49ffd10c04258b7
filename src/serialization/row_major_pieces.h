// A tensor's bytes in row-major order, handed out in bounded pieces (safetensors and npz output).
#pragma once

#include <cstddef>
#include <functional>

#include "ptio/core/tensor.h"

namespace ptio::detail {

/// Hands `sink(data, n)` the bytes Tensor::contiguous_bytes() would return, in order, in pieces
/// of at most `piece_bytes` (whole elements, at least one): a contiguous (or packed sub-byte)
/// tensor straight from its storage, whose mapped pages are released from the resident set after
/// each piece (Storage::release_pages); a strided view gathered piece by piece into one buffer.
/// So writing a tensor costs O(piece_bytes) memory, not a copy of it (charge expanded views
/// first: ViewBudget). Nothing for numel 0, meta or sparse tensors.
void for_each_row_major_piece(const Tensor& t,
                              const std::function<void(const std::byte*, std::size_t)>& sink,
                              std::size_t piece_bytes = std::size_t{16} << 20);

}  // namespace ptio::detail
