// for_each_row_major_piece and copy_row_major: a tensor's elements in row-major order, in
// bounded pieces or a window of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "ptio/core/tensor.h"
#include "ptio/export.h"

namespace ptio {

/// Hands `fn(bytes, first)` the bytes `Tensor::contiguous_bytes()` would return (the elements in
/// row-major order, little-endian, as `t.contiguous().numpy().tobytes()`), in order, in pieces of
/// at most `piece_bytes` (whole elements, at least one); `first` is the row-major index of the
/// piece's first element (0 for packed sub-byte dtypes, whose pieces are bytes). A contiguous
/// tensor (or a packed dtype) is handed straight from its storage, and the pages of a mapped
/// storage are released from the resident set after each piece (Storage::release_pages); a
/// strided view is gathered piece by piece into one buffer of `piece_bytes`. So it costs
/// O(piece_bytes) memory whatever the tensor's size, expanded (stride-0) views included (charge
/// those to a ViewBudget first when the tensor comes from untrusted input: reading them costs
/// their full size in time). The bytes handed to `fn` are valid only during that call. Nothing
/// for undefined, meta or sparse tensors or numel 0. Throws what `fn` throws.
/// Copies elements [first, first + count) of `t`, in row-major order, to `out` (count *
/// element_size() bytes, little-endian elements: that window of Tensor::contiguous_bytes()),
/// reading each from the view's sizes, strides and storage_offset. The caller owns `out`. Throws
/// Error(kIoInvalidArgument) for an undefined, meta or sparse tensor, a packed sub-byte dtype
/// (elements smaller than a byte) or a window outside [0, numel()).
PTIO_API void copy_row_major(const Tensor& t, std::int64_t first, std::int64_t count,
                             std::byte* out);

PTIO_API void for_each_row_major_piece(
    const Tensor& t, std::size_t piece_bytes,
    const std::function<void(std::span<const std::byte> bytes, std::int64_t first)>& fn);

}  // namespace ptio
