// Printing the AST back as TorchScript source in PyTorch's PythonPrint layout.
#pragma once

#include <cstdint>
#include <string>

#include "ptio/export.h"
#include "ptio/jit/frontend/ast.h"
#include "ptio/jit/frontend/literals.h"

namespace ptio::jit::frontend {

/// Options of the printer.
struct PrintOptions {
  StringEncodeOptions strings;  ///< see StringEncodeOptions::cr_as_octal
  /// Maximum recursion (statement nesting + expression height). Trees parsed with the default
  /// ParseOptions stay below it; deeper hand-built trees give Error(kLimitExceeded).
  std::uint32_t max_depth = 1024;
};

/// Prints a file in the layout of PyTorch's PythonPrint (torch/csrc/jit/serialization/
/// python_print.cpp), so that for the code/ files PyTorch writes, print_source(parse_source(t))
/// == t:
/// - 2 spaces per indentation level, `\n` line ends, no blank lines or comments;
/// - def headers `def f(a: T,\n    b: U=default) -> R:` (continuation lines indented by exactly 4
///   spaces) or, for ParamLayout::kInline, `def m(self, a: T) -> R:`;
/// - annotated assignments and attributes as `name : Type` / `name : Type = value`;
/// - string literals per encode_string_literal, numbers spelled as parsed;
/// - parentheses and trailing commas where the source had them (`(obj).m(a, )`, `a, b, = t`),
///   plus the parentheses operator precedence requires (so hand-built trees print correctly).
/// Also prints the legacy `op_version_set = N` header and `import` lines when present.
/// parse_source(print_source(f)) gives back an equivalent tree (print is a fixed point).
PTIO_API std::string print_source(const ParsedFile& file, const PrintOptions& options = {});
/// Prints one class / def / statement at `indent` levels (2 spaces each), ending with `\n`.
PTIO_API std::string print_class(const ClassDef& cls, int indent = 0,
                                 const PrintOptions& options = {});
PTIO_API std::string print_def(const Def& def, int indent = 0, const PrintOptions& options = {});
PTIO_API std::string print_stmt(const Stmt& stmt, int indent = 0, const PrintOptions& options = {});
/// Prints one expression as it would appear on the right of `=` (a bare tuple stays bare).
PTIO_API std::string print_expr(const Expr& expr, const PrintOptions& options = {});

}  // namespace ptio::jit::frontend
