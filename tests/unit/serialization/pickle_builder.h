// A tiny protocol-2 pickle emitter for hand-built torch.save inputs in tests (no ptio code used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptio::test {

class PickleBuilder {
 public:
  PickleBuilder& proto() { return op(0x80).byte(2); }
  PickleBuilder& global(std::string_view m, std::string_view n) {
    op('c');
    raw(m);
    byte('\n');
    raw(n);
    return byte('\n');
  }
  PickleBuilder& mark() { return op('('); }
  PickleBuilder& tuple() { return op('t'); }
  PickleBuilder& list() { return op('l'); }
  PickleBuilder& empty_tuple() { return op(')'); }
  PickleBuilder& empty_dict() { return op('}'); }
  PickleBuilder& setitem() { return op('s'); }
  PickleBuilder& reduce() { return op('R'); }
  PickleBuilder& pop() { return op('0'); }
  PickleBuilder& binpersid() { return op('Q'); }
  PickleBuilder& none() { return op('N'); }
  PickleBuilder& boolean(bool b) { return op(b ? 0x88 : 0x89); }
  PickleBuilder& stop() { return op('.'); }
  PickleBuilder& empty_list() { return op(']'); }
  PickleBuilder& append() { return op('a'); }
  PickleBuilder& binput(std::uint8_t i) { return op('q').byte(static_cast<char>(i)); }
  PickleBuilder& binget(std::uint8_t i) { return op('h').byte(static_cast<char>(i)); }
  PickleBuilder& str(std::string_view s) {
    op('X');
    u32(static_cast<std::uint32_t>(s.size()));
    return raw(s);
  }
  PickleBuilder& integer(std::int32_t v) {
    op('J');
    return u32(static_cast<std::uint32_t>(v));
  }
  /// LONG1 with 8 bytes: any int64.
  PickleBuilder& integer64(std::int64_t v) {
    op(0x8a).byte(8);
    for (int i = 0; i < 8; ++i)
      byte(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
    return *this;
  }
  PickleBuilder& ints(std::initializer_list<std::int32_t> v) {
    mark();
    for (auto x : v) integer(x);
    return tuple();
  }
  /// `('storage', torch.<cls>, key, location, numel)` BINPERSID
  PickleBuilder& storage_pid(std::string_view cls, std::string_view key, std::int32_t numel,
                             std::string_view location = "cpu") {
    mark().str("storage").global("torch", cls).str(key).str(location).integer(numel).tuple();
    return binpersid();
  }
  /// `torch._utils._rebuild_tensor_v2(pid, offset, size, stride, False, OrderedDict())`
  PickleBuilder& tensor_v2(std::string_view cls, std::string_view key, std::int32_t numel,
                           std::int32_t offset, std::initializer_list<std::int32_t> size,
                           std::initializer_list<std::int32_t> stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage_pid(cls, key, numel).integer(offset).ints(size).ints(stride).boolean(false);
    global("collections", "OrderedDict").empty_tuple().reduce();
    return tuple().reduce();
  }
  const std::vector<std::byte>& bytes() const { return b_; }

 private:
  PickleBuilder& op(int c) { return byte(static_cast<char>(c)); }
  PickleBuilder& byte(char c) {
    b_.push_back(static_cast<std::byte>(c));
    return *this;
  }
  PickleBuilder& raw(std::string_view s) {
    for (char c : s) byte(c);
    return *this;
  }
  PickleBuilder& u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::vector<std::byte> b_;
};

}  // namespace ptio::test
