// Parsing TorchScript source (code/ records) into the AST: parse_source, parse_expression.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ptio/export.h"
#include "ptio/jit/frontend/ast.h"
#include "ptio/jit/frontend/limits.h"

namespace ptio::jit::frontend {

/// Options and limits of the parser. The limits (`max_source_bytes`, `max_depth`) are the
/// SourceLimits base, i.e. `ptio::Limits::jit` (ptio/limits.h); they keep hostile input from
/// exhausting the C stack or memory: nothing in parse_source recurses more than about `max_depth`
/// levels.
struct ParseOptions : SourceLimits {
  /// Accept the escapes PyTorch itself prints but its importer rejects (`\r`), plus `\xHH` and
  /// `\0`. Set to false for PyTorch's exact parseStringLiteral behaviour.
  bool lenient_string_escapes = true;
  /// Heap bytes the tree of this text may take, charged as the parser allocates it (each node,
  /// vector buffer and out-of-line string at glibc malloc's block size, plus the lexer's line
  /// table); 0 means
  /// `alloc_base_bytes + alloc_bytes_per_source_byte x text size`. Beyond it parse_source throws
  /// Error(kLimitExceeded) at the token where the budget ran out, naming `budget_note`.
  std::uint64_t max_alloc_bytes = 0;
  /// How the budget was computed, for the error message (e.g. "64 MiB + 64 x 1200 bytes of
  /// code/ sources"); empty: the default formula.
  std::string budget_note;
};

/// The heap bytes glibc's malloc takes for a request of `n` bytes (0 for none): n + 8 rounded up
/// to 16, at least 32. Tree allocations are charged at this size against
/// ParseOptions::max_alloc_bytes.
constexpr std::uint64_t malloc_block_bytes(std::uint64_t n) {
  return n == 0                                     ? 0
         : ((n + 8 + 15) & ~std::uint64_t{15}) < 32 ? 32
                                                    : (n + 8 + 15) & ~std::uint64_t{15};
}

/// Parses one code/ file the way PyTorch's SourceImporter does (import_source.cpp
/// `parseSourceIfNeeded` + parser.cpp): an optional `op_version_set = N` line, `import` lines,
/// then top-level `class` and `def` definitions (anything else at top level is an error).
/// The grammar is the importer's full grammar (language spec 2.1), a superset of what
/// PythonPrint emits.
///
/// `file_name` names the record (e.g. `code/__torch__/m.py`) in errors and in the result.
/// The result owns all its nodes and does not refer to `text`.
/// Throws ptio::Error(kJitSyntax) on a syntax error, with record = `file_name`, offset = byte
/// offset of the offending token and message `line:col: expected ':' after the condition, found
/// ...`; Error(kLimitExceeded) when a ParseOptions limit is exceeded.
PTIO_API ParsedFile parse_source(std::string_view text, std::string_view file_name,
                                 const ParseOptions& options = {});

/// Parses a single expression (e.g. a type annotation such as `Dict[str, List[Tensor]]` or a
/// qualified name), which must span the whole text apart from blanks. Errors as parse_source.
PTIO_API ExprPtr parse_expression(std::string_view text, std::string_view file_name = "<expr>",
                                  const ParseOptions& options = {});

}  // namespace ptio::jit::frontend
