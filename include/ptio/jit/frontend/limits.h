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
};

}  // namespace ptio::jit::frontend
