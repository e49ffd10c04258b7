// String literal decoding/encoding and constant formatting as PyTorch's parser and printer do them.
#pragma once

#include <string>
#include <string_view>

#include "ptio/export.h"

namespace ptio::jit::frontend {

/// Outcome of decoding one escape sequence set; see decode_string_literal.
struct StringDecodeError {
  std::size_t offset = 0;  ///< byte offset of the offending backslash inside the token text
  std::string message;     ///< e.g. "ill formed octal specifier"
};

/// Decodes one string literal token (with its quotes: `'..'`, `".."`, `'''..'''`, `"""..."""`)
/// the way PyTorch's `parseStringLiteral` (torch/csrc/jit/frontend/parse_string_literal.h) does:
/// `\\ \' \" \a \b \f \n \v \t`, backslash + newline keeps the newline, `\ooo` (exactly three
/// octal digits, < 256). PyTorch rejects everything else; with `lenient` (the default of
/// ParseOptions) ptio also accepts `\r` (which PyTorch 1.13's own printer writes), `\xHH` and
/// `\0` not followed by three octal digits. Returns false and fills `error` on a bad escape.
PTIO_API bool decode_string_literal(std::string_view token, bool lenient, std::string* out,
                                    StringDecodeError* error);

/// Options of encode_string_literal.
struct StringEncodeOptions {
  /// PyTorch 1.13 prints CR as `\r`, which its own importer rejects (language spec 1.5). The
  /// default reproduces PyTorch's bytes; an exporter that wants PyTorch to load its code sets
  /// this to print CR as `\015` instead.
  bool cr_as_octal = false;
};

/// Encodes `value` as a double-quoted literal like `c10::printQuotedString`: `\\ \' \" \a \b \f
/// \n \r \t \v` escapes, other bytes < 0x20 and 0x7F as three octal digits, everything else
/// verbatim (PyTorch never prints bytes > 0x7F inline; they pass through unchanged here).
PTIO_API std::string encode_string_literal(std::string_view value,
                                           const StringEncodeOptions& options = {});

/// Formats a double as PyTorch's printer writes a float constant (`IValue` repr used by
/// python_print.cpp): integral values with |d| < 1e10 as `<int>.` (`1.`, `-0.`), `inf`, `-inf`,
/// `nan`, otherwise 17 significant digits in `%g` style (`0.10000000000000001`,
/// `1.0000000000000001e-05`, `10000000000` for 1e10).
PTIO_API std::string format_double(double value);

/// Classification of a number token the way PyTorch's `Const` tree view does it.
enum class NumberKind { kInt, kFloat, kComplex };
/// Contains `j` → complex; else contains `.`, `e` or `E` → float (so hexadecimal `0x1E` counts as
/// float, as in PyTorch); otherwise int.
PTIO_API NumberKind classify_number(std::string_view text);

}  // namespace ptio::jit::frontend
