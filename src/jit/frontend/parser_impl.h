// Internal: the recursive-descent parser shared by parser_expr.cpp and parser_stmt.cpp.
#pragma once

#include <functional>
#include <string_view>

#include "ptio/jit/frontend/ast.h"
#include "ptio/jit/frontend/lexer.h"
#include "ptio/jit/frontend/parser.h"

namespace ptio::jit::frontend::parse_impl {

/// A port of PyTorch's ParserImpl (torch/csrc/jit/frontend/parser.cpp) that builds ptio's AST
/// and counts its recursion depth (ParseOptions::max_depth).
class Parser {
 public:
  Parser(std::string_view text, std::string_view file_name, const ParseOptions& options);

  ParsedFile parse_file();
  ExprPtr parse_single_expression();

  // ---- expressions (parser_expr.cpp) ----
  ExprPtr parse_exp(int precedence = 0);
  ExprPtr parse_exp_or_exp_tuple();
  ExprPtr parse_base_exp();

  // ---- statements (parser_stmt.cpp) ----
  StmtPtr parse_stmt(bool in_class);
  std::vector<StmtPtr> parse_block(bool in_class);
  std::unique_ptr<Def> parse_function(bool is_method);
  std::unique_ptr<ClassDef> parse_class();

 private:
  friend class DepthGuard;
  // Expression helpers.
  ExprPtr parse_subscript_item();
  ExprPtr parse_string_literals();
  void parse_arguments(Expr& apply);
  ExprPtr finish(ExprPtr e);  // computes the height, enforces the limit
  // Statement helpers.
  StmtPtr parse_if(bool expect_if);
  StmtPtr parse_assign(ExprPtr lhs);
  StmtPtr parse_for();
  StmtPtr parse_with();
  Param parse_param(bool kwarg_only);
  void parse_type_comment(Def& def, bool is_method);

  /// Consumes the current token, remembering where the last real token ended (for ranges).
  Token take();
  /// take() if the current token has `kind`, else "expected <what>, found ..." (kJitSyntax).
  Token expect(TokenKind kind, std::string_view what = {});
  [[noreturn]] void expected(std::string_view what);
  /// Elements separated by ',' up to `close` (the opener already consumed), PyTorch's
  /// parseSequence; returns whether a trailing ',' was written.
  bool parse_sequence(TokenKind close, const std::function<void()>& element);
  SourceRange span_from(const SourcePos& begin) const { return SourceRange{begin, last_end_}; }
  [[noreturn]] void limit_error(const SourcePos& where) const;
  [[noreturn]] void alloc_error(const SourcePos& where) const;

  Lexer L;
  ParseOptions options_;
  std::uint32_t depth_ = 0;
  SourcePos last_end_;
  std::uint64_t alloc_ = 0;      // bytes charged so far (kAstBytesPerToken per token + its bytes)
  std::uint64_t max_alloc_ = 0;  // ParseOptions::max_alloc_bytes, resolved
};

/// Counts one level of parser recursion; throws kLimitExceeded beyond ParseOptions::max_depth.
class DepthGuard {
 public:
  explicit DepthGuard(Parser& p);
  ~DepthGuard() { --p_.depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  Parser& p_;
};

}  // namespace ptio::jit::frontend::parse_impl
