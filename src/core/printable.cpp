// ptio::printable: control bytes and invalid UTF-8 written as Python's repr writes them.
#include "ptio/printable.h"

#include <cstddef>
#include <cstdint>

namespace ptio {

namespace {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 when the byte there does not start one
// (a continuation byte, an overlong form, a surrogate, beyond U+10FFFF or cut short).
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  return n;
}

bool kept_break(unsigned char c, LineBreaks lb) noexcept {
  return lb == LineBreaks::kKeep && (c == '\t' || c == '\n' || c == '\r');
}

// What to write for the sequence of `len` bytes at s[i]: empty when it is printed as it is.
// `len` is 0 for a byte that is not valid UTF-8.
bool needs_escape(std::string_view s, std::size_t i, std::size_t len, LineBreaks lb) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (len == 0) return true;
  if (len == 1) return (c < 0x20 || c == 0x7F) && !kept_break(c, lb);
  // U+0080..U+009F: C2 80..C2 9F.
  return len == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) <= 0x9F;
}

void append_hex(std::string& out, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[(v >> 4) & 0xF];
  out += kHex[v & 0xF];
}

}  // namespace

bool is_printable(std::string_view text, LineBreaks line_breaks) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_length(text, i);
    if (needs_escape(text, i, len, line_breaks)) return false;
    i += len;
  }
  return true;
}

std::string printable(std::string_view text, LineBreaks line_breaks) {
  if (is_printable(text, line_breaks)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_length(text, i);
    const auto c = static_cast<unsigned char>(text[i]);
    if (!needs_escape(text, i, len, line_breaks)) {
      out.append(text.substr(i, len));
      i += len;
    } else if (len == 2) {  // a C1 control: its code point, as Python's repr
      append_hex(out, static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else {
      if (c == '\t') {
        out += "\\t";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else {
        append_hex(out, c);
      }
      i += 1;
    }
  }
  return out;
}

}  // namespace ptio
