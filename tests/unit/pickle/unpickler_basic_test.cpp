// Unpickler basics: a protocol-2 pickle written by CPython 3.11 decodes to the values Python had.
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::span<const std::byte> span_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// pickle.dumps({'a': [1, 2.5, None, True], 'b': (1, 2), 'c': 'é', 'd': b'xy',
//               'e': OrderedDict([('k', 2**70)]), 'f': -3}, 2)
const std::string kDictProto2 =
    "\200\002}q\000(X\001\000\000\000aq\001]q\002(K\001G@\004\000\000\000\000\000\000N\210eX\001"
    "\000\000\000bq\003K\001K\002\206q\004X\001\000\000\000cq\005X\002\000\000\000\303\251q\006X"
    "\001\000\000\000dq\007c_codecs\012encode\012q\010X\002\000\000\000xyq\011X\006\000\000\000l"
    "atin1q\012\206q\013Rq\014X\001\000\000\000eq\015ccollections\012OrderedDict\012q\016)Rq\017"
    "X\001\000\000\000kq\020\212\011\000\000\000\000\000\000\000\000@sX\001\000\000\000fq\021J\375"
    "\377\377\377u."s;

TEST(Unpickler, Protocol2Dict) {
  const IValue v = unpickle(span_of(kDictProto2));
  ASSERT_TRUE(v.is_dict());
  const auto& d = v.as_dict();
  ASSERT_EQ(d.size(), 6u);
  const IValue* a = d.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->is_list());
  EXPECT_EQ(a->as_list().elements[0].as_int(), 1);
  EXPECT_EQ(a->as_list().elements[1].as_double(), 2.5);
  EXPECT_TRUE(a->as_list().elements[2].is_none());
  EXPECT_EQ(a->as_list().elements[3].as_bool(), true);
  EXPECT_EQ(d.find("b")->as_tuple().size(), 2u);
  EXPECT_EQ(d.find("c")->as_string(), "\xc3\xa9");
  EXPECT_EQ(d.find("d")->as_bytes(), "xy");
  const IValue* e = d.find("e");
  ASSERT_TRUE(e->is_dict());
  EXPECT_TRUE(e->as_dict().ordered_dict);
  EXPECT_EQ(e->as_dict().find("k")->as_big_int().to_string(), "1180591620717411303424");
  EXPECT_EQ(d.find("f")->as_int(), -3);
  EXPECT_EQ(to_repr(v),
            "{'a': [1, 2.5, None, True], 'b': (1, 2), 'c': '\xc3\xa9', 'd': b'xy', "
            "'e': OrderedDict([('k', 1180591620717411303424)]), 'f': -3}");
}

TEST(Unpickler, StopPositionAndStacking) {
  const std::string two = "\x80\x02K\x05.\x80\x02N."s;
  Unpickler u(span_of(two));
  EXPECT_EQ(u.load().as_int(), 5);
  EXPECT_EQ(u.position(), 5u);
  EXPECT_TRUE(u.load().is_none());
  EXPECT_TRUE(u.at_end());
}

// data.pkl of torch.save(OrderedDict(w=torch.arange(4.), v=torch.arange(4.)[1:3])), PyTorch 1.13.
const std::string kStateDict =
    "\200\002ccollections\012OrderedDict\012q\000)Rq\001(X\001\000\000\000wq\002ctorch._utils\012"
    "_rebuild_tensor_v2\012q\003((X\007\000\000\000storageq\004ctorch\012FloatStorage\012q\005X\001"
    "\000\000\0000q\006X\003\000\000\000cpuq\007K\004tq\010QK\000K\004\205q\011K\001\205q\012\211"
    "h\000)Rq\013tq\014Rq\015X\001\000\000\000vq\016h\003((h\004h\005X\001\000\000\0001q\017h\007"
    "K\004tq\020QK\001K\002\205q\021K\001\205q\022\211h\000)Rq\023tq\024Rq\025u."s;

TEST(Unpickler, StrictPolicyNamesTheUnknownGlobal) {
  UnpicklerOptions o;
  o.file = "model.pt";
  o.record = "archive/data.pkl";
  o.base_offset = 0x100;
  try {
    unpickle(span_of(kStateDict), o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleUnknownGlobal);
    EXPECT_EQ(e.offset(), 0x100u + 42);
    EXPECT_NE(std::string(e.what()).find("torch._utils._rebuild_tensor_v2"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("model.pt: archive/data.pkl @ 0x12a"), std::string::npos)
        << e.what();
  }
}

TEST(Unpickler, ResolverTableForTorchSave) {
  // What the torch.save layer registers: a storage class as a plain value, a rebuild function
  // as a callable, and a persistent_load callback.
  Resolver r = Resolver::with_python_builtins();
  r.add_value("torch", "FloatStorage", IValue("float32-storage-class"));
  int rebuilds = 0;
  r.add_callable("torch._utils", "_rebuild_tensor_v2", [&](const IValue& args, const CallContext&) {
    ++rebuilds;
    const auto& a = args.as_tuple().elements();
    EXPECT_EQ(a.size(), 6u);
    EXPECT_TRUE(a[5].is_dict());  // backward hooks: OrderedDict()
    return IValue::tuple({a[0], a[1], a[2]});
  });
  UnpicklerOptions o;
  o.resolver = &r;
  std::vector<std::string> keys;
  o.persistent_load = [&](const IValue& pid, const CallContext&) {
    const auto& t = pid.as_tuple().elements();
    EXPECT_EQ(t[0].as_string(), "storage");
    EXPECT_EQ(t[1].as_string(), "float32-storage-class");
    keys.push_back(t[2].as_string());
    return IValue(t[2].as_string() + "@" + t[3].as_string());
  };
  const IValue v = unpickle(span_of(kStateDict), o);
  EXPECT_EQ(rebuilds, 2);
  EXPECT_EQ(keys, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(to_repr(v), "OrderedDict([('w', ('0@cpu', 0, (4,))), ('v', ('1@cpu', 1, (2,)))])");
}

TEST(Unpickler, InspectionPolicyKeepsEverything) {
  UnpicklerOptions o;
  o.policy = Policy::kInspection;
  const IValue v = unpickle(span_of(kStateDict), o);
  const IValue* w = v.as_dict().find("w");
  ASSERT_TRUE(w->is_opaque());
  EXPECT_EQ(w->as_opaque().qualified_name(), "torch._utils._rebuild_tensor_v2");
  ASSERT_EQ(w->as_opaque().applied.size(), 1u);
  EXPECT_EQ(w->as_opaque().applied[0].op, ivalue::Op::kReduce);
  EXPECT_EQ(to_repr(*w),
            "torch._utils._rebuild_tensor_v2(persistent_id(('storage', torch.FloatStorage, '0', "
            "'cpu', 4)), 0, (4,), (1,), False, OrderedDict())");
}
}  // namespace
}  // namespace ptio::pickle
