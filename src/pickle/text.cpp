// Text helpers of the pickle layer (UTF-8, latin-1, protocol-0 escapes, decimal integers).
#include "pickle/text.h"

#include <charconv>
#include <vector>

namespace ptio::pickle::text {

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t w;
      __builtin_memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
      n = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      n = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      n = 3, cp = c & 0x07;
    else
      return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    p += n + 1;
  }
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) append_utf8(out, c);
  return out;
}

bool utf8_to_latin1(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < s.size() &&
               (static_cast<unsigned char>(s[i + 1]) & 0xc0) == 0x80) {
      out.push_back(static_cast<char>(((c & 0x1f) << 6) | (s[i + 1] & 0x3f)));
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool read_hex(std::string_view s, std::size_t pos, int digits, std::uint32_t& out) {
  if (pos + static_cast<std::size_t>(digits) > s.size()) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    const int h = hexval(s[pos + static_cast<std::size_t>(i)]);
    if (h < 0) return false;
    out = out * 16 + static_cast<std::uint32_t>(h);
  }
  return true;
}
}  // namespace

std::optional<std::string> decode_raw_unicode_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
      // Only an odd run of backslashes escapes; raw-unicode-escape has no \\ escape, so a
      // backslash before 'u' always starts one (CPython: "\\u" needs 4 hex digits).
      const int digits = s[i + 1] == 'u' ? 4 : 8;
      std::uint32_t cp;
      if (!read_hex(s, i + 2, digits, cp) || cp > 0x10ffff) return std::nullopt;
      append_utf8(out, cp);
      i += 1 + static_cast<std::size_t>(digits);
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

std::optional<std::string> decode_string_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) return std::nullopt;  // trailing backslash
    const char e = s[i];
    switch (e) {
      case '\n':
        break;  // line continuation
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'x': {
        std::uint32_t v;
        if (!read_hex(s, i + 1, 2, v)) return std::nullopt;
        out.push_back(static_cast<char>(v));
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned v = 0;
          int n = 0;
          while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
            v = v * 8 + static_cast<unsigned>(s[i] - '0');
            ++i;
            ++n;
          }
          --i;
          out.push_back(static_cast<char>(v & 0xff));
        } else {
          out.push_back('\\');  // unknown escapes are kept verbatim
          out.push_back(e);
        }
    }
  }
  return out;
}

std::optional<IValue> parse_decimal_int(std::string_view s, std::size_t max_digits) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t small = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), small);
  if (ec == std::errc() && ptr == s.data() + s.size()) {
    if (!neg && small <= static_cast<std::uint64_t>(INT64_MAX))
      return IValue(static_cast<std::int64_t>(small));
    if (neg && small <= static_cast<std::uint64_t>(INT64_MAX) + 1)
      return IValue(static_cast<std::int64_t>(0 - small));
  }
  // Arbitrary precision: magnitude in 32-bit limbs, little-endian.
  std::vector<std::uint32_t> limbs{0};
  for (char c : s) {
    std::uint64_t carry = static_cast<std::uint64_t>(c - '0');
    for (auto& l : limbs) {
      const std::uint64_t v = std::uint64_t{l} * 10 + carry;
      l = static_cast<std::uint32_t>(v);
      carry = v >> 32;
    }
    if (carry) limbs.push_back(static_cast<std::uint32_t>(carry));
  }
  std::vector<std::uint8_t> bytes;
  for (auto l : limbs)
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<std::uint8_t>(l >> (8 * i)));
  bytes.push_back(0);  // sign byte: magnitude is non-negative
  if (neg) {
    unsigned carry = 1;
    for (auto& b : bytes) {
      const unsigned v = static_cast<std::uint8_t>(~b) + carry;
      b = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
  }
  return IValue::from_long_bytes(bytes);
}

}  // namespace ptio::pickle::text
