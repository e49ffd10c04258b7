// Tensor subclasses and tensors with Python attributes (torch._tensor._rebuild_from_type_v2,
// _rebuild_parameter_with_state): what ptio::load keeps, what ptio::save writes back, what
// weights_only refuses.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "pickle_builder.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "test_support.h"

namespace ptio {
namespace {

using test::PickleBuilder;

std::vector<std::byte> make_zip(const std::vector<std::byte>& pkl, std::size_t floats) {
  std::vector<std::byte> data(floats * 4);
  for (std::size_t i = 0; i < floats; ++i) {
    const float f = static_cast<float>(i) + 0.5f;
    std::memcpy(data.data() + 4 * i, &f, 4);
  }
  io::MemoryWriter mw;
  zip::ArchiveWriter zw(mw, "archive");
  zw.write_record("data.pkl", pkl);
  zw.write_record("data/0", data);
  zw.write_record("version", test::bytes_of("3\n"));
  zw.finalize();
  return mw.release();
}

// The arguments of `_rebuild_tensor_v2` for a 3-float tensor over storage "0", as a tuple.
PickleBuilder& tensor_args(PickleBuilder& p) {
  p.mark().storage_pid("FloatStorage", "0", 3).integer(0).ints({3}).ints({1}).boolean(false);
  return p.global("collections", "OrderedDict").empty_tuple().reduce().tuple();
}

// `fn(_rebuild_tensor_v2, module.cls, args, {'foo': 3, 'bar': 'x'})`, as torch.save writes a
// subclass instance (fn = torch._tensor._rebuild_from_type_v2).
std::vector<std::byte> from_type_pickle(std::string_view module, std::string_view cls,
                                        std::string_view fn = "_rebuild_from_type_v2") {
  PickleBuilder p;
  p.proto().global("torch._tensor", fn).mark();
  p.global("torch._utils", "_rebuild_tensor_v2").global(module, cls);
  tensor_args(p);
  p.empty_dict().str("foo").integer(3).setitem().str("bar").str("x").setitem();
  p.tuple().reduce().stop();
  return make_zip(p.bytes(), 3);
}

IValue load_bytes(const std::vector<std::byte>& b, bool weights_only,
                  std::vector<std::string> safe = {}) {
  LoadOptions o;
  o.weights_only = weights_only;
  o.safe_globals = std::move(safe);
  o.mmap = false;  // copies: callers pass buffers that die before the result (round_trip)
  return load(std::span<const std::byte>(b), o);
}

void expect_foo_bar(const IValue& state) {
  ASSERT_TRUE(state.is_dict());
  ASSERT_EQ(state.as_dict().items().size(), 2u);
  EXPECT_EQ(state.as_dict().find("foo")->as_int(), 3);
  EXPECT_EQ(state.as_dict().find("bar")->as_string(), "x");
}

TEST(TensorSubclass, LoadKeepsTheClassAndTheState) {
  const auto b = from_type_pickle("__main__", "MyT");
  const IValue v = load_bytes(b, false);
  ASSERT_TRUE(v.is_tensor());
  const Tensor& t = v.as_tensor();
  EXPECT_EQ(t.python_type().qualified_name(), "__main__.MyT");
  EXPECT_FALSE(t.is_parameter());
  expect_foo_bar(t.python_state());
  EXPECT_EQ(t.data<float>()[2], 2.5f);
  // weights_only: the class is a global PyTorch's weights-only unpickler refuses, unless the
  // caller allowlists it (torch.serialization.add_safe_globals).
  EXPECT_PTIO_ERROR(load_bytes(b, true), ErrorCode::kUnsafeGlobal);
  const IValue allowed = load_bytes(b, true, {"__main__.MyT"});
  EXPECT_EQ(allowed.as_tensor().python_type().qualified_name(), "__main__.MyT");
  expect_foo_bar(allowed.as_tensor().python_state());
}

TEST(TensorSubclass, TensorAndParameterClassesAreNoSubclass) {
  // A plain tensor with attributes (torch >= 2.0's torch.save): no python_type, the state kept.
  for (bool weights_only : {false, true}) {
    const IValue v = load_bytes(from_type_pickle("torch", "Tensor"), weights_only);
    EXPECT_TRUE(v.as_tensor().python_type().empty());
    EXPECT_FALSE(v.as_tensor().is_parameter());
    expect_foo_bar(v.as_tensor().python_state());
    // new_type nn.Parameter: as_subclass(Parameter) makes it a parameter.
    const IValue p = load_bytes(from_type_pickle("torch.nn.parameter", "Parameter"), weights_only);
    EXPECT_TRUE(p.as_tensor().python_type().empty());
    EXPECT_TRUE(p.as_tensor().is_parameter());
    expect_foo_bar(p.as_tensor().python_state());
  }
}

TEST(TensorSubclass, OldRebuildFromTypeIsRefusedUnderWeightsOnly) {
  // The pre-1.11 _rebuild_from_type is not on PyTorch's weights-only allowlist.
  const auto b = from_type_pickle("torch", "Tensor", "_rebuild_from_type");
  EXPECT_PTIO_ERROR(load_bytes(b, true), ErrorCode::kUnsafeGlobal);
  expect_foo_bar(load_bytes(b, false).as_tensor().python_state());
  expect_foo_bar(
      load_bytes(b, true, {"torch._tensor._rebuild_from_type"}).as_tensor().python_state());
}

TEST(TensorSubclass, ParameterWithState) {
  // torch >= 2.0: _rebuild_parameter_with_state(data, requires_grad, hooks, state).
  PickleBuilder p;
  p.proto().global("torch._utils", "_rebuild_parameter_with_state").mark();
  p.global("torch._utils", "_rebuild_tensor_v2");
  tensor_args(p).reduce();
  p.boolean(true).global("collections", "OrderedDict").empty_tuple().reduce();
  p.empty_dict().str("foo").integer(3).setitem().str("bar").str("x").setitem();
  p.tuple().reduce().stop();
  const IValue v = load_bytes(make_zip(p.bytes(), 3), true);
  const Tensor& t = v.as_tensor();
  EXPECT_TRUE(t.is_parameter());
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.python_type().empty());
  expect_foo_bar(t.python_state());
}

TEST(TensorSubclass, MalformedStatesAndTypes) {
  // _set_obj_state: a tuple state must be (dict, slots); attribute names must be str.
  const auto with_state = [](auto state, std::string_view module = "torch",
                             std::string_view cls = "Tensor") {
    PickleBuilder p;
    p.proto().global("torch._tensor", "_rebuild_from_type_v2").mark();
    p.global("torch._utils", "_rebuild_tensor_v2").global(module, cls);
    tensor_args(p);
    state(p);
    p.tuple().reduce().stop();
    return make_zip(p.bytes(), 3);
  };
  EXPECT_PTIO_ERROR(
      load_bytes(with_state([](PickleBuilder& p) { p.mark().none().none().none().tuple(); }),
                 false),
      ErrorCode::kPickleTypeError);
  EXPECT_PTIO_ERROR(load_bytes(with_state([](PickleBuilder& p) {
                                 p.empty_dict().integer(1).integer(2).setitem();
                               }),
                               false),
                    ErrorCode::kPickleTypeError);
  EXPECT_PTIO_ERROR(load_bytes(with_state([](PickleBuilder& p) { p.integer(7); }), false),
                    ErrorCode::kPickleTypeError);
  // A subclass may have its own __setstate__: any state is kept.
  const IValue custom =
      load_bytes(with_state([](PickleBuilder& p) { p.integer(7); }, "pkg", "Custom"), false);
  EXPECT_EQ(custom.as_tensor().python_state().as_int(), 7);
  // (dict, slots) with an empty dict part; None and {} are no state.
  const IValue slots = load_bytes(with_state([](PickleBuilder& p) {
                                    p.mark().none().empty_dict().str("s").integer(9).setitem();
                                    p.tuple();
                                  }),
                                  false);
  ASSERT_TRUE(slots.as_tensor().python_state().is_tuple());
  EXPECT_TRUE(load_bytes(with_state([](PickleBuilder& p) { p.none(); }), false)
                  .as_tensor()
                  .python_state()
                  .is_none());
  EXPECT_TRUE(load_bytes(with_state([](PickleBuilder& p) { p.empty_dict(); }), false)
                  .as_tensor()
                  .python_state()
                  .is_none());
  // Classes PyTorch knows are no Tensor subclass: as_subclass raises TypeError.
  for (const auto& [m, c] : std::initializer_list<std::pair<const char*, const char*>>{
           {"torch", "FloatTensor"}, {"torch", "Size"}, {"builtins", "int"}})
    EXPECT_PTIO_ERROR(load_bytes(with_state([](PickleBuilder& q) { q.empty_dict(); }, m, c), false),
                      ErrorCode::kPickleTypeError);
  // new_type must be a class.
  PickleBuilder p;
  p.proto().global("torch._tensor", "_rebuild_from_type_v2").mark();
  p.global("torch._utils", "_rebuild_tensor_v2").integer(5);
  tensor_args(p);
  p.empty_dict().tuple().reduce().stop();
  EXPECT_PTIO_ERROR(load_bytes(make_zip(p.bytes(), 3), false), ErrorCode::kPickleTypeError);
}

// new_type a global the scan judges dangerous (torch.save of a subclass whose __reduce_ex__
// names it): kept as the tensor's python_type, it was written into every copy `ptio convert`
// made (a GLOBAL subprocess.Popen, functools.partial, torch.serialization.load...), which the
// scan then flags as dangerous. as_subclass refuses every one of them (no Tensor subclass).
TEST(TensorSubclass, DangerousNewTypeIsRefused) {
  for (const auto& [m, c] :
       std::initializer_list<std::pair<const char*, const char*>>{{"subprocess", "Popen"},
                                                                  {"commands", "Popen"},
                                                                  {"functools", "partial"},
                                                                  {"operator", "attrgetter"},
                                                                  {"torch.serialization", "load"},
                                                                  {"torch", "load"}}) {
    SCOPED_TRACE(std::string(m) + "." + c);
    PickleBuilder p;
    p.proto().global("torch._tensor", "_rebuild_from_type_v2").mark();
    p.global("torch._utils", "_rebuild_tensor_v2").global(m, c);
    tensor_args(p);
    p.empty_dict().str("a").integer(1).setitem();
    p.tuple().reduce().stop();
    const auto b = make_zip(p.bytes(), 3);
    EXPECT_PTIO_ERROR(load_bytes(b, false), ErrorCode::kUnsafeGlobal);
    EXPECT_PTIO_ERROR(load_bytes(b, true), ErrorCode::kUnsafeGlobal);
    // Even when the caller allowlists the name for weights_only loading.
    EXPECT_PTIO_ERROR(load_bytes(b, true, {std::string(m) + "." + c}), ErrorCode::kUnsafeGlobal);
  }
}

TEST(TensorSubclass, StateIsCopiedAsSetattrCopiesIt) {
  // {'l': []} as the state (memo 9), the tensor (memo 10); then the pickle goes on: the state
  // dict gets a key (setattr copied the attributes: the tensor does not see it), and the list
  // gets the tensor (a value the tensor holds: t.l[0] is t, a cycle, as in Python).
  PickleBuilder p;
  p.proto().global("torch._tensor", "_rebuild_from_type_v2").mark();
  p.global("torch._utils", "_rebuild_tensor_v2").global("__main__", "MyT");
  tensor_args(p);
  p.empty_dict().binput(9).str("l").empty_list().binput(8).setitem();
  p.tuple().reduce().binput(10);
  p.binget(9).str("late").integer(1).setitem().pop();
  p.binget(8).binget(10).append().pop();
  p.binget(10).stop();
  IValue v = load_bytes(make_zip(p.bytes(), 3), false);
  const IValue& st = v.as_tensor().python_state();
  ASSERT_TRUE(st.is_dict());
  EXPECT_EQ(st.as_dict().items().size(), 1u);
  const IValue* l = st.as_dict().find("l");
  ASSERT_TRUE(l && l->is_list() && l->as_list().elements.size() == 1);
  EXPECT_TRUE(l->as_list().elements[0].as_tensor().is_same(v.as_tensor()));
  // torch.save cannot write it (RecursionError); ptio::save refuses it.
  io::MemoryWriter mw;
  EXPECT_PTIO_ERROR(save(v, mw), ErrorCode::kPickleTypeError);
  break_cycles(v);  // LeakSanitizer (ASan build) checks that this frees it
}

TEST(TensorSubclass, SharedStateCopiesAreChargedToTheAllocationBudget) {
  // One state dict of 4000 entries (memo 1) given to 2000 tensors: each tensor copies it (8
  // million entries from a 0.2 MB pickle); the copies count against the pickle's allocation
  // budget, which stops the load early.
  PickleBuilder p;
  p.proto().empty_list();
  for (int i = 0; i < 2000; ++i) {
    p.global("torch._tensor", "_rebuild_from_type_v2").mark();
    p.global("torch._utils", "_rebuild_tensor_v2").global("__main__", "MyT");
    tensor_args(p);
    if (i == 0) {
      p.empty_dict().binput(1);
      for (int k = 0; k < 4000; ++k) p.str("k" + std::to_string(k)).integer(k).setitem();
    } else {
      p.binget(1);
    }
    p.tuple().reduce().append();
  }
  p.stop();
  const auto b = make_zip(p.bytes(), 3);
  EXPECT_PTIO_ERROR(load_bytes(b, false), ErrorCode::kPickleAllocationLimit);
  // A larger budget loads it (each tensor has its own copy).
  LoadOptions o;
  o.weights_only = false;
  o.limits.pickle.alloc_base_bytes = std::uint64_t{1} << 30;
  PickleBuilder small;
  small.proto().empty_list();
  for (int i = 0; i < 2; ++i) {
    small.global("torch._tensor", "_rebuild_from_type_v2").mark();
    small.global("torch._utils", "_rebuild_tensor_v2").global("__main__", "MyT");
    tensor_args(small);
    if (i == 0)
      small.empty_dict().binput(1).str("a").integer(1).setitem();
    else
      small.binget(1);
    small.tuple().reduce().append();
  }
  small.stop();
  const IValue two = load(std::span<const std::byte>(make_zip(small.bytes(), 3)), o);
  const auto& e = two.as_list().elements;
  ASSERT_EQ(e.size(), 2u);
  EXPECT_NE(e[0].as_tensor().python_state().identity(), e[1].as_tensor().python_state().identity());
  EXPECT_EQ(e[1].as_tensor().python_state().as_dict().find("a")->as_int(), 1);
}

Tensor floats3() {
  const float f[3] = {1.5f, -2.0f, 4.25f};
  return Tensor::from_bytes(ScalarType::Float, {3},
                            std::span<const std::byte>(reinterpret_cast<const std::byte*>(f), 12));
}

IValue round_trip(const IValue& obj, bool legacy = false) {
  io::MemoryWriter mw;
  SaveOptions o;
  o.legacy_format = legacy;
  save(obj, mw, o);
  const auto b = mw.release();
  return load_bytes(b, false);
}

TEST(TensorSubclass, SaveWritesTheClassAndStateBack) {
  for (bool legacy : {false, true}) {
    Tensor sub = floats3();
    sub.set_python_type(QualifiedName("__main__.MyT"));
    IValue state = IValue::dict();
    state.as_dict().insert_or_assign(IValue("foo"), IValue(std::int64_t{3}));
    state.as_dict().insert_or_assign(IValue("extra"), IValue(floats3()));  // a tensor attribute
    sub.set_python_state(state);
    Tensor param = floats3();
    param.set_is_parameter(true);
    param.set_requires_grad(true);
    IValue pstate = IValue::dict();
    pstate.as_dict().insert_or_assign(IValue("bar"), IValue("x"));
    param.set_python_state(pstate);
    Tensor bare = floats3();  // a subclass without attributes: state {}
    bare.set_python_type(QualifiedName("pkg.mod.Bare"));
    IValue obj = IValue::dict();
    obj.as_dict().insert_or_assign(IValue("sub"), IValue(sub));
    obj.as_dict().insert_or_assign(IValue("param"), IValue(param));
    obj.as_dict().insert_or_assign(IValue("bare"), IValue(bare));
    const IValue back = round_trip(obj, legacy);
    const Tensor& s = back.as_dict().find("sub")->as_tensor();
    EXPECT_EQ(s.python_type().qualified_name(), "__main__.MyT");
    EXPECT_EQ(s.data<float>()[2], 4.25f);
    const IValue& st = s.python_state();
    ASSERT_TRUE(st.is_dict());
    EXPECT_EQ(st.as_dict().find("foo")->as_int(), 3);
    EXPECT_EQ(st.as_dict().find("extra")->as_tensor().data<float>()[1], -2.0f);
    const Tensor& p = back.as_dict().find("param")->as_tensor();
    EXPECT_TRUE(p.is_parameter());
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.python_type().empty());
    EXPECT_EQ(p.python_state().as_dict().find("bar")->as_string(), "x");
    const Tensor& b = back.as_dict().find("bare")->as_tensor();
    EXPECT_EQ(b.python_type().qualified_name(), "pkg.mod.Bare");
    EXPECT_TRUE(b.python_state().is_none());
  }
}

TEST(TensorSubclass, SaveRefusesAStateHoldingItsTensor) {
  Tensor t = floats3();
  IValue state = IValue::dict();
  t.set_python_state(state);
  state.as_dict().insert_or_assign(IValue("me"), IValue(t));
  io::MemoryWriter mw;
  EXPECT_PTIO_ERROR(save(IValue(t), mw), ErrorCode::kPickleTypeError);
  IValue holder(t);
  break_cycles(holder);  // frees the cycle (LeakSanitizer checks it in the ASan build)
}

}  // namespace
}  // namespace ptio
