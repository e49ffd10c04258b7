// Parser tests: statements, expressions, precedence, classes, headers, errors and limits.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace fe = ptio::jit::frontend;
using fe::BinaryOp;
using fe::ExprKind;
using fe::StmtKind;

namespace {

// A compact S-expression of an expression tree, for asserting structure.
std::string sx(const fe::Expr* e) {
  if (!e) return "_";
  switch (e->kind) {
    case ExprKind::kVar:
      return e->text;
    case ExprKind::kConst:
      return "#" + e->text;
    case ExprKind::kString:
      return "'" + e->text + "'";
    case ExprKind::kNone:
      return "None";
    case ExprKind::kTrue:
      return "True";
    case ExprKind::kFalse:
      return "False";
    case ExprKind::kNoneType:
      return "NoneType";
    case ExprKind::kDots:
      return "...";
    case ExprKind::kSelect:
      return "(. " + sx(e->operands[0].get()) + " " + e->text + ")";
    case ExprKind::kApply: {
      std::string s = "(call " + sx(e->operands[0].get());
      for (const auto& a : e->args)
        s += " " + (a.name.empty() ? "" : a.name + "=") + sx(a.value.get());
      return s + ")";
    }
    case ExprKind::kUnary:
      return std::string("(") + fe::unary_op_text(e->unary_op) + sx(e->operands[0].get()) + ")";
    case ExprKind::kBinary:
      return std::string("(") + fe::binary_op_text(e->binary_op) + " " + sx(e->operands[0].get()) +
             " " + sx(e->operands[1].get()) + ")";
    default: {
      static const char* names[] = {"",      "",      "",     "",     "",         "",        "",
                                    "",      "",      "",     "sub",  "slice",    "",        "",
                                    "ifexp", "tuple", "list", "dict", "listcomp", "dictcomp"};
      std::string s = std::string("(") + names[static_cast<int>(e->kind)];
      for (const auto& o : e->operands) s += " " + sx(o.get());
      return s + ")";
    }
  }
}

std::string ex(std::string_view text) {
  return sx(fe::parse_expression(text).get());
}

ptio::Error parse_error(std::string_view text, const fe::ParseOptions& o = {}) {
  try {
    fe::parse_source(text, "code/__torch__/m.py", o);
  } catch (const ptio::Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text.substr(0, 200);
  return ptio::Error(ptio::ErrorCode::kInternal, "none");
}

const fe::Stmt& body0(const fe::ParsedFile& f, std::size_t i) {
  return *f.items.at(0)->def->body.at(i);
}

}  // namespace

TEST(JitParser, Precedence) {
  EXPECT_EQ(ex("a + b * c"), "(+ a (* b c))");
  EXPECT_EQ(ex("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(ex("a ** b ** c"), "(** a (** b c))");
  EXPECT_EQ(ex("-x ** 2"), "(-(** x #2))");
  EXPECT_EQ(ex("-1"), "#-1");  // unary minus folded into the constant
  EXPECT_EQ(ex("- 2.5"), "#-2.5");
  EXPECT_EQ(ex("-inf"), "(-inf)");
  EXPECT_EQ(ex("a or b and c"), "(and (or a b) c)");  // same level, left to right (not Python)
  EXPECT_EQ(ex("not a == b"), "(not (== a b))");
  EXPECT_EQ(ex("~a & b"), "(~(& a b))");        // ~ has unary precedence 3 in TorchScript
  EXPECT_EQ(ex("a < b < c"), "(< (< a b) c)");  // no chaining
  EXPECT_EQ(ex("a is not None"), "(is not a None)");
  EXPECT_EQ(ex("k not in d"), "(not in k d)");
  EXPECT_EQ(ex("a | b ^ c & d << e + f // g @ h"), "(| a (^ b (& c (<< d (+ e (@ (// f g) h))))))");
  EXPECT_EQ(ex("x if c else y if d else z"), "(ifexp c x (ifexp d y z))");
  EXPECT_EQ(ex("*args"), "(*args)");
}

TEST(JitParser, AtomsAndPostfix) {
  EXPECT_EQ(ex("__torch__.foo.Bar"), "(. (. __torch__ foo) Bar)");
  EXPECT_EQ(ex("(obj).method(a, b=1, )"), "(call (. obj method) a b=#1)");
  EXPECT_EQ(ex("x[:, 0]"), "(sub x (slice _ _ _) #0)");
  EXPECT_EQ(ex("x[1:3, ::2, ..., None]"), "(sub x (slice #1 #3 _) (slice _ _ #2) ... None)");
  EXPECT_EQ(ex("(t)[1:]"), "(sub t (slice #1 _ _))");
  EXPECT_EQ(ex("[1, 2, ]"), "(list #1 #2)");
  EXPECT_EQ(ex("(a,)"), "(tuple a)");
  EXPECT_EQ(ex("()"), "(tuple)");
  EXPECT_EQ(ex("{\"a\": 1, \"b\": x}"), "(dict 'a' #1 'b' x)");
  EXPECT_EQ(ex("[x * 2 for x in xs]"), "(listcomp (* x #2) x xs)");
  EXPECT_EQ(ex("{k: v for k in d}"), "(dictcomp k v k d)");
  EXPECT_EQ(ex("'a' \"b\""), "'ab'");
  EXPECT_EQ(ex("Tuple[()]"), "(sub Tuple (tuple))");
  EXPECT_EQ(ex("Dict[str, Optional[List[Tensor]]]"),
            "(sub Dict str (sub Optional (sub List Tensor)))");
  EXPECT_EQ(ex("annotate(List[int], [])"), "(call annotate (sub List int) (list))");
  EXPECT_EQ(ex("uninitialized(Tensor)"), "(call uninitialized Tensor)");
  EXPECT_EQ(ex("CONSTANTS.c0"), "(. CONSTANTS c0)");
  EXPECT_EQ(ex("ops.prim.RaiseException(\"x\", \"builtins.ValueError\")"),
            "(call (. (. ops prim) RaiseException) 'x' 'builtins.ValueError')");
  EXPECT_EQ(ex("NoneType"), "NoneType");
  EXPECT_EQ(ex("1.+2.5j"), "(+ #1. #2.5j)");
}

TEST(JitParser, Statements) {
  const auto f = fe::parse_source(
      "def f(self, x: Tensor, *, n: int=2) -> Tensor:\n"
      "  a, b, = t\n"
      "  x0 = y0 = 1\n"
      "  z : Optional[Tensor] = None\n"
      "  w : int\n"
      "  x += 1\n"
      "  if a:\n    pass\n  elif b:\n    pass\n  else:\n    pass\n"
      "  while c:\n    break\n"
      "  for i, j in zip(p, q), r:\n    continue\n"
      "  with torch.no_grad() as g, h:\n    pass\n"
      "  assert x, \"m\"\n"
      "  raise Exception(\"e\")\n"
      "  del x[0], y\n"
      "  global G, H\n"
      "  torch.warn(\"w\")\n"
      "  def __forked_function():\n    return x\n"
      "  return\n",
      "m.py");
  const fe::Def& d = *f.items.at(0)->def;
  EXPECT_EQ(d.params.size(), 3u);
  EXPECT_EQ(d.star_index, 2u);
  EXPECT_TRUE(d.params[2].kwarg_only);
  EXPECT_EQ(d.layout, fe::ParamLayout::kInline);
  EXPECT_EQ(sx(d.params[2].default_value.get()), "#2");
  const StmtKind want[] = {
      StmtKind::kAssign,    StmtKind::kAssign, StmtKind::kAssign, StmtKind::kAssign,
      StmtKind::kAugAssign, StmtKind::kIf,     StmtKind::kWhile,  StmtKind::kFor,
      StmtKind::kWith,      StmtKind::kAssert, StmtKind::kRaise,  StmtKind::kDelete,
      StmtKind::kGlobal,    StmtKind::kExpr,   StmtKind::kDef,    StmtKind::kReturn};
  ASSERT_EQ(d.body.size(), std::size(want));
  for (std::size_t i = 0; i < d.body.size(); ++i) EXPECT_EQ(d.body[i]->kind, want[i]) << i;
  EXPECT_EQ(sx(body0(f, 0).targets[0].get()), "(tuple a b)");
  EXPECT_TRUE(body0(f, 0).targets[0]->trailing_comma);
  EXPECT_EQ(body0(f, 1).targets.size(), 2u);
  EXPECT_EQ(sx(body0(f, 2).type.get()), "(sub Optional Tensor)");
  EXPECT_EQ(body0(f, 3).value, nullptr);
  EXPECT_EQ(body0(f, 4).aug_op, BinaryOp::kAdd);
  EXPECT_TRUE(body0(f, 5).orelse.at(0)->is_elif);
  EXPECT_EQ(body0(f, 7).targets.size(), 2u);
  EXPECT_EQ(body0(f, 7).iters.size(), 2u);
  EXPECT_EQ(body0(f, 8).items.at(0).as_name, "g");
  EXPECT_EQ(sx(body0(f, 9).message.get()), "'m'");
  EXPECT_EQ(body0(f, 12).names, (std::vector<std::string>{"G", "H"}));
  EXPECT_EQ(body0(f, 15).value, nullptr);
}

TEST(JitParser, ClassFormsAndHeaders) {
  const auto f = fe::parse_source(
      "op_version_set = 1\n"
      "import torch\n"
      "class M(Module):\n"
      "  __parameters__ = [\"w\", ]\n"
      "  __buffers__ = []\n"
      "  w : Tensor\n"
      "  __annotations__[\"0\"] = __torch__.torch.nn.modules.linear.Linear\n"
      "  K : Final[int] = 7\n"
      "  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n    return x\n"
      "class E(Enum):\n  A = 1\n  B = \"b\"\n"
      "class P(NamedTuple):\n  x : int\n"
      "class I(Interface):\n  def m(self, a: int) -> int:\n    pass\n"
      "class C:\n  a : int\n"
      "def helper(x: Tensor) -> Tensor:\n  return x\n",
      "code/__torch__.py");
  EXPECT_EQ(f.op_version_set, "1");
  ASSERT_EQ(f.items.size(), 7u);
  EXPECT_EQ(f.items[0]->kind, StmtKind::kImport);
  EXPECT_EQ(f.items[0]->text, "torch");
  const fe::ClassDef* m = f.find_class("M");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->superclass_name(), "Module");
  EXPECT_EQ(m->body.size(), 6u);
  EXPECT_EQ(m->body[5]->kind, StmtKind::kDef);
  EXPECT_EQ(m->body[5]->def->layout, fe::ParamLayout::kPythonPrint);
  EXPECT_EQ(f.find_class("E")->superclass_name(), "Enum");
  EXPECT_EQ(f.find_class("P")->superclass_name(), "NamedTuple");
  EXPECT_EQ(f.find_class("I")->body[0]->def->layout, fe::ParamLayout::kInline);
  EXPECT_EQ(f.find_class("C")->superclass, nullptr);
  const fe::Def* h = f.find_def("helper");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->name_range.begin.line, 22u);
  EXPECT_EQ(h->name_range.begin.column, 5u);
  EXPECT_EQ(h->range.begin.line, 22u);
  EXPECT_EQ(h->range.end.line, 23u);
  EXPECT_EQ(h->range.end.column, 11u);
  // Def ranges map back to the source text exactly.
  const fe::Def& fwd = *m->body[5]->def;
  EXPECT_EQ(fwd.range.begin.line, 9u);
  EXPECT_EQ(fwd.range.begin.column, 3u);
  EXPECT_EQ(fwd.range.end.line, 11u);
}

TEST(JitParser, TypeCommentAndOneLineDef) {
  const auto f = fe::parse_source(
      "def f(x, y):\n  # type: (int, Tensor) -> Tensor\n  return y\n"
      "def g(x): return x\n",
      "m.py");
  const fe::Def& d = *f.items[0]->def;
  EXPECT_EQ(sx(d.params[0].type.get()), "int");
  EXPECT_EQ(sx(d.params[1].type.get()), "Tensor");
  EXPECT_EQ(sx(d.return_type.get()), "Tensor");
  EXPECT_EQ(f.items[1]->def->body.size(), 1u);
  EXPECT_EQ(parse_error("def f(x, y):\n  # type: (int) -> int\n  return y\n").code(),
            ptio::ErrorCode::kJitSyntax);
}

TEST(JitParser, EmptyAndCommentOnlyFiles) {
  EXPECT_TRUE(fe::parse_source("", "m.py").items.empty());
  EXPECT_TRUE(fe::parse_source("# nothing\n\n", "m.py").items.empty());
}

TEST(JitParser, SyntaxErrorsCarryFileLineColumn) {
  struct Case {
    const char* text;
    const char* where;  // "line:col: expected ..." prefix of the message
  };
  const Case cases[] = {
      {"def f(x: int) -> int:\n  if x\n    return 1\n  return 2\n",
       "2:7: expected ':' after the condition, found indent"},
      {"def f(x: int) -> int:\n  y = (x +\n  return y\n",
       "3:3: expected an expression, found 'return'"},
      {"def f(x: int) -> int:\n  return x y\n",
       "2:12: expected the end of the statement (a newline), found identifier 'y'"},
      {"class A(Module):\nx : int\n", "1:17: expected an indented block, found newline"},
      {"x = 1\n", "1:1: expected 'class' or 'def' at the top level"},
      {"def f(a b):\n  pass\n", "1:9: expected ',' or ')', found identifier 'b'"},
      {"def f():\n  return [x for x in y, 1]\n", "2:11: expected a single list comprehension"},
      {"def f():\n  a, b += 1\n", "2:3: augmented assignment can only have one LHS"},
      {"def f():\n  return \"a\\qb\"\n", "2:12: ill formed octal specifier"},
      {"def f():\n  return 1",
       "2:11: expected the end of the statement (a newline), found end of file"},
      {"def f():\n  x = y.\n", "2:9: expected an attribute name after '.'"},
      {"def f():\n  if a:\n      b\n    c\n", "invalid indent level 4"},
      {"def f():\n  x : int = y = 1\n", "2:7: annotated multiple assignment is not supported"},
      {"def f():\n  x = 1 if y\n", "expected 'else' in the conditional expression"},
  };
  for (const auto& c : cases) {
    const ptio::Error e = parse_error(c.text);
    EXPECT_EQ(e.code(), ptio::ErrorCode::kJitSyntax) << c.text;
    EXPECT_EQ(e.record(), "code/__torch__/m.py");
    EXPECT_TRUE(e.offset().has_value());
    EXPECT_NE(e.message().find(c.where), std::string::npos)
        << "wanted: " << c.where << "\n   got: " << e.message();
  }
  // The byte offset matches the line and column.
  const ptio::Error e = parse_error("def f(x: int) -> int:\n  if x\n    return 1\n");
  EXPECT_EQ(e.offset(), 28u);  // "def f(x: int) -> int:\n" is 22 bytes, then "  if x" ends at 28
  EXPECT_NE(std::string(e.what()).find("code/__torch__/m.py"), std::string::npos);
}

TEST(JitParser, HostileNestingIsACleanError) {
  const std::string parens(100000, '(');
  ptio::Error e = parse_error("def f():\n  return " + parens + "\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  EXPECT_NE(e.message().find("nesting deeper than 256"), std::string::npos);
  e = parse_error("def f():\n  return " + std::string(100000, '-') + "x\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  e = parse_error("def f():\n  return " + std::string(100000, '[') + "\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  std::string chain = "x";
  for (int i = 0; i < 100000; ++i) chain += ".a";
  e = parse_error("def f():\n  return " + chain + "\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  std::string sum = "x";
  for (int i = 0; i < 100000; ++i) sum += " + x";
  e = parse_error("def f():\n  return " + sum + "\n");
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  std::string blocks = "def f():\n";
  for (int i = 0; i < 1000; ++i) blocks += std::string(2 * (i + 1), ' ') + "if x:\n";
  blocks += std::string(2002, ' ') + "pass\n";
  e = parse_error(blocks);
  EXPECT_EQ(e.code(), ptio::ErrorCode::kLimitExceeded);
  // Just inside the limits parses.
  std::string ok =
      "def f():\n  return " + std::string(200, '(') + "x" + std::string(200, ')') + "\n";
  EXPECT_NO_THROW(fe::parse_source(ok, "m.py"));
}

TEST(JitParser, TreesJustInsideTheLimitsPrint) {
  // 250 nested blocks around an expression of height ~500: parses, prints, and reparses.
  std::string text = "def f():\n";
  for (int i = 0; i < 250; ++i) text += std::string(2 * (i + 1), ' ') + "if x:\n";
  std::string chain = "x";
  for (int i = 0; i < 500; ++i) chain += i % 2 ? ".a" : "[0]";
  text += std::string(502, ' ') + "return " + chain + "\n";
  const auto f = fe::parse_source(text, "m.py");
  const std::string printed = fe::print_source(f);
  EXPECT_EQ(fe::print_source(fe::parse_source(printed, "m.py")), printed);
}

TEST(JitParser, LargeInputWithinLimits) {
  std::string text = "class Big(Module):\n  __parameters__ = []\n";
  for (int i = 0; i < 20000; ++i) text += "  a" + std::to_string(i) + " : Tensor\n";
  text += "  def forward(self: __torch__.Big,\n    x: Tensor) -> Tensor:\n";
  for (int i = 0; i < 20000; ++i) text += "    x = torch.add(x, " + std::to_string(i) + ")\n";
  text += "    return x\n";
  const auto f = fe::parse_source(text, "big.py");
  EXPECT_EQ(f.items.at(0)->cls->body.size(), 20002u);
  EXPECT_EQ(fe::print_source(f), text);
  fe::ParseOptions small;
  small.max_source_bytes = 1000;
  EXPECT_EQ(parse_error(text, small).code(), ptio::ErrorCode::kLimitExceeded);
}

#if defined(__SANITIZE_ADDRESS__)
#define PTIO_TEST_OWN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTIO_TEST_OWN_MALLOC 1
#endif
#endif

// ParsedFile::alloc_bytes (what counts against the budget) is the heap the tree takes, measured
// by glibc's mallinfo2: never less (the budget bounds the memory), and at most twice it (a huge
// vector is charged with the blocks it grew through). The charge was 192 bytes per token: 1.2x
// to 100x the heap (nested parentheses make tokens but no nodes; `global a, a, ...` 10x).
TEST(JitParser, AllocBytesIsTheHeapTheTreeTakes) {
#if !defined(__GLIBC__) || defined(PTIO_TEST_OWN_MALLOC)
  GTEST_SKIP() << "needs glibc's malloc (mallinfo2)";
#else
  auto repeat = [](std::string head, const std::string& unit, const std::string& tail) {
    int i = 0;
    while (head.size() < (100u << 10)) {
      std::string u = unit;
      if (const auto at = u.find('#'); at != std::string::npos) u.replace(at, 1, std::to_string(i));
      head += u;
      ++i;
    }
    return head + tail;
  };
  const std::string f = "def f(x: int) -> int:\n";
  const std::pair<const char*, std::string> shapes[] = {
      {"statements", repeat(f, " x=1\n", " return x\n")},
      {"pass", repeat(f, " pass\n", " return x\n")},
      {"parentheses", repeat(f, " x=((((((((((1))))))))))\n", " return x\n")},
      {"nested lists", repeat(f, " x=[[[[[[[[[[]]]]]]]]]]\n", " return x\n")},
      {"unary", repeat(f, " x=-~x\n", " return x\n")},
      {"binary", repeat(f, " x=1+x*2-x//3\n", " return x\n")},
      {"slices", repeat(f, " x[::]\n", " return x\n")},
      {"arguments", repeat(f + " return g(", "a=1,", ")\n")},
      {"long names", repeat(f, " x=the_quite_long_name_#.another_attribute_name\n", " return x\n")},
      {"globals", repeat(f + " global ", "a,", "a\n return x\n")},
      {"defs", repeat("", "def f#(x: int):\n return x\n", "")},
      {"classes", repeat("", "class C#:\n a : int\n def f(self):\n  pass\n", "")},
  };
  for (const auto& [what, text] : shapes) {
    const std::size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
    const fe::ParsedFile file = fe::parse_source(text, "t.py");
    const std::size_t heap = mallinfo2().uordblks + mallinfo2().hblkhd - before;
    EXPECT_GE(file.alloc_bytes, heap) << what;
    EXPECT_LE(file.alloc_bytes, 2 * heap) << what;
  }
#endif
}
