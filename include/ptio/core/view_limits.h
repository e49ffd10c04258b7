// ViewLimits / ViewBudget: the bound on bytes materialised from expanded (overlapping) views.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ptio/core/tensor.h"
#include "ptio/export.h"

namespace ptio {

/// The bound on what materialising views may cost. A view whose elements overlap (PyTorch's
/// `expand()`: stride 0; `as_strided` with overlapping strides) has more elements than its storage
/// holds: a 4-byte storage can declare shape [1e9] with stride 0, which PyTorch loads lazily and
/// ptio would turn into 4 GB in Tensor::contiguous_bytes(), element statistics or a conversion to
/// safetensors/npz (formats without strides). A view that does not overlap itself never produces
/// more bytes than its storage holds, so only the excess is bounded.
struct PTIO_API ViewLimits {
  /// Bytes that the views materialised by one operation (a save_safetensors / save_npz call, one
  /// `ptio` command) may produce beyond the bytes of the storages they stand on, summed over the
  /// views (each view counts max(0, nbytes() - storage nbytes)). Default 1 GiB: legitimately
  /// expanded buffers (position ids, attention masks, broadcast constants) are kilobytes to
  /// megabytes, and 1 GiB keeps the worst case of a hostile file to one extra GiB of memory and of
  /// output however small the file. Raise it for files you trust.
  std::uint64_t max_expanded_bytes = std::uint64_t{1} << 30;
};

/// Bytes materialising `t` in row-major order produces beyond the bytes of its storage:
/// max(0, t.nbytes() - t.storage().nbytes()); 0 for meta, sparse and undefined tensors (nothing
/// is materialised from them). Never throws.
PTIO_API std::uint64_t expanded_bytes(const Tensor& t) noexcept;

/// The running account of ViewLimits::max_expanded_bytes over one operation: charge() every view
/// before materialising it. Not thread-safe; one per operation.
class PTIO_API ViewBudget {
 public:
  /// `file` names the file the tensors come from in errors (may be empty).
  explicit ViewBudget(ViewLimits limits = {}, std::string file = {});

  /// Accounts for materialising `t` (named `name` in errors, e.g. its state_dict key). Throws
  /// Error(kLimitExceeded), naming the file, the tensor, its shape and strides, the bytes needed
  /// (t.nbytes()) and the bytes allowed (its storage bytes plus what is left of the allowance), and
  /// `ViewLimits::max_expanded_bytes`, when the expansion would exceed what is left; nothing is
  /// charged then.
  void charge(const Tensor& t, std::string_view name);

  /// Bytes charged so far (sum of expanded_bytes() of the views accepted).
  std::uint64_t spent() const noexcept { return spent_; }
  const ViewLimits& limits() const noexcept { return limits_; }
  const std::string& file() const noexcept { return file_; }

 private:
  ViewLimits limits_;
  std::string file_;
  std::uint64_t spent_ = 0;
};

}  // namespace ptio
