// String literal escapes (parseStringLiteral / printQuotedString) and float constant formatting.
#include "ptio/jit/frontend/literals.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace ptio::jit::frontend {
namespace {
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool decode_string_literal(std::string_view token, bool lenient, std::string* out,
                           StringDecodeError* error) {
  out->clear();
  if (token.size() < 2) {
    *error = {0, "malformed string literal"};
    return false;
  }
  const char q = token[0];
  const std::size_t quote_len =
      token.size() >= 6 && token[1] == q && token[2] == q ? std::size_t{3} : std::size_t{1};
  const std::string_view body = token.substr(quote_len, token.size() - 2 * quote_len);
  out->reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    const std::size_t at = quote_len + i;
    if (i + 1 >= body.size()) {
      *error = {at, "backslash at the end of a string literal"};
      return false;
    }
    const char e = body[i + 1];
    switch (e) {
      case '\\':
      case '\'':
      case '"':
      case '\n':
        out->push_back(e);
        ++i;
        continue;
      case 'a':
        out->push_back('\a');
        ++i;
        continue;
      case 'b':
        out->push_back('\b');
        ++i;
        continue;
      case 'f':
        out->push_back('\f');
        ++i;
        continue;
      case 'n':
        out->push_back('\n');
        ++i;
        continue;
      case 'v':
        out->push_back('\v');
        ++i;
        continue;
      case 't':
        out->push_back('\t');
        ++i;
        continue;
      default:
        break;
    }
    if (i + 3 < body.size() && is_octal(body[i + 1]) && is_octal(body[i + 2]) &&
        is_octal(body[i + 3])) {
      const int v = (body[i + 1] - '0') * 64 + (body[i + 2] - '0') * 8 + (body[i + 3] - '0');
      if (v > 255) {
        *error = {at, "octal escape out of range"};
        return false;
      }
      out->push_back(static_cast<char>(v));
      i += 3;
      continue;
    }
    if (lenient) {
      if (e == 'r') {
        out->push_back('\r');
        ++i;
        continue;
      }
      if (e == 'x' && i + 3 < body.size() && hex_value(body[i + 2]) >= 0 &&
          hex_value(body[i + 3]) >= 0) {
        out->push_back(static_cast<char>(hex_value(body[i + 2]) * 16 + hex_value(body[i + 3])));
        i += 3;
        continue;
      }
      if (e == '0') {
        out->push_back('\0');
        ++i;
        continue;
      }
    }
    if (e == 'x')
      *error = {at, "unsupported hex specifier"};
    else if (e == 'u' || e == 'U')
      *error = {at, "unsupported unicode specifier"};
    else
      *error = {at, "ill formed octal specifier"};
    return false;
  }
  return true;
}

std::string encode_string_literal(std::string_view value, const StringEncodeOptions& options) {
  std::string s;
  s.reserve(value.size() + 2);
  s.push_back('"');
  for (const char c : value) {
    switch (c) {
      case '\\':
        s += "\\\\";
        continue;
      case '\'':
        s += "\\'";
        continue;
      case '"':
        s += "\\\"";
        continue;
      case '\a':
        s += "\\a";
        continue;
      case '\b':
        s += "\\b";
        continue;
      case '\f':
        s += "\\f";
        continue;
      case '\n':
        s += "\\n";
        continue;
      case '\r':
        s += options.cr_as_octal ? "\\015" : "\\r";
        continue;
      case '\t':
        s += "\\t";
        continue;
      case '\v':
        s += "\\v";
        continue;
      default:
        break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      s.push_back('\\');
      s.push_back(static_cast<char>('0' + (u >> 6)));
      s.push_back(static_cast<char>('0' + ((u >> 3) & 7)));
      s.push_back(static_cast<char>('0' + (u & 7)));
    } else {
      s.push_back(c);
    }
  }
  s.push_back('"');
  return s;
}

std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  const int c = std::fpclassify(d);
  if ((c == FP_NORMAL || c == FP_ZERO) && std::abs(d) < 1e10) {
    const auto i = static_cast<std::int64_t>(d);
    if (static_cast<double>(i) == d) {
      if (i == 0 && std::signbit(d)) return "-0.";
      return std::to_string(i) + ".";
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

NumberKind classify_number(std::string_view text) {
  if (text.find('j') != std::string_view::npos) return NumberKind::kComplex;
  if (text.find_first_of(".eE") != std::string_view::npos) return NumberKind::kFloat;
  return NumberKind::kInt;
}

}  // namespace ptio::jit::frontend
