// The three torch.load container readers (zip, legacy stacked pickles, tar).
#pragma once

#include <memory>

#include "ptio/core/ivalue.h"
#include "ptio/io/read_adapter.h"
#include "ptio/serialization/load.h"
#include "serialization/cycle_guard.h"

namespace ptio::detail {

/// torch.load's zip branch (spec sections 2, 3, 9). `allow_view`: zero-copy storages may point
/// into `in` (it is shared and stays alive through them).
IValue load_zip(const std::shared_ptr<const io::ReadAdapter>& in, const LoadOptions& options,
                bool allow_view);
/// `_legacy_load` over stacked pickles (spec section 6).
IValue load_legacy(const io::ReadAdapter& in, const LoadOptions& options);
/// `_legacy_load`'s tar branch (spec section 7).
IValue load_tar(const io::ReadAdapter& in, const LoadOptions& options);

}  // namespace ptio::detail
