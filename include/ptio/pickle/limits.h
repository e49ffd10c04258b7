// Limits: bounds the unpickler enforces on untrusted input (depth, memo, lengths, allocation).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ptio/export.h"

namespace ptio::pickle {

/// Resource bounds for one `Unpickler::load()`. Every length read from the stream is first
/// compared with the bytes that remain (independently of these limits), so a declared length can
/// never cause an allocation larger than the input; these limits bound what a small input can
/// make the VM build. Exceeding one throws the code named on the field.
struct PTIO_API Limits {
  /// Open MARKs at once (the nesting of containers being built): Error(kPickleDepthLimit).
  std::size_t max_depth = 1000;
  /// Values on the VM stack at once: Error(kPickleContainerLimit).
  std::size_t max_stack = std::size_t{1} << 26;
  /// Distinct memo entries, and the largest memo index (PUT/BINPUT/LONG_BINPUT/MEMOIZE)
  /// accepted: Error(kPickleMemoLimit).
  std::size_t max_memo_entries = std::size_t{1} << 26;
  /// Items in one container (list, tuple, dict, set) or bytes in one string/bytes value:
  /// Error(kPickleContainerLimit).
  std::size_t max_container_length = std::size_t{1} << 28;
  /// Total bytes the VM may allocate (values, payloads, memo, copies made by globals such as
  /// `set(list)`), as `alloc_base_bytes + alloc_bytes_per_input_byte * input size`:
  /// Error(kPickleAllocationLimit). Approximate accounting (16 bytes per stack slot plus
  /// payload sizes), meant to stop amplification attacks, not to meter memory exactly.
  std::uint64_t alloc_base_bytes = std::uint64_t{64} << 20;
  std::uint64_t alloc_bytes_per_input_byte = 64;
  /// Longest decimal integer text (INT/LONG in protocol 0) converted, in digits (CPython 3.11's
  /// default `int_max_str_digits`): Error(kPickleBadValue).
  std::size_t max_decimal_digits = 4300;
};

}  // namespace ptio::pickle
