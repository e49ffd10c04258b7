// crc32: the zip CRC-32 (as zlib's crc32 and miniz's mz_crc32), for callers of the zip layer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ptio/export.h"

namespace ptio::zip {

/// Continues the standard zip CRC-32 `crc` (start with 0) over `n` bytes at `data` (libdeflate's
/// libdeflate_crc32; the value zlib.crc32 and miniz's mz_crc32 give). `data` may be null when n==0.
PTIO_API std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) noexcept;

}  // namespace ptio::zip
