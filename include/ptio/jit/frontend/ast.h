// The AST of TorchScript source: expressions, statements, defs, classes and whole code/ files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptio/export.h"
#include "ptio/jit/frontend/lexer.h"

namespace ptio::jit::frontend {

/// Expression kinds; the names follow PyTorch's tree views (torch/csrc/jit/frontend/tree_views.h).
enum class ExprKind : std::uint8_t {
  kVar,     ///< identifier; `text` = name
  kConst,   ///< number literal; `text` = its spelling (a folded unary minus included: "-1")
  kString,  ///< string literal(s); `text` = decoded bytes (adjacent literals concatenated)
  kTrue,
  kFalse,
  kNone,
  kNoneType,   ///< the keyword `NoneType`
  kDots,       ///< `...` or `Ellipsis`; `text` = the spelling
  kSelect,     ///< `operands[0].text`
  kApply,      ///< `operands[0](args)`
  kSubscript,  ///< `operands[0][operands[1], ...]`
  kSlice,     ///< `start:stop:step` inside a subscript; operands = {start, stop, step}, each may be
              ///< null
  kUnary,     ///< `unary_op operands[0]`
  kBinary,    ///< `operands[0] binary_op operands[1]`
  kTernary,   ///< `operands[1] if operands[0] else operands[2]` (TernaryIf: cond, true, false)
  kTuple,     ///< `(a, b)` or a bare `a, b`; operands = elements
  kList,      ///< `[a, b]`
  kDict,      ///< `{k0: v0, ...}`; operands = k0, v0, k1, v1, ...
  kListComp,  ///< `[elt for target in iter]`; operands = {elt, target, iter}
  kDictComp,  ///< `{key: value for target in iter}`; operands = {key, value, target, iter}
};

enum class UnaryOp : std::uint8_t {
  kNeg,     ///< `-x` (TK_UNARY_MINUS; applied to a number it is folded into the kConst text)
  kNot,     ///< `not x`
  kInvert,  ///< `~x`
  kStar,    ///< `*x` (TK_STARRED)
};

/// Binary operators with PyTorch's precedences (lexer.cpp `binary_prec`; see binary_precedence).
/// `not in` keeps its own kind here (PyTorch builds `not (a in b)`); `and`/`or` share a level.
enum class BinaryOp : std::uint8_t {
  kAnd,
  kOr,  // 2
  kIn,
  kNotIn,
  kLt,
  kGt,
  kIs,
  kIsNot,
  kEq,
  kLe,
  kGe,
  kNe,      // 4
  kBitOr,   // 5
  kBitXor,  // 6
  kBitAnd,  // 7
  kLShift,
  kRShift,  // 8
  kAdd,
  kSub,  // 9
  kMul,
  kDiv,
  kFloorDiv,
  kMod,
  kMatMul,  // 10
  kPow,     // 11, right associative
};

/// Precedence of a binary operator (higher binds tighter), as in PyTorch's lexer.cpp.
PTIO_API int binary_precedence(BinaryOp op);
/// Precedence of a unary operator: 3 for `not` and `~`, 10 for `-` and `*`.
PTIO_API int unary_precedence(UnaryOp op);
/// The operator's spelling: "+", "not in", "is not", "**", ...
PTIO_API const char* binary_op_text(BinaryOp op);
PTIO_API const char* unary_op_text(UnaryOp op);

struct Expr;
/// Expressions own their children; a tree is deleted recursively (its height is bounded by
/// ParseOptions::max_depth for parsed trees).
using ExprPtr = std::unique_ptr<Expr>;

/// One call argument: `value` or `name=value` (PyTorch's Attribute). Order is kept as written.
struct Argument {
  std::string name;  ///< empty for a positional argument
  SourceRange name_range;
  ExprPtr value;
};

/// An expression node. Which members are used depends on `kind` (see ExprKind). Formatting facts
/// the printer needs to reproduce the source exactly are kept too: the number of parentheses
/// written around the node and trailing commas.
struct PTIO_API Expr {
  ExprKind kind = ExprKind::kVar;
  SourceRange range;
  std::string text;
  UnaryOp unary_op = UnaryOp::kNeg;
  BinaryOp binary_op = BinaryOp::kAdd;
  std::vector<ExprPtr> operands;
  std::vector<Argument> args;     ///< kApply only
  std::uint8_t parens = 0;        ///< explicit parentheses around this node in the source (capped)
  bool trailing_comma = false;    ///< kApply, kList, kTuple, kSubscript: `x,` before the closer
  bool slice_step_colon = false;  ///< kSlice: a second ':' was written (`a::`, `::2`)
  /// kBinary: written without spaces around a symbolic operator, as PyTorch prints complex
  /// constants (`1.5-2.j`, `1.+2.5j`); the printer keeps it where the tokens stay apart.
  bool compact = false;
  /// Height of the tree rooted here (1 for a leaf), maintained by the parser to enforce
  /// ParseOptions::max_depth; hand-built trees may leave it at 1.
  std::uint32_t height = 1;

  Expr() = default;
  Expr(ExprKind k, std::string t = {}) : kind(k), text(std::move(t)) {}

  /// Deep copy.
  ExprPtr clone() const;

  // Convenience constructors for building trees by hand (e.g. the exporter).
  static ExprPtr var(std::string name);
  static ExprPtr number(std::string spelling);
  static ExprPtr integer(std::int64_t v);
  static ExprPtr floating(double v);  ///< spelled by format_double
  static ExprPtr string(std::string value);
  static ExprPtr none();
  static ExprPtr select(ExprPtr value, std::string name);
  /// `name` may be dotted (`torch.add`, `__torch__.foo.Bar`): a chain of kSelect on a kVar.
  static ExprPtr dotted(std::string_view name);
  static ExprPtr apply(ExprPtr callee, std::vector<ExprPtr> positional,
                       std::vector<std::pair<std::string, ExprPtr>> keywords = {});
  static ExprPtr subscript(ExprPtr value, std::vector<ExprPtr> items);
  static ExprPtr unary(UnaryOp op, ExprPtr operand);
  static ExprPtr binary(BinaryOp op, ExprPtr lhs, ExprPtr rhs);
  static ExprPtr sequence(ExprKind kind, std::vector<ExprPtr> elements);  ///< tuple/list

  /// For kVar/kSelect chains: the dotted name (`torch.nn.functional.relu`), else empty.
  std::string dotted_name() const;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
struct Def;
struct ClassDef;

enum class StmtKind : std::uint8_t {
  kExpr,       ///< value
  kAssign,     ///< targets (chained `a = b = v` gives two), value (null for `x : T`), type
  kAugAssign,  ///< targets[0] aug_op= value
  kIf,         ///< value = condition, body, orelse (an `elif` is an If in orelse with is_elif)
  kWhile,      ///< value = condition, body
  kFor,        ///< targets in iters: body
  kReturn,     ///< value, null for a bare `return`
  kRaise,      ///< value
  kAssert,     ///< value = test, message (may be null)
  kPass,
  kBreak,
  kContinue,
  kDelete,  ///< targets
  kGlobal,  ///< names
  kWith,    ///< items: body
  kDef,     ///< def (nested function, e.g. `def __forked_function():`)
  kClass,   ///< cls (top level only)
  kImport,  ///< text = the tokens after `import`, as written (legacy files, top level only)
};

/// `expr` or `expr as name` in a `with` statement.
struct WithItem {
  ExprPtr expr;
  std::string as_name;  ///< empty when there is no `as`
  SourceRange as_range;
};

/// A statement. Which members are used depends on `kind` (see StmtKind).
struct PTIO_API Stmt {
  StmtKind kind = StmtKind::kPass;
  SourceRange range;
  std::vector<ExprPtr> targets;
  ExprPtr value;
  ExprPtr type;
  ExprPtr message;
  std::vector<ExprPtr> iters;
  BinaryOp aug_op = BinaryOp::kAdd;
  std::vector<StmtPtr> body;
  std::vector<StmtPtr> orelse;
  bool is_elif = false;
  std::vector<std::string> names;
  std::vector<WithItem> items;
  std::unique_ptr<Def> def;
  std::unique_ptr<ClassDef> cls;
  std::string text;

  Stmt();
  explicit Stmt(StmtKind k);
  ~Stmt();
  Stmt(Stmt&&) noexcept;
  Stmt& operator=(Stmt&&) noexcept;
};

/// A formal parameter `name[: type][=default]` (PyTorch's Param).
struct Param {
  std::string name;
  SourceRange range;
  ExprPtr type;             ///< may be null (e.g. `self` in legacy files)
  ExprPtr default_value;    ///< may be null
  bool kwarg_only = false;  ///< after a bare `*`
};

/// How a def header lays out its parameters (both forms appear in PyTorch's output).
enum class ParamLayout : std::uint8_t {
  kPythonPrint,  ///< `def f(a: T,\n    b: U) -> R:` (methods and functions)
  kInline,       ///< `def f(self, a: T) -> R:` (interface method signatures)
};

/// A function or method definition (PyTorch's Def + Decl).
struct PTIO_API Def {
  std::string name;
  SourceRange name_range;
  SourceRange range;  ///< from `def` to the end of the last body token
  std::vector<Param> params;
  std::optional<std::size_t> star_index;  ///< position of a bare `*` among params, if written
  ExprPtr return_type;                    ///< null when there is no `->`
  std::vector<StmtPtr> body;
  ParamLayout layout = ParamLayout::kPythonPrint;
};

/// A class definition: `class Name[(superclass)]:` and its body (PyTorch's ClassDef). The body
/// holds `__parameters__ = [...]` lists, `name : Type` attributes, `__annotations__["0"] = T`,
/// `X : Final[T] = v` constants, enum members `A = 1`, `def`s and `pass`.
struct PTIO_API ClassDef {
  std::string name;
  SourceRange name_range;
  SourceRange range;
  ExprPtr superclass;  ///< `Module`, `NamedTuple`, `Enum`, `Interface`, `ModuleInterface` or null
  std::vector<StmtPtr> body;

  /// The superclass as written (`Module`, ...), or empty.
  std::string superclass_name() const;
};

/// One parsed code/ file: optional legacy header, then top-level definitions in order
/// (statements of kind kClass, kDef, and kImport for legacy `import` lines).
struct PTIO_API ParsedFile {
  std::string file_name;
  std::optional<std::string> op_version_set;  ///< the number text of `op_version_set = N`
  std::vector<StmtPtr> items;
  /// Bytes charged against ParseOptions::max_alloc_bytes while parsing: the heap blocks of the
  /// tree's nodes, vectors and strings as allocated (glibc malloc block sizes), plus the lexer's
  /// line table.
  std::uint64_t alloc_bytes = 0;

  /// Finds a top-level class or def by name; null if absent.
  const ClassDef* find_class(std::string_view name) const;
  const Def* find_def(std::string_view name) const;
};

}  // namespace ptio::jit::frontend
