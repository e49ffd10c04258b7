// ViewBudget: accounts for the bytes materialised from expanded views (see view_limits.h).
#include "ptio/core/view_limits.h"

#include "ptio/error.h"

namespace ptio {

namespace {

std::string list_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

std::uint64_t expanded_bytes(const Tensor& t) noexcept {
  try {
    if (!t.defined() || t.is_meta() || t.is_sparse()) return 0;
    const std::uint64_t need = t.nbytes();
    const std::uint64_t have = t.storage().defined() ? t.storage().nbytes() : 0;
    return need > have ? need - have : 0;
  } catch (...) {
    return 0;
  }
}

ViewBudget::ViewBudget(ViewLimits limits, std::string file)
    : limits_(limits), file_(std::move(file)) {}

void ViewBudget::charge(const Tensor& t, std::string_view name) {
  const std::uint64_t extra = expanded_bytes(t);
  if (extra == 0) return;
  const std::uint64_t left =
      spent_ < limits_.max_expanded_bytes ? limits_.max_expanded_bytes - spent_ : 0;
  if (extra > left) {
    const std::uint64_t storage = t.storage().defined() ? t.storage().nbytes() : 0;
    throw Error(ErrorCode::kLimitExceeded,
                detail::concat("tensor '", name, "' (", scalar_type_name(t.dtype()), ", shape ",
                               list_str(t.sizes()), ", strides ", list_str(t.strides()),
                               ") is an expanded view: materialising it needs ", t.nbytes(),
                               " bytes, allowed ", storage + left, " (its ", storage,
                               "-byte storage plus ", left, " bytes left of the ",
                               limits_.max_expanded_bytes,
                               "-byte expansion allowance, Limits::view.max_expanded_bytes)"),
                file_);
  }
  spent_ += extra;
}

}  // namespace ptio
