// Printer tests: PythonPrint layout, parentheses for hand-built trees, fixed points on tricky
// input.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace fe = ptio::jit::frontend;
using fe::BinaryOp;
using fe::Expr;
using fe::ExprKind;
using fe::UnaryOp;

namespace {

std::string reprint(std::string_view text) {
  return fe::print_source(fe::parse_source(text, "t.py"));
}

// print(parse(print(parse(text)))) == print(parse(text)), and returns the first print.
std::string fixed_point(std::string_view text) {
  const std::string p1 = reprint(text);
  EXPECT_EQ(reprint(p1), p1) << "not a fixed point:\n" << p1;
  return p1;
}

std::vector<fe::ExprPtr> items(fe::ExprPtr a, fe::ExprPtr b) {
  std::vector<fe::ExprPtr> v;
  v.push_back(std::move(a));
  v.push_back(std::move(b));
  return v;
}

}  // namespace

TEST(JitPrinter, PythonPrintLayoutIsReproduced) {
  // Verbatim PyTorch 1.13 output (spec-torchscript 7.5 and the interop models).
  const std::string text =
      "class Top(Module):\n"
      "  __parameters__ = [\"w\", ]\n"
      "  __buffers__ = []\n"
      "  w : Tensor\n"
      "  training : bool\n"
      "  _is_full_backward_hook : Optional[bool]\n"
      "  __annotations__[\"0\"] = __torch__.m2.Lin\n"
      "  K : Final[int] = 7\n"
      "  NAMES : Final[Tuple[str, str]] = (\"a\", \"b\")\n"
      "  def forward(self: __torch__.models.Top,\n"
      "    x: Tensor,\n"
      "    y: Optional[Tensor]=None,\n"
      "    n: int=2) -> Tuple[Tensor, Dict[str, Tensor]]:\n"
      "    _0 = __torch__.torch.nn.functional.softmax\n"
      "    t = annotate(List[int], [])\n"
      "    x0 = (sub).forward(x, )\n"
      "    s = (torch.size(x5))[-1]\n"
      "    if torch.__isnot__(y, None):\n"
      "      y0 = unchecked_cast(Tensor, y)\n"
      "    else:\n"
      "      pass\n"
      "    k, v0, = _36[_37]\n"
      "    hx9 : Optional[Tensor] = torch.unsqueeze(hx10, 1)\n"
      "    _18, _19 = True, -1.5\n"
      "    with _7:\n"
      "      x11 = torch.mul(x10, 2)\n"
      "    def __forked_function():\n"
      "      return _9(x11, 2, 0.5, )\n"
      "    fut = fork(__forked_function)\n"
      "    ops.prim.RaiseException(\"AssertionError: needs 1-d\")\n"
      "    _1 = torch.clamp(y, -1.5, 10000000000, dtype=None)\n"
      "    return (torch.mul((inp)[0], 2),)\n"
      "class I(ModuleInterface):\n"
      "  def forward(self, x: Tensor) -> Tensor:\n"
      "    pass\n"
      "class Mood(Enum):\n"
      "  HAPPY = \"happy\"\n"
      "def helper(x: Tensor,\n"
      "    c: complex=1.5-2.j) -> Tuple[Tuple[()], complex]:\n"
      "  _0 = torch.add(c, 1.+nanj)\n"
      "  return ((), _0)\n";
  EXPECT_EQ(fixed_point(text), text);
  const std::string legacy =
      "op_version_set = 0\n"
      "def forward(self,\n"
      "    x: Tensor) -> Tensor:\n"
      "  return torch.add(x, self.value, alpha=1)\n";
  EXPECT_EQ(fixed_point(legacy), legacy);
}

TEST(JitPrinter, CanonicalisesHandWrittenSource) {
  EXPECT_EQ(fixed_point("def f(a,b = 1)->int :\n    x : int=1  # c\n    return 'it\\'s'\n"),
            "def f(a, b=1) -> int:\n  x : int = 1\n  return \"it\\'s\"\n");
  EXPECT_EQ(fixed_point("def f(x):\n  if a:\n    pass\n  elif b:\n    pass\n  else:\n    pass\n"),
            "def f(x):\n  if a:\n    pass\n  elif b:\n    pass\n  else:\n    pass\n");
  EXPECT_EQ(fixed_point("def f(x):\n  return (  (x) )\n"), "def f(x):\n  return ((x))\n");
  // Operators written without spaces stay so unless the operand would merge with them.
  EXPECT_EQ(fixed_point("def f(x):\n  return a*-b + c-d - e*(f) + g* *h\n"),
            "def f(x):\n  return a * -b + c-d - e*(f) + g * *h\n");
}

TEST(JitPrinter, TrickyExpressionsAreFixedPoints) {
  const char* exprs[] = {
      "a + b * c",
      "(a + b) * c",
      "a - (b - c)",
      "-x ** 2",
      "(-x) ** 2",
      "(-1) ** 2",
      "a ** -b",
      "not a == b",
      "a and not b",
      "(not a) + b",
      "a is (not b)",
      "x if c else y if d else z",
      "(x if c else y) if d else z",
      "[(a if b else c) for i in y]",
      "[a if b else c for i in y]",
      "{k: v for k in d}",
      "f(*args)",
      "x[:, 0]",
      "x[::2]",
      "x[1:]",
      "x[:]",
      "x[::]",
      "(1).real",
      "--1",
      "- -x",
      "a < b < c",
      "a < (b < c)",
      "~a & b",
      "(~a) & b",
      "{}",
      "[]",
      "()",
      "((),)",
      "(a,)",
      "(a, b,)",
      "'a' 'b'",
      "...",
      "Ellipsis",
      "a.b(c)[d].e",
      "f(a=1, *b)",
      "(a, b)[0]",
  };
  for (const char* e : exprs) {
    const std::string text = std::string("def f():\n  return ") + e + "\n";
    fixed_point(text);
  }
}

TEST(JitPrinter, HandBuiltTreesGetTheParenthesesTheyNeed) {
  auto print = [](const fe::ExprPtr& e) { return fe::print_expr(*e); };
  EXPECT_EQ(print(Expr::binary(BinaryOp::kMul,
                               Expr::binary(BinaryOp::kAdd, Expr::var("a"), Expr::var("b")),
                               Expr::var("c"))),
            "(a + b) * c");
  EXPECT_EQ(print(Expr::binary(BinaryOp::kSub, Expr::var("a"),
                               Expr::binary(BinaryOp::kSub, Expr::var("b"), Expr::var("c")))),
            "a - (b - c)");
  EXPECT_EQ(print(Expr::binary(BinaryOp::kPow,
                               Expr::binary(BinaryOp::kPow, Expr::var("a"), Expr::var("b")),
                               Expr::var("c"))),
            "(a ** b) ** c");
  EXPECT_EQ(print(Expr::binary(BinaryOp::kPow, Expr::integer(-1), Expr::integer(2))), "(-1) ** 2");
  EXPECT_EQ(print(Expr::unary(UnaryOp::kNeg,
                              Expr::binary(BinaryOp::kAdd, Expr::var("a"), Expr::var("b")))),
            "-(a + b)");
  EXPECT_EQ(print(Expr::unary(UnaryOp::kNeg, Expr::unary(UnaryOp::kNot, Expr::var("a")))),
            "-(not a)");
  EXPECT_EQ(print(Expr::binary(BinaryOp::kIs, Expr::var("a"),
                               Expr::unary(UnaryOp::kNot, Expr::var("b")))),
            "a is (not b)");
  EXPECT_EQ(print(Expr::select(Expr::integer(1), "real")), "(1).real");
  EXPECT_EQ(print(Expr::select(Expr::binary(BinaryOp::kAdd, Expr::var("a"), Expr::var("b")), "x")),
            "(a + b).x");
  auto tuple = Expr::sequence(ExprKind::kTuple, items(Expr::var("a"), Expr::var("b")));
  tuple->parens = 0;
  EXPECT_EQ(print(tuple), "a, b");
  std::vector<fe::ExprPtr> args;
  args.push_back(std::move(tuple));
  EXPECT_EQ(print(Expr::apply(Expr::dotted("torch.add"), std::move(args))), "torch.add((a, b))");
  std::vector<std::pair<std::string, fe::ExprPtr>> kw;
  kw.emplace_back("dtype", Expr::integer(6));
  std::vector<fe::ExprPtr> pos;
  pos.push_back(Expr::floating(1e-5));
  pos.push_back(Expr::floating(2.0));
  pos.push_back(Expr::floating(-std::numeric_limits<double>::infinity()));
  pos.push_back(Expr::string("a\"b"));
  pos.push_back(Expr::none());
  EXPECT_EQ(print(Expr::apply(Expr::dotted("torch.full"), std::move(pos), std::move(kw))),
            "torch.full(1.0000000000000001e-05, 2., -inf, \"a\\\"b\", None, dtype=6)");
  // The printed form of a hand-built tree parses back to the same print.
  auto ternary = std::make_unique<Expr>(ExprKind::kTernary);
  ternary->operands.push_back(Expr::var("c"));
  ternary->operands.push_back(Expr::var("x"));
  ternary->operands.push_back(Expr::var("y"));
  auto comp = std::make_unique<Expr>(ExprKind::kListComp);
  comp->operands.push_back(std::move(ternary));
  comp->operands.push_back(Expr::var("i"));
  comp->operands.push_back(Expr::var("xs"));
  const std::string text = print(comp);
  EXPECT_EQ(text, "[(x if c else y) for i in xs]");
  EXPECT_EQ(fe::print_expr(*fe::parse_expression(text)), text);
}

TEST(JitPrinter, DefsClassesAndStatementsIndividually) {
  const auto f = fe::parse_source(
      "class A(Module):\n  x : int\n  def f(self: __torch__.A,\n    y: int=1) -> int:\n"
      "    return y\n",
      "t.py");
  const fe::ClassDef& c = *f.items.at(0)->cls;
  EXPECT_EQ(fe::print_class(c),
            "class A(Module):\n  x : int\n  def f(self: __torch__.A,\n"
            "    y: int=1) -> int:\n    return y\n");
  EXPECT_EQ(fe::print_def(*c.body.at(1)->def, 2),
            "    def f(self: __torch__.A,\n    y: int=1) -> int:\n      return y\n");
  EXPECT_EQ(fe::print_stmt(*c.body.at(0), 1), "  x : int\n");
  fe::Def d;
  d.name = "g";
  EXPECT_EQ(fe::print_def(d), "def g():\n  pass\n");  // an empty body prints `pass`
}

TEST(JitPrinter, StringEncodingOptions) {
  const auto f = fe::parse_source("def f():\n  return \"a\\rb\"\n", "t.py");
  EXPECT_EQ(fe::print_source(f), "def f():\n  return \"a\\rb\"\n");  // PyTorch's own bytes
  fe::PrintOptions loadable;
  loadable.strings.cr_as_octal = true;
  EXPECT_EQ(fe::print_source(f, loadable), "def f():\n  return \"a\\015b\"\n");
}

TEST(JitPrinter, DeepHandBuiltTreeIsACleanError) {
  fe::ExprPtr e = Expr::var("x");
  for (int i = 0; i < 10000; ++i) e = Expr::unary(UnaryOp::kNeg, std::move(e));
  try {
    fe::print_expr(*e);
    FAIL();
  } catch (const ptio::Error& err) {
    EXPECT_EQ(err.code(), ptio::ErrorCode::kLimitExceeded);
  }
  // Tear down iteratively-ish: release the chain from the top to keep the test's stack small.
  while (e && !e->operands.empty()) {
    fe::ExprPtr next = std::move(e->operands[0]);
    e = std::move(next);
  }
}
