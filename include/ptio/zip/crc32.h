// crc32: the zip CRC-32 (as zlib's crc32 and miniz's mz_crc32), for callers of the zip layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ptio/export.h"

namespace ptio::zip {

/// Continues the standard zip CRC-32 `crc` (start with 0) over `n` bytes at `data` (libdeflate's
/// libdeflate_crc32; the value zlib.crc32 and miniz's mz_crc32 give). `data` may be null when n==0.
PTIO_API std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) noexcept;

/// A CRC-32 as 8 lower-case hex digits ("1fe7e552"): the form `unzip -v` and zipinfo print, used
/// by the zip layer's error messages (kZipCrcMismatch) and by `ptio ls` / `ptio verify`. Returns a
/// new string; throws nothing but std::bad_alloc.
inline std::string crc_hex(std::uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc));
  return buf;
}

}  // namespace ptio::zip
