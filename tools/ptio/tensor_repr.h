// A tensor's values printed the way PyTorch prints them (`repr(tensor)`, torch/_tensor_str.py).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "ptio/core/tensor.h"

namespace ptio::cli {

/// torch.set_printoptions' fields with PyTorch's defaults.
struct PrintOptions {
  int precision = 4;              ///< digits after the point
  std::int64_t threshold = 1000;  ///< more elements than this are summarised with `...`
  std::int64_t edgeitems = 3;     ///< elements kept at each end of a summarised dimension
  int linewidth = 80;             ///< characters per line
};

/// `repr(t)` as PyTorch 1.13 prints it with the default dtype float32 on a CPU build:
/// `tensor([...])` with `dtype=`, `size=`, `device=`, `requires_grad=True` and quantizer suffixes,
/// and `Parameter containing:\n` for parameters. Dense strided, quantized (values dequantized) and
/// meta tensors; throws ptio::Error(kBadDtype) for sparse tensors and packed dtypes.
std::string tensor_repr(const Tensor& t, const PrintOptions& options = {});

/// The elements of `t` a print with `options` reads, as a view for charging them (charge_view)
/// before printing: a summarised print (numel > threshold) reads only the `edgeitems` first and
/// last elements of each dimension (gathered: a view of those sizes over `t`'s storage and
/// strides, which costs as many bytes), unless the tensor has a per-channel quantizer (its values
/// are then all read); a print in full reads `t` itself. Meta and sparse tensors: `t` (nothing is
/// read). Never throws for a tensor that loaded.
Tensor printed_view(const Tensor& t, const PrintOptions& options = {});

/// Writes tensor_repr(t, options) to `os`. A dense or quantized tensor printed whole (numel <=
/// threshold, e.g. `cat --full`) is streamed in for_each_chunk pieces (two passes: the
/// formatter's widths, then the text), so memory stays O(kElementChunkBytes) whatever its size
/// (quantized values dequantized piece by piece).
/// Errors as tensor_repr, and I/O errors of reading the storage (nothing is printed for
/// kBadDtype).
void write_tensor_repr(std::ostream& os, const Tensor& t, const PrintOptions& options = {});

}  // namespace ptio::cli
