// Writing a pretty-printed JSON document piece by piece, byte for byte what dumping the whole
// tree at once (nlohmann::ordered_json::dump(indent)) prints, so that a document of many rows
// (`diff --json`, `ls --json`) never holds all of them in memory.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

namespace ptio::cli {

/// A top-level JSON object written member by member with `indent` spaces per level, as
/// `dump(indent)` prints it (invalid UTF-8 replaced by U+FFFD, as every --json output).
class JsonObjectWriter {
 public:
  using json = nlohmann::ordered_json;
  JsonObjectWriter(std::ostream& os, std::size_t indent) : os_(os), indent_(indent) {}

  /// A member whose value is written whole.
  void member(std::string_view key, const json& value) {
    begin(key);
    nested(value, 1);
  }

  /// A member whose value is an array of `n` elements, `element(i)` made and written one at a
  /// time.
  template <typename Each>
  void array_member(std::string_view key, std::size_t n, Each&& element) {
    begin(key);
    if (n == 0) {
      os_ << "[]";
      return;
    }
    const std::string pad(2 * indent_, ' ');
    os_ << "[";
    for (std::size_t i = 0; i < n; ++i) {
      os_ << (i ? ",\n" : "\n") << pad;
      nested(element(i), 2);
    }
    os_ << "\n" << std::string(indent_, ' ') << "]";
  }

  /// Closes the object (`{}` when it had no member) and ends the line.
  void finish() { os_ << (first_ ? "{}" : "\n}") << "\n"; }

 private:
  void begin(std::string_view key) {
    os_ << (first_ ? "{\n" : ",\n") << std::string(indent_, ' ')
        << json(key).dump(-1, ' ', false, json::error_handler_t::replace) << ": ";
    first_ = false;
  }
  // `v` as dump(indent) prints it `level` levels deep: every line after the first indented by
  // level * indent more spaces (JSON strings hold no raw newline: each '\n' is a line break).
  void nested(const json& v, std::size_t level) {
    const std::string text =
        v.dump(static_cast<int>(indent_), ' ', false, json::error_handler_t::replace);
    const std::string pad = "\n" + std::string(level * indent_, ' ');
    std::size_t from = 0;
    for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
      os_.write(text.data() + from, static_cast<std::streamsize>(nl - from));
      os_ << pad;
      from = nl + 1;
    }
    os_.write(text.data() + from, static_cast<std::streamsize>(text.size() - from));
  }

  std::ostream& os_;
  std::size_t indent_;
  bool first_ = true;
};

}  // namespace ptio::cli
