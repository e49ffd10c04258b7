// content_equal (ptio/core/content_equal.h): values that share no tensor compare by content,
// where `==` compares tensors and storages by identity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "ptio/core/content_equal.h"
#include "ptio/core/ivalue.h"
#include "ptio/core/storage.h"
#include "ptio/core/tensor.h"
#include "test_support.h"

namespace {

using namespace ptio;

std::vector<std::byte> floats(std::initializer_list<float> v) {
  std::vector<std::byte> b(v.size() * sizeof(float));
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

Tensor t23(std::initializer_list<float> v) {
  return Tensor::make(Storage::from_bytes(floats(v)), ScalarType::Float, {2, 3}, {3, 1});
}

TEST(ContentEqual, TensorsByElementsNotIdentity) {
  const IValue a(t23({0, 1, 2, 3, 4, 5}));
  const IValue b(t23({0, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(a == b);  // distinct tensors
  EXPECT_TRUE(content_equal(a, b));
  EXPECT_FALSE(content_equal(a, IValue(t23({0, 1, 2, 3, 4, 6}))));
  // The same elements as a view at an offset of a larger storage: equal (offset is not content).
  const Tensor tail = Tensor::make(Storage::from_bytes(floats({9, 0, 1, 2, 3, 4, 5})),
                                   ScalarType::Float, {2, 3}, {3, 1}, 1);
  EXPECT_TRUE(content_equal(a, IValue(tail)));
  // Same bytes, other strides (a transposed view): different.
  const Tensor tr = Tensor::make(Storage::from_bytes(floats({0, 3, 1, 4, 2, 5})),
                                 ScalarType::Float, {2, 3}, {1, 2});
  EXPECT_FALSE(content_equal(a, IValue(tr)));
  Tensor g = t23({0, 1, 2, 3, 4, 5});
  g.set_requires_grad(true);
  EXPECT_FALSE(content_equal(a, IValue(g)));
  EXPECT_TRUE(content_equal(IValue(Tensor::meta(ScalarType::Float, {2}, {1})),
                            IValue(Tensor::meta(ScalarType::Float, {2}, {1}))));
  EXPECT_FALSE(content_equal(IValue(Tensor::meta(ScalarType::Float, {2}, {1})),
                             IValue(Tensor::meta(ScalarType::Double, {2}, {1}))));
}

TEST(ContentEqual, TensorsCompareTheirPythonTypeAndState) {
  const auto make = [](const char* type, std::int64_t foo) {
    Tensor t = t23({1, 2, 3, 4, 5, 6});
    if (*type) t.set_python_type(QualifiedName(type));
    if (foo) {
      IValue st = IValue::dict();
      st.as_dict().insert_or_assign(IValue("foo"), IValue(foo));
      t.set_python_state(st);
    }
    return IValue(t);
  };
  EXPECT_TRUE(content_equal(make("m.MyT", 3), make("m.MyT", 3)));
  EXPECT_FALSE(content_equal(make("m.MyT", 3), make("m.Other", 3)));
  EXPECT_FALSE(content_equal(make("m.MyT", 3), make("", 3)));
  EXPECT_FALSE(content_equal(make("m.MyT", 3), make("m.MyT", 4)));
  EXPECT_FALSE(content_equal(make("", 3), make("", 0)));
  // A state holding its own tensor: the cycle counts as equal.
  IValue a = make("m.MyT", 3), b = make("m.MyT", 3);
  a.as_tensor().python_state().as_dict().insert_or_assign(IValue("me"), a);
  b.as_tensor().python_state().as_dict().insert_or_assign(IValue("me"), b);
  EXPECT_TRUE(content_equal(a, b));
  break_cycles(a);
  break_cycles(b);
}

TEST(ContentEqual, StoragesByBytes) {
  const IValue a(Storage::from_bytes(floats({1, 2})));
  EXPECT_TRUE(content_equal(a, IValue(Storage::from_bytes(floats({1, 2})))));
  EXPECT_FALSE(content_equal(a, IValue(Storage::from_bytes(floats({1, 3})))));
  EXPECT_FALSE(content_equal(a, IValue(Storage::from_bytes(floats({1})))));
}

TEST(ContentEqual, KindsAndFloatBitsMatter) {
  EXPECT_TRUE(IValue(1) == IValue(1.0));
  EXPECT_FALSE(content_equal(IValue(1), IValue(1.0)));
  EXPECT_FALSE(content_equal(IValue(true), IValue(1)));
  EXPECT_FALSE(content_equal(IValue::bytes("x"), IValue::bytearray("x")));
  EXPECT_TRUE(content_equal(IValue(std::nan("")), IValue(std::nan(""))));
  EXPECT_FALSE(content_equal(IValue(0.0), IValue(-0.0)));
  EXPECT_TRUE(content_equal(IValue("s"), IValue("s")));
}

TEST(ContentEqual, DictsInOrderWithTensorKeys) {
  IValue a = IValue::dict(), b = IValue::dict(), c = IValue::dict();
  a.as_dict().insert_or_assign("x", 1);
  a.as_dict().insert_or_assign("y", 2);
  b.as_dict().insert_or_assign("y", 2);
  b.as_dict().insert_or_assign("x", 1);
  EXPECT_TRUE(a == b);  // Python: dict equality ignores order
  EXPECT_FALSE(content_equal(a, b));
  c.as_dict().insert_or_assign("x", 1);
  c.as_dict().insert_or_assign("y", 2);
  EXPECT_TRUE(content_equal(a, c));
  IValue ka = IValue::dict(), kb = IValue::dict();
  ka.as_dict().insert_or_assign(IValue(t23({0, 1, 2, 3, 4, 5})), "w");
  kb.as_dict().insert_or_assign(IValue(t23({0, 1, 2, 3, 4, 5})), "w");
  EXPECT_FALSE(ka == kb);
  EXPECT_TRUE(content_equal(ka, kb));
}

TEST(ContentEqual, NestedObjectsAndCycles) {
  auto make = [](float last) {
    IValue o = IValue::object(QualifiedName("__main__.Net"));
    IValue l = IValue::list({IValue(t23({0, 1, 2, 3, 4, last}))});
    l.as_list().elements.push_back(l);  // a cycle
    o.as_object().attributes.emplace_back("w", l);
    return IValue::tuple({o, IValue::enum_value(QualifiedName("__main__.E"), "A", 1)});
  };
  IValue a = make(5), b = make(5), c = make(7);
  EXPECT_TRUE(content_equal(a, b));
  EXPECT_FALSE(content_equal(a, c));
  for (IValue* v : {&a, &b, &c}) break_cycles(*v);
}

TEST(ContentEqual, TooDeepThrows) {
  IValue root = IValue::list(), cur = root;
  IValue root2 = IValue::list(), cur2 = root2;
  for (int i = 0; i < 1100; ++i) {
    IValue n = IValue::list(), n2 = IValue::list();
    cur.as_list().elements.push_back(n);
    cur2.as_list().elements.push_back(n2);
    cur = n;
    cur2 = n2;
  }
  EXPECT_PTIO_ERROR(content_equal(root, root2), ErrorCode::kLimitExceeded);
}

}  // namespace
