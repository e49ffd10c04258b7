// Malformed and hostile pickles: each case asserts the ptio::Error code; nothing crashes or hangs.
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::span<const std::byte> span_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

UnpicklerOptions inspection() {
  UnpicklerOptions o;
  o.policy = Policy::kInspection;
  return o;
}

// pickle.dumps({'a': [1, 2.5, None, True], 'b': (1, 2), 'c': 'é', 'd': b'xy',
//               'e': OrderedDict([('k', 2**70)]), 'f': -3, 'g': {1}}, protocol) for 2 and 4.
const std::string kSample2 =
    "\200\002}q\000(X\001\000\000\000aq\001]q\002(K\001G@\004\000\000\000\000\000\000N\210eX\001"
    "\000\000\000bq\003K\001K\002\206q\004X\001\000\000\000cq\005X\002\000\000\000\303\251q\006"
    "X\001\000\000\000dq\007c_codecs\012encode\012q\010X\002\000\000\000xyq\011X\006\000\000\000"
    "latin1q\012\206q\013Rq\014X\001\000\000\000eq\015ccollections\012OrderedDict\012q\016)Rq\017"
    "X\001\000\000\000kq\020\212\011\000\000\000\000\000\000\000\000@sX\001\000\000\000fq\021J"
    "\375\377\377\377X\001\000\000\000gq\022c__builtin__\012set\012q\023]q\024K\001a\205q\025R"
    "q\026u."s;
const std::string kSample4 =
    "\200\004\225~\000\000\000\000\000\000\000}\224(\214\001a\224]\224(K\001G@\004\000\000\000"
    "\000\000\000N\210e\214\001b\224K\001K\002\206\224\214\001c\224\214\002\303\251\224\214\001"
    "d\224C\002xy\224\214\001e\224\214\013collections\224\214\013OrderedDict\224\223\224)R\224"
    "\214\001k\224\212\011\000\000\000\000\000\000\000\000@s\214\001f\224J\375\377\377\377\214"
    "\001g\224\217\224(K\001\220u."s;

TEST(BadInput, SamplesAreValid) {
  EXPECT_EQ(to_repr(unpickle(span_of(kSample2))), to_repr(unpickle(span_of(kSample4))));
}

TEST(BadInput, TruncationAtEveryOffsetIsAnError) {
  for (const std::string* sample : {&kSample2, &kSample4}) {
    for (std::size_t n = 0; n < sample->size(); ++n) {
      const std::string cut = sample->substr(0, n);
      for (const auto& opt : {UnpicklerOptions{}, inspection()}) {
        try {
          unpickle(span_of(cut), opt);
          ADD_FAILURE() << "no error for a prefix of " << n << " bytes";
        } catch (const Error& e) {
          EXPECT_TRUE(e.code() == ErrorCode::kPickleTruncated ||
                      e.code() == ErrorCode::kPickleMissingStop)
              << n << ": " << e.what();
        }
      }
    }
  }
}

TEST(BadInput, UnknownOpcode) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\xff."s)), ErrorCode::kPickleUnknownOpcode);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\x00."s)), ErrorCode::kPickleUnknownOpcode);
}

TEST(BadInput, StackUnderflow) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02."s)), ErrorCode::kPickleStackUnderflow);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]a."s)), ErrorCode::kPickleStackUnderflow);
  // Values below a MARK are out of reach until the MARK is popped (CPython's fence).
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02](K\x01"
                                     "a."s)),
                    ErrorCode::kPickleStackUnderflow);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02N(R."s)), ErrorCode::kPickleStackUnderflow);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01"
                                     "(."s)),
                    ErrorCode::kPickleStackUnderflow);
}

TEST(BadInput, MarkMismatch) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01t."s)), ErrorCode::kPickleMarkMismatch);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]K\x01"
                                     "e."s)),
                    ErrorCode::kPickleMarkMismatch);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02}K\x01K\x02u."s)), ErrorCode::kPickleMarkMismatch);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02N1."s)), ErrorCode::kPickleMarkMismatch);
}

TEST(BadInput, UndefinedMemoIndexNamesFileRecordAndOffset) {
  UnpicklerOptions o;
  o.file = "model.pt";
  o.record = "archive/data.pkl";
  o.base_offset = 0x1a1;  // the BINGET is at index 2 of the record: absolute 0x1a3
  try {
    unpickle(span_of("\x80\x02h\x11."s), o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleBadMemo);
    EXPECT_STREQ(e.what(),
                 "model.pt: archive/data.pkl @ 0x1a3: BINGET memo index 17 is not defined");
  }
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02j\x00\x00\x00\x01."s)), ErrorCode::kPickleBadMemo);
  EXPECT_PTIO_ERROR(unpickle(span_of("g5\n."s)), ErrorCode::kPickleBadMemo);
  EXPECT_PTIO_ERROR(unpickle(span_of("Np-1\n."s)), ErrorCode::kPickleBadMemo);
}

TEST(BadInput, HugeDeclaredLengthsAllocateNothing) {
  // BINUNICODE8 declaring 2**63 bytes, BINBYTES declaring 4 GiB - 1, LONG4 / BINSTRING negative.
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80xy."s)),
                    ErrorCode::kPickleBadLength);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x03\x42\xff\xff\xff\xffxy."s)),
                    ErrorCode::kPickleBadLength);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xffxy."s)),
                    ErrorCode::kPickleBadLength);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02\x8b\xff\xff\xff\xffxy."s)),
                    ErrorCode::kPickleBadLength);
  EXPECT_PTIO_ERROR(unpickle(span_of("T\xfe\xff\xff\xffxy."s)), ErrorCode::kPickleBadLength);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x01N."s)),
                    ErrorCode::kPickleTruncated);  // FRAME longer than the input
  // Small declared lengths past the end are plain truncation.
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02X\x10\x00\x00\x00xy."s)),
                    ErrorCode::kPickleTruncated);
}

TEST(BadInput, MillionNestedListsHitTheDepthLimit) {
  std::string s = "\x80\x02";
  for (int i = 0; i < 1000000; ++i) s += "](";  // [[[[... as CPython writes nested lists
  EXPECT_PTIO_ERROR(unpickle(span_of(s)), ErrorCode::kPickleDepthLimit);
  // Nesting without MARKs (APPEND chains): a million nested lists cost ~290 MB from 2 MB of
  // pickle, past the default allocation budget (64 MiB + 64 x input) once every list, append
  // and mutation is charged (only the lists were: 3M of them from 6 MB took 873 MB).
  std::string big = "\x80\x02" + std::string(1000000, ']') + std::string(999999, 'a') + ".";
  EXPECT_PTIO_ERROR(unpickle(span_of(big)), ErrorCode::kPickleAllocationLimit);
  // 200,000 build fine; printing and destruction stay safe.
  std::string t = "\x80\x02" + std::string(200000, ']') + std::string(199999, 'a') + ".";
  IValue v = unpickle(span_of(t));
  EXPECT_EQ(to_repr(v, {.max_depth = 2}), "[[...]]");
  EXPECT_NO_THROW(to_json(v));
  EXPECT_PTIO_ERROR((void)(v == v.as_list().elements[0]), ErrorCode::kLimitExceeded);
}

TEST(BadInput, MissingStop) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01"s)), ErrorCode::kPickleMissingStop);
  EXPECT_PTIO_ERROR(unpickle(span_of(""s)), ErrorCode::kPickleMissingStop);
}

TEST(BadInput, ListAppendedIntoItselfIsACycle) {
  // l = []; l.append(l); pickle.dumps(l, 2)
  IValue v =
      unpickle(span_of("\x80\x02]q\x00h\x00"
                       "a."s));
  ASSERT_TRUE(v.is_list());
  EXPECT_TRUE(v.as_list().elements[0].is_same(v));
  EXPECT_EQ(to_repr(v), "[[...]]");
  EXPECT_EQ(to_json(v), "[{\"cycle\": \"list\"}]");
  IValue w =
      unpickle(span_of("\x80\x02]q\x00h\x00"
                       "a."s));
  EXPECT_TRUE(v == w);
  EXPECT_PTIO_ERROR(v.hash(), ErrorCode::kWrongKind);
  break_cycles(v);
  break_cycles(w);
}

TEST(BadInput, AmplificationHitsTheAllocationLimit) {
  // A 1000-item list, then set(list) called 5000 times: ~10 bytes of input per 1000 copies.
  std::string s =
      "\x80\x02"
      "c__builtin__\nset\nq\x00]q\x01("s;
  for (int i = 0; i < 1000; ++i) s += "K\x07";
  s += "e(";
  for (int i = 0; i < 5000; ++i) s += "h\x00h\x01\x85R"s;
  s += "l.";
  EXPECT_PTIO_ERROR(unpickle(span_of(s)), ErrorCode::kPickleAllocationLimit);
  UnpicklerOptions o;
  o.limits.alloc_base_bytes = 1 << 20;
  o.limits.alloc_bytes_per_input_byte = 4;
  std::string many = "\x80\x02(" + std::string(300000, 'N') + "l.";
  EXPECT_PTIO_ERROR(unpickle(span_of(many), o), ErrorCode::kPickleAllocationLimit);
}

TEST(BadInput, MemoAndContainerLimits) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02Nr\xff\xff\xff\xff."s)), ErrorCode::kPickleMemoLimit);
  UnpicklerOptions o;
  o.limits.max_memo_entries = 2;
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02Nq\x00q\x01q\x02."s), o),
                    ErrorCode::kPickleMemoLimit);
  o = {};
  o.limits.max_container_length = 3;
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]q\x00(NNNNe."s), o),
                    ErrorCode::kPickleContainerLimit);
  o = {};
  o.limits.max_stack = 3;
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02NNNN."s), o), ErrorCode::kPickleContainerLimit);
}

TEST(BadInput, TypeErrorsAndBadValues) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02}]K\x01s."s)),
                    ErrorCode::kPickleTypeError);  // list key
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01K\x02"
                                     "a."s)),
                    ErrorCode::kPickleTypeError);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01)R."s)), ErrorCode::kPickleTypeError);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02}(K\x01u."s)), ErrorCode::kPickleBadValue);  // odd
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02X\x01\x00\x00\x00\xff."s)),
                    ErrorCode::kPickleBadValue);
  EXPECT_PTIO_ERROR(unpickle(span_of("Iabc\n."s)), ErrorCode::kPickleBadValue);
  EXPECT_PTIO_ERROR(unpickle(span_of("Fnotafloat\n."s)), ErrorCode::kPickleBadValue);
  EXPECT_PTIO_ERROR(unpickle(span_of("Sunquoted\n."s)), ErrorCode::kPickleBadValue);
  // Digits beyond Limits::pickle.max_decimal_digits (4300): a limit, as CPython refuses them.
  EXPECT_PTIO_ERROR(unpickle(span_of("L" + std::string(5000, '9') + "\n.")),
                    ErrorCode::kLimitExceeded);
  EXPECT_PTIO_ERROR(unpickle(span_of("L" + std::string(5000, '9') + "x\n.")),
                    ErrorCode::kPickleBadValue);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x04K\x01\x8c\x01x\x93."s)), ErrorCode::kPickleTypeError);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02"
                                     "c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xac"
                                     "X\x06\x00\x00\x00latin1\x86R."s)),
                    ErrorCode::kPickleBadValue);  // '€' has no latin-1 byte
}

TEST(BadInput, UnknownGlobalAndPersistentIdUnderStrictPolicy) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02"
                                     "cos\nsystem\nX\x02\x00\x00\x00ls\x85R."s)),
                    ErrorCode::kPickleUnknownGlobal);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02K\x01Q."s)), ErrorCode::kPicklePersistentId);
  // The inspection policy never runs it either: it records the call.
  const IValue v = unpickle(span_of("\x80\x02"
                                    "cos\nsystem\nX\x02\x00\x00\x00ls\x85R."s),
                            inspection());
  EXPECT_EQ(to_repr(v), "os.system('ls')");
}

TEST(BadInput, CollidingKeysStayLinear) {
  // 50,000 NaN keys (never equal to each other) and 50,000 distinct calls of one unresolved
  // global as keys: both must insert in linear time, not probe one long hash chain.
  std::string nans = "\x80\x02}("s;
  for (int i = 0; i < 50000; ++i) nans += "G\x7f\xf8\x00\x00\x00\x00\x00\x00N"s;
  nans += "u.";
  EXPECT_EQ(unpickle(span_of(nans)).as_dict().size(), 50000u);
  std::string calls =
      "\x80\x02"
      "cos\nsystem\nq\x00"
      "0}("s;
  for (int i = 0; i < 50000; ++i) {
    calls += "h\x00J"s;
    for (int k = 0; k < 4; ++k) calls.push_back(static_cast<char>((i >> (8 * k)) & 0xff));
    calls += "\x85RN"s;
  }
  calls += "u.";
  EXPECT_EQ(unpickle(span_of(calls), inspection()).as_dict().size(), 50000u);
}

// TorchScript's C++ unpickler (parse_ivalue) wants exactly one value on the stack at STOP;
// CPython's pickle, and so torch.load, pops the top one and ignores the rest.
TEST(UnpicklerBadInput, ValuesLeftOnTheStackAtStop) {
  const std::string leftover = "\x80\x02NNK\x05."s;  // None, None, 5
  UnpicklerOptions o = inspection();
  EXPECT_EQ(Unpickler(span_of(leftover), o).load().as_int(), 5);
  o.torchscript_dialect = true;
  o.file = "f.pt";
  o.record = "f/data.pkl";
  try {
    (void)Unpickler(span_of(leftover), o).load();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleLeftoverStack);
    EXPECT_EQ(e.record(), "f/data.pkl");
    EXPECT_EQ(e.offset().value_or(0), 6u);  // the STOP
    EXPECT_NE(e.message().find("Unpickler expected 1 element on the stack, but found 3"),
              std::string::npos)
        << e.message();
  }
  // A MARK left open is no value: PyTorch keeps marks apart from the stack and accepts it.
  EXPECT_EQ(Unpickler(span_of("\x80\x02(K\x05."s), o).load().as_int(), 5);
  EXPECT_EQ(Unpickler(span_of("\x80\x02]q\x00(K\x01K\x02"
                              "e."s),
                      o)
                .load()
                .as_list()
                .size(),
            2u);
}

// torch::jit::Unpickler implements only the opcodes PyTorch's C++ pickler writes.
TEST(UnpicklerBadInput, TorchScriptDialectOpcodes) {
  UnpicklerOptions o = inspection();
  o.torchscript_dialect = true;
  for (const std::string& p :
       {"\x80\x02\x8c\x01"
        "a."s,
        "\x80\x02I3\n."s, "\x80\x02}K\x01K\x02s."s, "\x80\x04\x95\x01\0\0\0\0\0\0\0N."s,
        "\x80\x02]K\x01"
        "a."s}) {
    EXPECT_NO_THROW((void)Unpickler(span_of(p), inspection()).load());  // CPython reads it
    try {
      (void)Unpickler(span_of(p), o).load();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kPickleUnknownOpcode) << e.what();
      EXPECT_NE(e.message().find("Unknown opcode for unpickling"), std::string::npos);
    }
  }
  // LONG1 is read as an int64: 8 bytes only.
  EXPECT_PTIO_ERROR((void)Unpickler(span_of("\x80\x02\x8a\x01\x03."s), o).load(),
                    ErrorCode::kPickleBadLength);
  EXPECT_EQ(Unpickler(span_of("\x80\x02\x8a\x08\x03\0\0\0\0\0\0\0."s), o).load().as_int(), 3);
  // What PyTorch's C++ pickler writes loads.
  EXPECT_EQ(Unpickler(span_of("\x80\x02}q\0(X\x01\0\0\0aq\x01G?\xf8\0\0\0\0\0\0u."s), o)
                .load()
                .as_dict()
                .size(),
            1u);
}

}  // namespace
}  // namespace ptio::pickle
