// named_tensors: paths as the corpus's Walker names them, the unambiguous key paths
// (NamedTensor::key) that tell apart keys flattening to one path, and deep nesting.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/serialization/state_dict.h"
#include "test_support.h"

namespace ptio {
namespace {

using namespace std::string_literals;

Tensor scalar(float v) {
  return Tensor::from_bytes(ScalarType::Float, {1},
                            std::as_bytes(std::span<const float>(&v, 1)));
}

TEST(NamedTensors, KeysThatFlattenToOneNameHaveDistinctKeyPaths) {
  IValue inner = IValue::dict();
  inner.as_dict().insert_or_assign(IValue("b"), IValue(scalar(2)));
  IValue ints = IValue::dict();
  ints.as_dict().insert_or_assign(IValue(std::int64_t{0}), IValue(scalar(3)));
  ints.as_dict().insert_or_assign(IValue("0"), IValue(scalar(4)));
  IValue list = IValue::list({IValue(scalar(5))});
  IValue root = IValue::dict();
  auto& d = root.as_dict();
  d.insert_or_assign(IValue("a.b"), IValue(scalar(1)));
  d.insert_or_assign(IValue("a"), inner);
  d.insert_or_assign(IValue("x"), ints);
  d.insert_or_assign(IValue("l"), list);
  d.insert_or_assign(IValue("l.0"), IValue(scalar(6)));

  const std::vector<NamedTensor> got = named_tensors(root);
  ASSERT_EQ(got.size(), 6u);
  const std::vector<std::string> paths = {"a.b", "a.b", "x.0", "x.0", "l.0", "l.0"};
  const std::vector<std::string> keys = {"sa.b\0"s,      "sa\0sb\0"s, "sx\0n0\0"s,
                                         "sx\0s0\0"s, "sl\0i0\0"s, "sl.0\0"s};
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].path, paths[i]) << i;
    EXPECT_EQ(got[i].key, keys[i]) << i;
    EXPECT_EQ(got[i].tensor.data<float>()[0], static_cast<float>(i + 1)) << i;
  }
}

TEST(NamedTensors, StandaloneStorageKeyEndsWithItsMarker) {
  IValue root = IValue::dict();
  root.as_dict().insert_or_assign(IValue("s"), IValue(scalar(7).storage()));
  const std::vector<NamedTensor> got = named_tensors(root);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].is_storage);
  EXPECT_EQ(got[0].path, "s<storage>");
  EXPECT_EQ(got[0].key, "ss\0<\0"s);
}

// A tensor 70 lists deep is listed (a cut-off at 60 levels dropped it silently: `tensors`, `diff`
// and `convert` lost it with exit 0); deeper than 1000 levels is an error, not a silent drop.
TEST(NamedTensors, DeepTensorsAreListedAndTooDeepIsAnError) {
  auto nest = [](int levels) {
    IValue v(scalar(8));
    for (int i = 0; i < levels; ++i) v = IValue::list({v});
    IValue root = IValue::dict();
    root.as_dict().insert_or_assign(IValue("deep"), v);
    root.as_dict().insert_or_assign(IValue("top"), IValue(scalar(9)));
    return root;
  };
  const std::vector<NamedTensor> got = named_tensors(nest(70));
  ASSERT_EQ(got.size(), 2u);
  std::string path = "deep";
  for (int i = 0; i < 70; ++i) path += ".0";
  EXPECT_EQ(got[0].path, path);
  EXPECT_EQ(got[0].tensor.data<float>()[0], 8.0f);
  EXPECT_EQ(got[1].path, "top");
  EXPECT_PTIO_ERROR((void)named_tensors(nest(1001)), ErrorCode::kLimitExceeded);
}

}  // namespace
}  // namespace ptio
