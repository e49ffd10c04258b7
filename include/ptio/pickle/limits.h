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
  /// Error(kPickleAllocationLimit). Approximate, cumulative accounting (16 bytes per stack slot
  /// pushed, each memo slot, container and payload, never given back on pop), meant to stop
  /// amplification attacks, not to meter memory exactly. The pickles of real checkpoints need at
  /// most ~15 bytes per input byte (the shared corpus, base 0); a NONE opcode costs 16, so a pickle
  /// of a byte stream as long as the file can build at most ~64x the file's size, plus the base.
  /// The "input size" is the bytes of the span from the start position, except for a pickle
  /// inflated from compressed bytes (UnpicklerOptions::stored_size): see alloc_inflate_ratio.
  std::uint64_t alloc_base_bytes = std::uint64_t{64} << 20;
  std::uint64_t alloc_bytes_per_input_byte = 64;
  /// For a pickle inflated from compressed bytes (a deflated zip record: UnpicklerOptions::
  /// stored_size is its compressed size), at most `alloc_inflate_ratio` inflated bytes per byte
  /// it occupies in the file count as input size: the budget is `alloc_base_bytes +
  /// alloc_bytes_per_input_byte * min(input size, alloc_inflate_ratio * stored_size)`, in bytes.
  /// Without it, 60 KB of deflated NONE opcodes (60 MiB inflated, ratio ~1000) made the VM
  /// build a 1 GB stack. Real pickles deflate 3-5x (torch.save stores data.pkl uncompressed; a
  /// re-zipped one is deflated) and need ~15 bytes per inflated byte, so they load up to a
  /// compression ratio of ~60 (1024 budget bytes per stored byte), and any pickle of at most
  /// ~1 MiB loads whatever its ratio (the base); a 60 KB flood is refused at ~125 MiB. 0 turns the
  /// cap off (every inflated byte counts).
  std::uint64_t alloc_inflate_ratio = 16;
  /// Longest decimal integer text (INT/LONG in protocol 0) converted, in digits (CPython 3.11's
  /// default `int_max_str_digits`): Error(kLimitExceeded) for longer digit strings
  /// (Error(kPickleBadValue) for text that is no integer).
  std::size_t max_decimal_digits = 4300;
};

}  // namespace ptio::pickle
