// IValue semantics: Python equality and hashing, shared payloads, cycles, deep values, printing.
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "test_support.h"

namespace ptio {
namespace {

TEST(IValue, SixteenBytesAndKinds) {
  EXPECT_EQ(sizeof(IValue), 16u);
  EXPECT_TRUE(IValue().is_none());
  EXPECT_TRUE(IValue(true).is_bool());
  EXPECT_TRUE(IValue(3).is_int());
  EXPECT_TRUE(IValue(2.5).is_double());
  EXPECT_TRUE(IValue("s").is_string());
  EXPECT_TRUE(IValue::bytearray("b").is_bytes());
  EXPECT_EQ(IValue::bytearray("b").kind(), IValue::Kind::ByteArray);
  EXPECT_EQ(IValue::frozenset().kind_name(), "frozenset");
}

TEST(IValue, AccessorsThrowWrongKind) {
  EXPECT_PTIO_ERROR(IValue(1).as_string(), ErrorCode::kWrongKind);
  EXPECT_PTIO_ERROR(IValue("x").as_int(), ErrorCode::kWrongKind);
  EXPECT_PTIO_ERROR(IValue().as_list(), ErrorCode::kWrongKind);
  EXPECT_PTIO_ERROR(IValue::list().as_tuple(), ErrorCode::kWrongKind);
  EXPECT_PTIO_ERROR(IValue(1.5).as_bool(), ErrorCode::kWrongKind);
  EXPECT_EQ(IValue(3).as_double(), 3.0);  // Python widens int to float
}

TEST(IValue, PythonNumericEquality) {
  // Python: 1 == 1.0 == True, hash(1) == hash(1.0) == hash(True), 1 != 1.5, complex(1, 0) == 1
  EXPECT_TRUE(IValue(1) == IValue(1.0));
  EXPECT_TRUE(IValue(true) == IValue(1));
  EXPECT_EQ(IValue(1).hash(), IValue(1.0).hash());
  EXPECT_EQ(IValue(true).hash(), IValue(1).hash());
  EXPECT_FALSE(IValue(1) == IValue(1.5));
  EXPECT_TRUE(IValue(std::complex<double>(1, 0)) == IValue(1));
  EXPECT_FALSE(IValue(std::nan("")) == IValue(std::nan("")));
  EXPECT_TRUE(IValue(-0.0) == IValue(0));
  // 2**63 as float is not equal to any int64
  EXPECT_FALSE(IValue(9223372036854775807LL) == IValue(9223372036854775808.0));
  EXPECT_FALSE(IValue("1") == IValue(1));
  EXPECT_TRUE(IValue::bytes("ab") == IValue::bytearray("ab"));
  EXPECT_FALSE(IValue::bytes("ab") == IValue("ab"));
  EXPECT_FALSE(IValue::tuple({1}) == IValue::list({1}));
}

// OrderedDict's repr as Debian 12's Python 3.11 (PyTorch 1.13's) prints it, values taken from
// /usr/bin/python3: repr(OrderedDict()), a self-referencing one, and one nested in a dict.
TEST(IValue, OrderedDictReprIsPython311s) {
  IValue empty = IValue::dict();
  empty.as_dict().ordered_dict = true;
  EXPECT_EQ(to_repr(empty), "OrderedDict()");
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  d.as_dict().insert_or_assign("w", IValue::tuple({1, 2}));
  d.as_dict().insert_or_assign(3, "x");
  d.as_dict().insert_or_assign("me", d);
  EXPECT_EQ(to_repr(d), "OrderedDict([('w', (1, 2)), (3, 'x'), ('me', ...)])");
  IValue k = IValue::list();
  k.as_list().elements.push_back(1);
  IValue inner = IValue::dict();
  inner.as_dict().ordered_dict = true;
  inner.as_dict().insert_or_assign("k", k);
  IValue outer = IValue::dict();
  outer.as_dict().insert_or_assign("s", inner);
  EXPECT_EQ(to_repr(outer), "{'s': OrderedDict([('k', [1])])}");
  break_cycles(d);
}

TEST(IValue, DictFollowsPythonKeySemantics) {
  // Python: d = {1: 'a'}; d[True] = 'b'; d[1.0] = 'c'; d['x'] = 1 -> {1: 'c', 'x': 1}
  IValue d = IValue::dict();
  auto& m = d.as_dict();
  m.insert_or_assign(1, "a");
  m.insert_or_assign(true, "b");
  m.insert_or_assign(1.0, "c");
  m.insert_or_assign("x", 1);
  EXPECT_EQ(to_repr(d), "{1: 'c', 'x': 1}");
  for (int i = 0; i < 100; ++i) m.insert_or_assign(IValue::tuple({i, "k"}), i);  // hash index
  EXPECT_EQ(m.size(), 102u);
  EXPECT_EQ(m.find(IValue::tuple({57, "k"}))->as_int(), 57);
  EXPECT_EQ(m.find(IValue::tuple({57.0, "k"}))->as_int(), 57);
  EXPECT_EQ(m.find(IValue::tuple({57, "j"})), nullptr);
  for (int i = 0; i < 100; ++i) m.insert_or_assign("key" + std::to_string(i), i);
  EXPECT_EQ(m.find("key42")->as_int(), 42);  // string lookups use the hash index too
  EXPECT_EQ(m.find(std::string_view("x"))->as_int(), 1);
  EXPECT_EQ(m.find("key100"), nullptr);
  const std::string key = "key7";  // a std::string key (was ambiguous: IValue or string_view)
  EXPECT_EQ(m.find(key)->as_int(), 7);
  EXPECT_EQ(std::as_const(m).find(key + "0")->as_int(), 70);
  EXPECT_PTIO_ERROR(m.insert_or_assign(IValue::list(), 1), ErrorCode::kWrongKind);
  EXPECT_PTIO_ERROR(IValue::dict().hash(), ErrorCode::kWrongKind);
}

TEST(IValue, SetsCompareWithoutOrder) {
  IValue a = IValue::set(), b = IValue::frozenset();
  for (int i = 0; i < 20; ++i) a.as_set().insert(i);
  for (int i = 19; i >= 0; --i) b.as_set().insert(IValue(static_cast<double>(i)));
  b.as_set().insert(3);  // already present (3 == 3.0)
  EXPECT_EQ(b.as_set().size(), 20u);
  EXPECT_TRUE(a == b);  // Python: set(range(20)) == frozenset(float(i) for i in range(20))
  IValue c = IValue::frozenset();
  for (int i = 0; i < 20; ++i) c.as_set().insert(i);
  EXPECT_EQ(b.hash(), c.hash());  // frozenset hash ignores order and 1 vs 1.0
}

TEST(IValue, ContainersAreSharedHandles) {
  IValue l = IValue::list({1});
  IValue alias = l;
  EXPECT_EQ(l.use_count(), 2u);
  alias.as_list().elements.push_back(2);
  EXPECT_EQ(to_repr(l), "[1, 2]");
  EXPECT_TRUE(l.is_same(alias));
  EXPECT_FALSE(l.is_same(IValue::list({1, 2})));
  EXPECT_TRUE(l == IValue::list({1, 2}));
}

TEST(IValue, CyclesDoNotHang) {
  IValue l = IValue::list();
  l.as_list().elements.push_back(l);  // Python: l = []; l.append(l)
  EXPECT_EQ(to_repr(l), "[[...]]");
  EXPECT_TRUE(l == l);
  IValue m = IValue::list();
  m.as_list().elements.push_back(m);
  EXPECT_TRUE(l == m);  // structurally the same infinite list
  EXPECT_PTIO_ERROR(l.hash(), ErrorCode::kWrongKind);
  EXPECT_EQ(to_json(l), "[{\"cycle\": \"list\"}]");
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign("s", d);
  EXPECT_EQ(to_repr(d), "{'s': {...}}");
  break_cycles(l);
  break_cycles(m);
  break_cycles(d);
}

TEST(IValue, DeepValuesNeitherCrashNorRecurseForever) {
  IValue root = IValue::list();
  IValue cur = root;
  for (int i = 0; i < 200000; ++i) {
    IValue next = IValue::list();
    cur.as_list().elements.push_back(next);
    cur = next;
  }
  cur = IValue();
  const std::string r = to_repr(root, {.max_depth = 3});
  EXPECT_EQ(r, "[[[...]]]");
  EXPECT_NO_THROW(to_repr(root));
  EXPECT_PTIO_ERROR((void)(root == root.as_list().elements[0]), ErrorCode::kLimitExceeded);
  IValue t = 1;
  for (int i = 0; i < 5000; ++i) t = IValue::tuple({t});
  EXPECT_PTIO_ERROR(t.hash(), ErrorCode::kLimitExceeded);
  // Destroying both is iterative (no stack overflow).
}

TEST(IValue, BigIntKeepsEveryDigit) {
  // 2**64 = 18446744073709551616; -(2**64); -(2**63) - 1; -(2**63) fits int64
  const std::uint8_t two64[] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(IValue::from_long_bytes(two64).as_big_int().to_string(), "18446744073709551616");
  const std::uint8_t neg64[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff};
  EXPECT_EQ(IValue::from_long_bytes(neg64).as_big_int().to_string(), "-18446744073709551616");
  const std::uint8_t min_minus1[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff};
  EXPECT_EQ(IValue::from_long_bytes(min_minus1).as_big_int().to_string(), "-9223372036854775809");
  const std::uint8_t min64[] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff};  // redundant sign byte
  EXPECT_EQ(IValue::from_long_bytes(min64).as_int(), std::numeric_limits<std::int64_t>::min());
  const std::uint8_t empty[] = {0};
  EXPECT_EQ(IValue::from_long_bytes(std::span<const std::uint8_t>(empty, 0)).as_int(), 0);
  std::vector<std::uint8_t> huge(2000, 0);
  huge.push_back(1);
  EXPECT_EQ(IValue::from_long_bytes(huge).as_big_int().to_string().substr(0, 3), "0x1");
}

TEST(IValue, FloatReprMatchesPython) {
  // repr() of each value in CPython 3.11
  const std::pair<double, const char*> cases[] = {
      {0.1, "0.1"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {1e-05, "1e-05"},
      {0.0001, "0.0001"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {123456789.125, "123456789.125"},
      {1e22, "1e+22"},
      {1152921504606846976.0, "1.152921504606847e+18"},
      {-0.0, "-0.0"},
      {1.0 / 3, "0.3333333333333333"},
      {100.0, "100.0"},
      {2.5e-310, "2.5e-310"}};
  for (const auto& [d, s] : cases) EXPECT_EQ(float_repr(d), s);
}

TEST(IValue, ReprMatchesPython) {
  EXPECT_EQ(to_repr(IValue("it's")), "\"it's\"");
  EXPECT_EQ(to_repr(IValue("a\"b")), "'a\"b'");
  EXPECT_EQ(to_repr(IValue("both'\"")), "'both\\'\"'");
  EXPECT_EQ(to_repr(IValue::bytes(std::string("\x00\xff'a", 4))), "b\"\\x00\\xff'a\"");
  EXPECT_EQ(to_repr(IValue::bytearray("q")), "bytearray(b'q')");
  EXPECT_EQ(to_repr(IValue(std::complex<double>(0, 2))), "2j");
  EXPECT_EQ(to_repr(IValue(std::complex<double>(-1.5, -0.0))), "(-1.5-0j)");
  EXPECT_EQ(to_repr(IValue(std::complex<double>(1, std::nan("")))), "(1+nanj)");
  EXPECT_EQ(to_repr(IValue::set()), "set()");
  EXPECT_EQ(to_repr(IValue::frozenset()), "frozenset()");
  EXPECT_EQ(to_repr(IValue::tuple({1})), "(1,)");
}

TEST(IValue, JsonEncoding) {
  IValue l =
      IValue::list({-0.0, std::int64_t{1} << 53, (std::int64_t{1} << 53) + 1, std::nan(""),
                    -std::numeric_limits<double>::infinity(), "\xc3\xa9\xf0\x9f\x98\x80",
                    IValue::bytes("ab"), IValue::tuple({}), IValue(std::complex<double>(1, -2))});
  EXPECT_EQ(to_json(l),
            "[-0.0, 9007199254740992, {\"int\": \"9007199254740993\"}, {\"float\": \"nan\"}, "
            "{\"float\": \"-inf\"}, \"\\u00e9\\ud83d\\ude00\", {\"bytes\": \"YWI=\"}, "
            "{\"tuple\": []}, {\"complex\": [1.0, -2.0]}]");
}

TEST(QualifiedName, PrefixNameAtoms) {
  QualifiedName q("__torch__.torch.nn.modules.linear.Linear");
  EXPECT_EQ(q.prefix(), "__torch__.torch.nn.modules.linear");
  EXPECT_EQ(q.name(), "Linear");
  EXPECT_EQ(q.atoms().size(), 6u);
  EXPECT_TRUE(q.starts_with(QualifiedName("__torch__")));
  EXPECT_FALSE(QualifiedName("__torch__x.A").starts_with(QualifiedName("__torch__")));
  EXPECT_EQ(QualifiedName("__torch__", "M").qualified_name(), "__torch__.M");
}

}  // namespace
}  // namespace ptio
