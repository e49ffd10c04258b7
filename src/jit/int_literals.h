// Internal: the range check PyTorch's compiler makes on every integer literal of a code/ file.
#pragma once

#include <string>

#include "ptio/jit/frontend/ast.h"

namespace ptio::jit::detail {

/// Checks every number literal of `file` that is an integer (no '.', 'e', 'E' or 'j', as
/// tree_views.h `Const::isFloatingPoint` decides) as `Const::asIntegral` does when torch.jit.load
/// compiles the code: `std::stoll(text, nullptr, 0)` (a leading '0' reads octal, "0x" hex, a
/// unary minus folded into the literal by the parser counts) must not overflow int64 ("Integral
/// constant out of range (must fit in a signed 64 bit integer)") and must read at least one
/// digit (a doubly negated literal, "--5", is std::invalid_argument there). Throws
/// Error(kJitSyntax) naming `record`, the line:column and the byte offset of the literal.
/// Iterative: the trees' height does not grow the call stack.
void check_int_literals(const frontend::ParsedFile& file, const std::string& record);

}  // namespace ptio::jit::detail
