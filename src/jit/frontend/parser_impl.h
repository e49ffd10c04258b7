// Internal: the recursive-descent parser shared by parser_expr.cpp and parser_stmt.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/jit/frontend/ast.h"
#include "ptio/jit/frontend/lexer.h"
#include "ptio/jit/frontend/parser.h"

namespace ptio::jit::frontend::parse_impl {

/// The parser charges its tree's allocations at glibc's malloc block size.
inline std::uint64_t heap_block(std::uint64_t n) {
  return malloc_block_bytes(n);
}

/// Vector buffers from this size on are charged in full when they grow (see charge_growth).
inline constexpr std::uint64_t kLargeBlock = std::uint64_t{64} << 10;

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

  // ---- the tree's allocations, charged as they are made (ParseOptions::max_alloc_bytes) ----
  /// Adds `bytes` to the charge; beyond the budget throws kLimitExceeded at the current token.
  void charge(std::uint64_t bytes);
  /// Charges the heap block of a string's characters (nothing while they fit in the object).
  void charge_string(const std::string& s);
  /// A new node of the tree, charged with its heap block and its text.
  ExprPtr node(ExprKind kind, const SourceRange& range, std::string text = {});
  StmtPtr stmt(StmtKind kind, const SourcePos& begin);
  /// push_back charging the growth of the vector's buffer (live bytes: new block - old block).
  template <class T, class U>
  void push(std::vector<T>& v, U&& x) {
    const std::size_t cap = v.capacity();
    v.push_back(std::forward<U>(x));
    if (v.capacity() != cap) charge_growth(cap, v.capacity(), sizeof(T));
  }
  void charge_growth(std::size_t old_cap, std::size_t new_cap, std::size_t elem);

  Lexer L;
  ParseOptions options_;
  std::uint32_t depth_ = 0;
  SourcePos last_end_;
  std::uint64_t alloc_ = 0;      // heap bytes of the tree (and the lexer's line table) so far
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
