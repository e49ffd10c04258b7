// Internal payload types of IValue that are not part of the public API (strings and bytes).
#pragma once

#include <string>

#include "ptio/core/ivalue.h"

namespace ptio::detail {

/// Payload of String, Bytes and ByteArray values (std::string keeps short ones inline).
struct StringHolder final : HeapObject {
  explicit StringHolder(std::string v) : value(std::move(v)) {}
  std::string value;
};

const std::string& string_payload(const HeapObject* p) noexcept;

/// Nesting depth at which ==, hash(), JSON conversion and the pickler give up with
/// Error(kLimitExceeded) instead of recursing further.
inline constexpr std::size_t kMaxValueNesting = 1000;

}  // namespace ptio::detail
