// A small JSON reader for the legacy `model.json` record (protobuf's JSON mapping of
// torch.ModelDef): objects, arrays, strings, numbers, booleans, null, with depth and size limits.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ptio::jit::detail {

struct JsonMember;

/// One JSON value. Numbers keep their text (protobuf writes int64 as strings anyway).
struct JsonValue {
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;  ///< string contents, or the number as written
  std::vector<JsonValue> items;
  /// Object members in file order. (A named struct, not std::pair: clang with libstdc++ rejects a
  /// vector of pairs of the incomplete JsonValue.)
  std::vector<JsonMember> members;

  /// The member `key` of an object, or nullptr.
  const JsonValue* find(std::string_view key) const;
  /// The member as a string (strings and numbers), or `fallback`.
  std::string str(std::string_view key, std::string fallback = {}) const;
  /// The member as an int64 (numbers or decimal strings); throws Error(kJitBadModule) when it is
  /// present but not an integer; `fallback` when absent.
  std::int64_t integer(std::string_view key, std::int64_t fallback = 0) const;
  /// The member as an array (empty when absent); throws Error(kJitBadModule) for another kind.
  const std::vector<JsonValue>& array(std::string_view key) const;
};

/// One `"key": value` of an object.
struct JsonMember {
  JsonMember(std::string k, JsonValue v) : first(std::move(k)), second(std::move(v)) {}
  std::string first;
  JsonValue second;
};

/// Parses `text` (UTF-8). Throws Error(kJitBadModule) with the byte offset on malformed input or
/// nesting deeper than 256.
JsonValue parse_json(std::string_view text);

}  // namespace ptio::jit::detail
