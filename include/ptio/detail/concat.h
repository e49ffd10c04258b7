// detail::concat: builds an error message from mixed strings and numbers (used by PTIO_CHECK).
#pragma once

#include <sstream>
#include <string>
#include <utility>

namespace ptio::detail {

/// Streams every argument into one string; integral values print in decimal.
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

/// Formats `v` as `0x` followed by lower-case hex digits (for byte offsets in messages).
std::string hex(unsigned long long v);

}  // namespace ptio::detail
