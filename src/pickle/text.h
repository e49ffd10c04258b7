// Text helpers of the pickle layer: UTF-8 checks, latin-1, protocol-0 escapes and decimal numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptio/core/ivalue.h"

namespace ptio::pickle::text {

/// True when `s` is UTF-8 as CPython's "surrogatepass" decoder accepts it (surrogates allowed).
bool valid_utf8(std::string_view s) noexcept;
/// Appends code point `cp` (<= 0x10FFFF) as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);
/// Latin-1 bytes to UTF-8.
std::string latin1_to_utf8(std::string_view s);
/// UTF-8 to latin-1; false when a code point is above U+00FF or the input is not UTF-8.
bool utf8_to_latin1(std::string_view s, std::string& out);
/// Decodes the `raw-unicode-escape` codec (UNICODE opcode) to UTF-8; nullopt when malformed.
std::optional<std::string> decode_raw_unicode_escape(std::string_view s);
/// Decodes Python's `escape_decode` (STRING opcode body, quotes removed); nullopt when malformed.
std::optional<std::string> decode_string_escape(std::string_view s);
/// Parses an optionally signed decimal integer (no spaces, no prefixes) into Int or BigInt;
/// nullopt when malformed or longer than `max_digits`.
std::optional<IValue> parse_decimal_int(std::string_view s, std::size_t max_digits);

}  // namespace ptio::pickle::text
