// Cursor: bounds-checked little- and big-endian reads over bytes in memory, with offsets in errors.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "ptio/error.h"
#include "ptio/export.h"

namespace ptio::io {

/// Reads fixed-width integers and byte runs from a span, checking every read against the end.
///
/// `base_offset` is the absolute file offset of the span's first byte, so that errors name the
/// offset in the file, not in the span. A read past the end throws Error(kIoOutOfBounds) (or the
/// code given at construction, e.g. kZipTruncated) naming `file`, `record` and the offset, and
/// leaves the position unchanged. The span is borrowed: it must outlive the Cursor.
class PTIO_API Cursor {
 public:
  Cursor(std::span<const std::byte> data, std::uint64_t base_offset = 0, std::string file = {},
         std::string record = {}, ErrorCode truncated_code = ErrorCode::kIoOutOfBounds)
      : data_(data),
        base_(base_offset),
        file_(std::move(file)),
        record_(std::move(record)),
        truncated_code_(truncated_code) {}

  std::uint8_t u8() { return load<std::uint8_t, std::endian::little>(); }
  std::uint16_t u16le() { return load<std::uint16_t, std::endian::little>(); }
  std::uint32_t u32le() { return load<std::uint32_t, std::endian::little>(); }
  std::uint64_t u64le() { return load<std::uint64_t, std::endian::little>(); }
  std::int32_t i32le() { return static_cast<std::int32_t>(u32le()); }
  std::int64_t i64le() { return static_cast<std::int64_t>(u64le()); }
  std::uint16_t u16be() { return load<std::uint16_t, std::endian::big>(); }
  std::uint32_t u32be() { return load<std::uint32_t, std::endian::big>(); }
  std::uint64_t u64be() { return load<std::uint64_t, std::endian::big>(); }
  double f64be() { return std::bit_cast<double>(u64be()); }
  double f64le() { return std::bit_cast<double>(u64le()); }

  /// The next `n` bytes, borrowed from the underlying span.
  std::span<const std::byte> bytes(std::size_t n) {
    require(n);
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  /// The next `n` bytes as characters, borrowed.
  std::string_view chars(std::size_t n) {
    auto s = bytes(n);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  void skip(std::size_t n) {
    require(n);
    pos_ += n;
  }
  /// Moves to position `pos` (relative to the span); throws when pos > size.
  void seek(std::size_t pos) {
    if (pos > data_.size()) fail(pos - pos_ /*for message*/, pos);
    pos_ = pos;
  }

  std::size_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return data_.size(); }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  bool at_end() const noexcept { return pos_ == data_.size(); }
  /// Absolute file offset of the current position.
  std::uint64_t offset() const noexcept { return base_ + pos_; }
  std::uint64_t base_offset() const noexcept { return base_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& record() const noexcept { return record_; }

  /// Throws Error(code, message) located at the current offset with this cursor's file and record.
  [[noreturn]] void error(ErrorCode code, std::string message) const;
  /// Same, located at the absolute offset `abs_offset`.
  [[noreturn]] void error_at(std::uint64_t abs_offset, ErrorCode code, std::string message) const;

 private:
  void require(std::size_t n) const {
    if (n > data_.size() - pos_) [[unlikely]] fail(n, pos_);
  }
  [[noreturn]] void fail(std::size_t wanted, std::size_t at) const;

  template <typename T, std::endian E>
  T load() {
    require(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    if constexpr (E != std::endian::native && sizeof(T) > 1) v = byteswap(v);
    return v;
  }
  template <typename T>
  static T byteswap(T v) {
    if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
    else if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
    else return static_cast<T>(__builtin_bswap64(v));
  }

  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  std::uint64_t base_;
  std::string file_;
  std::string record_;
  ErrorCode truncated_code_;
};

/// Little-endian stores into a byte buffer (writer side of Cursor).
inline void store_u16le(std::byte* p, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
inline void store_u32le(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
inline void store_u64le(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

/// Appends little-/big-endian integers to a std::string or byte vector (builder helpers).
template <typename Buf>
void append_le(Buf& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<typename Buf::value_type>((v >> (8 * i)) & 0xff));
}
template <typename Buf>
void append_be(Buf& out, std::uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i)
    out.push_back(static_cast<typename Buf::value_type>((v >> (8 * i)) & 0xff));
}

}  // namespace ptio::io
