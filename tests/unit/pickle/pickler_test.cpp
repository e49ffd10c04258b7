// Pickler: values built in C++ (not read from a file) written byte-identically to CPython's
// pickle.dumps(v, 2), and PyTorch's C++ pickler rules (memo by use count, LONG1 8, type tags).
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/pickle/pickler.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::string bytes_str(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

TEST(Pickler, PythonDialectMatchesCPython) {
  // {'a': [1, 2.5, None, True, 'é'], 'b': (1, 2, 3, 4), 'c': b'\x00\xff', 'n': -2**40,
  //  'big': 2**70, 's': {3}, 'z': 1j}; pickle.dumps(v, 2) with CPython 3.11:
  const std::string expected =
      "\200\002}q\000(X\001\000\000\000aq\001]q\002(K\001G@\004\000\000\000\000\000\000N\210X\002"
      "\000\000\000\303\251q\003eX\001\000\000\000bq\004(K\001K\002K\003K\004tq\005X\001\000\000"
      "\000cq\006c_codecs\012encode\012q\007X\003\000\000\000\000\303\277q\010X\006\000\000\000l"
      "atin1q\011\206q\012Rq\013X\001\000\000\000nq\014\212\006\000\000\000\000\000\377X\003\000"
      "\000\000bigq\015\212\011\000\000\000\000\000\000\000\000@X\001\000\000\000sq\016c__builti"
      "n__\012set\012q\017]q\020K\003a\205q\021Rq\022X\001\000\000\000zq\023c__builtin__\012comp"
      "lex\012q\024G\000\000\000\000\000\000\000\000G\077\360\000\000\000\000\000\000\206q\025Rq"
      "\026u."s;
  IValue v = IValue::dict();
  auto& d = v.as_dict();
  d.insert_or_assign("a", IValue::list({1, 2.5, IValue(), true, "\xc3\xa9"}));
  d.insert_or_assign("b", IValue::tuple({1, 2, 3, 4}));
  d.insert_or_assign("c", IValue::bytes(std::string("\x00\xff", 2)));
  d.insert_or_assign("n", -(std::int64_t{1} << 40));
  const std::uint8_t two70[] = {0, 0, 0, 0, 0, 0, 0, 0, 0x40};
  d.insert_or_assign("big", IValue::from_long_bytes(two70));
  IValue s = IValue::set();
  s.as_set().insert(3);
  d.insert_or_assign("s", s);
  d.insert_or_assign("z", IValue(std::complex<double>(0, 1)));
  PicklerOptions o;
  o.dialect = Dialect::kPython;
  EXPECT_EQ(bytes_str(pickle_value(v, o)), expected);
}

TEST(Pickler, PythonDialectMemoizesSharedPayloadsAsCPython) {
  // Only a payload more than one IValue refers to can be met again: those get BINGET, every value
  // its BINPUT (the memo table holds only the shared ones). t = (1, 2); s = 's'; inner = [s];
  // pickle.dumps([t, t, s, s, inner, inner, 'u', {'k': inner}], 2) with CPython 3.11:
  const std::string expected = "\x80\x02]q\x00(K\x01K\x02\x86q\x01h\x01X\x01\x00\x00\x00sq\x02h\x02]q\x03h\x02" "ah\x03X\x01\x00\x00\x00uq\x04}q\x05X\x01\x00\x00\x00kq\x06h\x03se."s;
  IValue t = IValue::tuple({1, 2});
  IValue s("s");
  IValue inner = IValue::list({s});
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign("k", inner);
  const IValue v = IValue::list({t, t, s, s, inner, inner, "u", d});
  PicklerOptions o;
  o.dialect = Dialect::kPython;
  EXPECT_EQ(bytes_str(pickle_value(v, o)), expected);
  // The same values held only by the list (use count 1 but for the list's two references) and a
  // handle outside the list that is met once: the bytes do not change.
  t = IValue();
  s = IValue();
  inner = IValue();
  d = IValue();
  EXPECT_EQ(bytes_str(pickle_value(v, o)), expected);
  // The Pickler's own 'latin1' str (for every bytes object) is one object in CPython too: the
  // second bytes object's encode call takes it from the memo, though only the Pickler holds it.
  // pickle.dumps([b'\xff', b'\xfe'], 2):
  EXPECT_EQ(bytes_str(pickle_value(IValue::list({IValue::bytes(std::string("\xff", 1)),
                                                  IValue::bytes(std::string("\xfe", 1))}),
                                   o)),
            "\x80\x02]q\x00(c_codecs\x0a" "encode\x0aq\x01X\x02\x00\x00\x00\xc3\xbfq\x02X\x06"
            "\x00\x00\x00latin1q\x03\x86q\x04Rq\x05h\x01X\x02\x00\x00\x00\xc3\xbeq\x06h\x03"
            "\x86q\x07Rq\x08" "e."s);
  const IValue once = IValue::list({IValue::tuple({1, 2})});
  const IValue outside = once.as_list().elements[0];  // use count 2, met once: BINPUT, no BINGET
  EXPECT_EQ(bytes_str(pickle_value(once, o)), "\x80\x02]q\x00K\x01K\x02\x86q\x01" "a."s);
}

TEST(Pickler, TorchScriptMemoizesSharedValuesAndStrings) {
  IValue t = IValue::tuple({1, 2});
  IValue v = IValue::list({t, t, "s", "s", std::int64_t{1} << 40});
  // ] ( K1 K2 TUPLE2 BINPUT0 BINGET0 X's' BINPUT1 BINGET1 LONG1 8 bytes APPENDS STOP
  const std::string expected =
      "\x80\x02](K\x01K\x02\x86q\x00h\x00X\x01\x00\x00\x00sq\x01h\x01\x8a\x08\x00\x00\x00\x00\x00"
      "\x01\x00\x00"
      "e."s;
  EXPECT_EQ(bytes_str(pickle_value(v)), expected);
}

TEST(Pickler, TorchScriptTypeTagsAndObjects) {
  IValue ints = IValue::list({1, 2});
  ints.as_list().type_tag = "List[int]";
  IValue obj = IValue::object(QualifiedName("__torch__.M"));
  obj.as_object().set_attribute("xs", ints);
  obj.as_object().set_attribute("training", true);
  ints = IValue();  // otherwise the list has use_count 2 and PyTorch's rule memoizes it
  const std::string expected =
      "\x80\x02"
      "c__torch__\nM\nq\x00)\x81}(X\x02\x00\x00\x00xsq\x01"
      "ctorch.jit._pickle\n"
      "build_intlist\nq\x02(](K\x01K\x02"
      "etRX\x08\x00\x00\x00trainingq\x03\x88u"
      "b."s;
  EXPECT_EQ(bytes_str(pickle_value(obj)), expected);
  // And back: the TorchScript globals restore the tag and the Object.
  Resolver r;
  r.add_torchscript_pickle_globals();
  UnpicklerOptions uo;
  uo.resolver = &r;
  const auto bytes = pickle_value(obj);
  const IValue back = unpickle(bytes, uo);
  ASSERT_TRUE(back.is_object());
  EXPECT_EQ(back.as_object().type.qualified_name(), "__torch__.M");
  EXPECT_EQ(back.as_object().attribute("xs")->as_list().type_tag, "List[int]");
  EXPECT_TRUE(back == obj);
}

TEST(Pickler, HooksForTensorsAndPersistentIds) {
  IValue v = IValue::list({IValue::tuple({"storage", 5})});
  PicklerOptions o;
  o.dialect = Dialect::kPython;
  o.persistent_id = [](const IValue& x) -> std::optional<IValue> {
    if (x.is_tuple() && x.as_tuple().size() == 2) return IValue("pid");
    return std::nullopt;
  };
  // ] BINPUT0 X'pid' BINPUT1 BINPERSID APPEND STOP  (pickle with persistent_id returning 'pid')
  EXPECT_EQ(bytes_str(pickle_value(v, o)), "\x80\x02]q\x00X\x03\x00\x00\x00pidq\x01Qa."s);
  EXPECT_PTIO_ERROR(pickle_value(IValue(Tensor())), ErrorCode::kPickleUnsupported);
}

TEST(Pickler, CyclesInThePythonDialectGoThroughTheMemo) {
  IValue l = IValue::list();
  l.as_list().elements.push_back(l);
  PicklerOptions o;
  o.dialect = Dialect::kPython;
  // l = []; l.append(l); pickle.dumps(l, 2)
  EXPECT_EQ(bytes_str(pickle_value(l, o)),
            "\x80\x02]q\x00h\x00"
            "a."s);
  EXPECT_PTIO_ERROR(pickle_value(l), ErrorCode::kLimitExceeded);  // unmemoized in TorchScript
  break_cycles(l);
}

// GLOBAL takes two newline-terminated lines and Python refuses an empty module: an opaque value
// whose module or name is empty or holds a newline is refused instead of written as a pickle
// that fails to load ("pickle data was truncated" for IValue::opaque("", "x")).
TEST(Pickler, GlobalsNeedANonEmptyModuleAndNameWithoutNewlines) {
  PicklerOptions o;
  o.dialect = Dialect::kPython;
  for (const auto& [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"", "x"}, {"m", ""}, {"a\nb", "x"}, {"m", "x\ny"}})
    EXPECT_PTIO_ERROR(pickle_value(IValue::opaque(module, name), o),
                      ErrorCode::kPickleUnsupported);
  EXPECT_EQ(bytes_str(pickle_value(IValue::opaque("collections", "OrderedDict"), o)),
            "\200\002ccollections\012OrderedDict\012q\000."s);
}

}  // namespace
}  // namespace ptio::pickle
