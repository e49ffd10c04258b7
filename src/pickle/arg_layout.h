// Where each pickle opcode's inline argument ends (ArgKind), for code that walks opcodes without
// decoding them: the Unpickler's fast paths and format detection's pickle sniffing.
#pragma once

#include <cstdint>

#include "ptio/pickle/opcodes.h"

namespace ptio::pickle {

/// The bytes an argument of one ArgKind takes: `fixed` bytes; or a little-endian length of
/// `length_prefix` bytes, then that many bytes; or `lines` newline-terminated lines.
struct ArgLayout {
  std::uint8_t fixed = 0;
  std::uint8_t length_prefix = 0;
  std::uint8_t lines = 0;
};

constexpr ArgLayout arg_layout(ArgKind k) {
  switch (k) {
    case ArgKind::kNone:
      return {};
    case ArgKind::kUint1:
      return {1, 0, 0};
    case ArgKind::kUint2:
      return {2, 0, 0};
    case ArgKind::kInt4:
    case ArgKind::kUint4:
      return {4, 0, 0};
    case ArgKind::kUint8:
    case ArgKind::kFloat8:
      return {8, 0, 0};
    case ArgKind::kLong1:
    case ArgKind::kString1:
    case ArgKind::kBytes1:
    case ArgKind::kUnicode1:
      return {0, 1, 0};
    case ArgKind::kLong4:
    case ArgKind::kString4:
    case ArgKind::kBytes4:
    case ArgKind::kUnicode4:
      return {0, 4, 0};
    case ArgKind::kBytes8:
    case ArgKind::kUnicode8:
      return {0, 8, 0};
    case ArgKind::kDecimalNlShort:
    case ArgKind::kDecimalNlLong:
    case ArgKind::kFloatNl:
    case ArgKind::kStringNl:
    case ArgKind::kStringNlNoEscape:
    case ArgKind::kUnicodeNl:
      return {0, 0, 1};
    case ArgKind::kStringNlPair:
      return {0, 0, 2};
  }
  return {};
}

}  // namespace ptio::pickle
