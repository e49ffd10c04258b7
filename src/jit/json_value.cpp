// The small JSON reader of json_value.h (legacy model.json records).
#include "json_value.h"

#include <cctype>
#include <charconv>

#include "ptio/error.h"

namespace ptio::jit::detail {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view t) : t_(t) {}

  JsonValue document() {
    JsonValue v = value(0);
    blanks();
    if (p_ != t_.size()) fail("trailing characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kJitBadModule, "model.json: " + what, {}, {}, p_);
  }
  void blanks() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t'))
      ++p_;
  }
  bool eat(char c) {
    blanks();
    if (p_ < t_.size() && t_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(std::string_view w) {
    if (t_.substr(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (p_ >= t_.size()) fail("unterminated string");
      const char c = t_[p_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= t_.size()) fail("unterminated escape");
      const char e = t_[p_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (p_ + 4 > t_.size()) fail("short \\u escape");
          std::uint32_t cp = 0;
          const auto r = std::from_chars(t_.data() + p_, t_.data() + p_ + 4, cp, 16);
          if (r.ec != std::errc() || r.ptr != t_.data() + p_ + 4) fail("bad \\u escape");
          p_ += 4;
          put_utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }

  JsonValue value(int depth) {
    if (depth > 256) fail("nesting deeper than 256");
    blanks();
    if (p_ >= t_.size()) fail("unexpected end of text");
    JsonValue v;
    const char c = t_[p_];
    if (c == '{') {
      ++p_;
      v.kind = JsonValue::Kind::kObject;
      if (eat('}')) return v;
      do {
        blanks();
        std::string key = string();
        expect(':');
        v.members.emplace_back(std::move(key), value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++p_;
      v.kind = JsonValue::Kind::kArray;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::Kind::kString;
      v.text = string();
    } else if (word("true")) {
      v.kind = JsonValue::Kind::kBool;
      v.boolean = true;
    } else if (word("false")) {
      v.kind = JsonValue::Kind::kBool;
    } else if (word("null")) {
      v.kind = JsonValue::Kind::kNull;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const std::size_t b = p_;
      while (p_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[p_])) || t_[p_] == '-' ||
                                t_[p_] == '+' || t_[p_] == '.' || t_[p_] == 'e' || t_[p_] == 'E'))
        ++p_;
      v.kind = JsonValue::Kind::kNumber;
      v.text = std::string(t_.substr(b, p_ - b));
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    return v;
  }

  std::string_view t_;
  std::size_t p_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

std::string JsonValue::str(std::string_view key, std::string fallback) const {
  const JsonValue* v = find(key);
  if (!v || (v->kind != Kind::kString && v->kind != Kind::kNumber)) return fallback;
  return v->text;
}

std::int64_t JsonValue::integer(std::string_view key, std::int64_t fallback) const {
  const JsonValue* v = find(key);
  if (!v) return fallback;
  std::int64_t out = 0;
  const auto r = std::from_chars(v->text.data(), v->text.data() + v->text.size(), out);
  PTIO_CHECK((v->kind == Kind::kString || v->kind == Kind::kNumber) && r.ec == std::errc() &&
                 r.ptr == v->text.data() + v->text.size(),
             ErrorCode::kJitBadModule, "model.json: '", key, "' must be an integer, got '", v->text,
             "'");
  return out;
}

const std::vector<JsonValue>& JsonValue::array(std::string_view key) const {
  static const std::vector<JsonValue> empty;
  const JsonValue* v = find(key);
  if (!v) return empty;
  PTIO_CHECK(v->kind == Kind::kArray, ErrorCode::kJitBadModule, "model.json: '", key,
             "' must be an array");
  return v->items;
}

JsonValue parse_json(std::string_view text) {
  return Reader(text).document();
}

}  // namespace ptio::jit::detail
