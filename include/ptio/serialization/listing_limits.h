// ListingLimits: bounds on listing the tensors of a loaded object (named_tensors and friends).
#pragma once

#include <cstddef>

namespace ptio {

/// The serialization layer's part of ptio::Limits (see ptio/limits.h): what named_tensors() and
/// module_state_dict() may build while listing an object. A loaded object is already bounded by
/// its file (pickle::Limits), but its names are not: a key is copied into the path of every
/// value below it, and a container reached through several memo references is listed under each
/// path. Exceeding one throws Error(kLimitExceeded) naming the path reached and the field.
struct ListingLimits {
  /// Bytes of every name one listing makes (each path and key, also of values that are not
  /// tensors; module_state_dict: each module prefix) plus sizeof(NamedTensor) (module_state_dict:
  /// sizeof(StateDict::Entry)) per entry. Default 256 MiB: a real 250,000-tensor checkpoint
  /// needs tens of MB. A 200 KB file of one 100 KB key over 20,000 tensors would otherwise want
  /// 4 GB of names. `ptio --max-listing-bytes`.
  std::size_t max_listing_bytes = std::size_t{256} << 20;
  /// Tensors, storages and containers (module_state_dict: modules and entries) listed again
  /// because they are reached through more than one path (pickle memo references; a submodule
  /// under two names), including a tensor reached again. Default 250,000 ("billion laughs": a
  /// list `[l, l]` nested 30 times has 2^30 paths).
  std::size_t max_shared_visits = 250'000;
  /// Bytes of the paths and keys (module_state_dict: prefixes) of what is listed again, as
  /// above. Default 64 MiB.
  std::size_t max_shared_name_bytes = std::size_t{64} << 20;
};

}  // namespace ptio
