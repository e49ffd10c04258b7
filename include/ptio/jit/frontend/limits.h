// SourceLimits: bounds the TorchScript lexer and parser enforce on untrusted `code/` sources.
#pragma once

#include <cstdint>

namespace ptio::jit::frontend {

/// The TorchScript frontend's part of ptio::Limits (see ptio/limits.h). Exceeding either throws
/// Error(kLimitExceeded) located at the token where it happened.
struct SourceLimits {
  /// Texts larger than this, in bytes. Real code/ files are at most a few MB.
  std::uint64_t max_source_bytes = 16u << 20;
  /// Maximum nesting of parsing recursion (parentheses, brackets, unary operators, call
  /// arguments, nested blocks); expression trees built by loops (long `a.b.c...` or
  /// `a + b + ...` chains) may be at most 2 * max_depth high. The default keeps every parsed tree
  /// printable with the default PrintOptions::max_depth, also under ASan.
  std::uint32_t max_depth = 256;
  /// Bytes the parsed trees (ASTs) of one archive's code/ files and the types built from them
  /// may take in total, charged as they are allocated (every node, vector buffer and out-of-line
  /// string at its malloc block size; ParseOptions::max_alloc_bytes):
  /// `alloc_base_bytes + alloc_bytes_per_source_byte x source bytes`, where a deflated record
  /// counts at most `alloc_inflate_ratio` source bytes per compressed byte it occupies in the file
  /// (as the pickle layer's Limits::alloc_inflate_ratio), so a small compressed record cannot
  /// justify a large tree. Real code/ files take about 25-40 bytes per source byte beyond the base
  /// and compress at most ~7x; hostile shapes up to ~160 (`x=-~x` lines). Exceeding it throws
  /// Error(kLimitExceeded).
  std::uint64_t alloc_base_bytes = std::uint64_t{64} << 20;
  std::uint64_t alloc_bytes_per_source_byte = 64;
  std::uint64_t alloc_inflate_ratio = 16;
};

}  // namespace ptio::jit::frontend
