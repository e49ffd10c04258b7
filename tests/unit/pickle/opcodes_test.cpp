// Every opcode of protocols 0-5: the table, and values decoded from CPython's own pickles and from
// hand-written opcode sequences, compared with CPython's repr(pickle.loads(...)).
#include <set>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::span<const std::byte> span_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

struct Case {
  const char* name;
  std::string bytes;
  const char* python_repr;
};

const Case kCases[] = {
#include "python_cases.inc"
};

TEST(OpcodeTable, HasEveryOpcodeOfProtocols0To5Once) {
  std::set<std::uint8_t> bytes;
  std::set<std::string_view> names;
  int per_proto[6] = {};
  for (const auto& r : all_opcodes()) {
    EXPECT_TRUE(bytes.insert(static_cast<std::uint8_t>(r.code)).second) << r.name;
    EXPECT_TRUE(names.insert(r.name).second);
    ASSERT_LE(r.protocol, 5);
    ++per_proto[r.protocol];
    EXPECT_EQ(opcode_info(static_cast<std::uint8_t>(r.code)), &r);
  }
  // CPython 3.11 pickletools.opcodes: 68 opcodes, per protocol 22/19/12/2/10/3.
  EXPECT_EQ(all_opcodes().size(), 68u);
  EXPECT_EQ(per_proto[0], 22);
  EXPECT_EQ(per_proto[1], 19);
  EXPECT_EQ(per_proto[2], 12);
  EXPECT_EQ(per_proto[3], 2);
  EXPECT_EQ(per_proto[4], 10);
  EXPECT_EQ(per_proto[5], 3);
  EXPECT_EQ(opcode_name(0x71), "BINPUT");
  EXPECT_EQ(opcode_name(0x8c), "SHORT_BINUNICODE");
  EXPECT_EQ(opcode_info(0xff), nullptr);
}

TEST(Opcodes, DecodeLikeCPython) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    IValue v;
    ASSERT_NO_THROW(v = unpickle(span_of(c.bytes))) << c.name;
    EXPECT_EQ(to_repr(v), c.python_repr);
  }
}

TEST(Opcodes, InstObjNewobjExAndPersidStayInspectable) {
  UnpicklerOptions o;
  o.policy = Policy::kInspection;
  // INST: MARK 1 2 INST mod\ncls\n ; OBJ: MARK GLOBAL 3 OBJ ; NEWOBJ_EX: GLOBAL () {} NEWOBJ_EX
  const std::string inst = "(K\x01K\x02imod\ncls\n."s;
  IValue v = unpickle(span_of(inst), o);
  EXPECT_EQ(to_repr(v), "mod.cls(1, 2)");
  const std::string obj = "(cmod\ncls\nK\x03o."s;
  EXPECT_EQ(to_repr(unpickle(span_of(obj), o)), "mod.cls(3)");
  const std::string newobj_ex = "\x80\x04\x63mod\ncls\n)}\x92."s;
  v = unpickle(span_of(newobj_ex), o);
  ASSERT_TRUE(v.is_opaque());
  EXPECT_EQ(v.as_opaque().applied.at(0).op, ivalue::Op::kNewObjEx);
  const std::string persid = "Pkey1\n."s;
  v = unpickle(span_of(persid), o);
  EXPECT_EQ(to_repr(v), "persistent_id('key1')");
  UnpicklerOptions cb;
  cb.persistent_load = [](const IValue& pid, const CallContext&) {
    return IValue("loaded:" + pid.as_string());
  };
  EXPECT_EQ(unpickle(span_of(persid), cb).as_string(), "loaded:key1");
}

TEST(Opcodes, RefusedWithAClearError) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\x82\x01."s)), ErrorCode::kPickleUnsupported);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\x83\x01\x00."s)), ErrorCode::kPickleUnsupported);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\x84\x01\x00\x00\x00."s)),
                    ErrorCode::kPickleUnsupported);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x05\x97."s)), ErrorCode::kPickleUnsupported);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x05N\x98."s)), ErrorCode::kPickleUnsupported);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x06N."s)), ErrorCode::kPickleUnsupported);
}

TEST(Opcodes, MemoizedRecordsIdentities) {
  UnpicklerOptions o;
  o.record_memoized = true;
  const std::string s =
      "\x80\x02]q\x00(]]q\x01"
      "e."s;  // [[], []] with the outer and 2nd memoized
  Unpickler u(span_of(s), o);
  const IValue v = u.load();
  ASSERT_EQ(v.as_list().size(), 2u);
  EXPECT_EQ(u.memoized().count(v.identity()), 1u);
  EXPECT_EQ(u.memoized().count(v.as_list().elements[0].identity()), 0u);
  EXPECT_EQ(u.memoized().count(v.as_list().elements[1].identity()), 1u);
}

}  // namespace
}  // namespace ptio::pickle
