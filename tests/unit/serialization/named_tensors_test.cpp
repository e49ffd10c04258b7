// named_tensors: paths as the corpus's Walker names them, the unambiguous key paths
// (NamedTensor::key) that tell apart keys flattening to one path, deep nesting, and containers
// shared under several names (every path listed, within a bound).
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
  return Tensor::from_bytes(ScalarType::Float, {1}, std::as_bytes(std::span<const float>(&v, 1)));
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
  const std::vector<std::string> keys = {"sa.b\0"s,   "sa\0sb\0"s, "sx\0n0\0"s,
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

// d = {'t': t}; {'a': d, 'b': d}: torch.load gives both a['t'] and b['t'] (one tensor), so both
// paths are listed (only `a.t` was: `b.t` was missing from tensors, diff and convert). A cycle
// back to a container being listed is skipped.
TEST(NamedTensors, SharedContainersAreListedUnderEveryPath) {
  const Tensor t = scalar(3);
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue("t"), IValue(t));
  IValue l = IValue::list({IValue(t)});
  l.as_list().elements.push_back(l);  // l = [t]; l.append(l)
  IValue root = IValue::dict();
  root.as_dict().insert_or_assign(IValue("a"), d);
  root.as_dict().insert_or_assign(IValue("b"), d);
  root.as_dict().insert_or_assign(IValue("c"), IValue::tuple({d, l}));
  root.as_dict().insert_or_assign(IValue("l"), l);
  const std::vector<NamedTensor> got = named_tensors(root);
  const std::vector<std::string> paths = {"a.t", "b.t", "c.0.t", "c.1.0", "l.0"};
  const std::vector<std::string> keys = {"sa\0st\0"s, "sb\0st\0"s, "sc\0i0\0st\0"s, "sc\0i1\0i0\0"s,
                                         "sl\0i0\0"s};
  ASSERT_EQ(got.size(), paths.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].path, paths[i]) << i;
    EXPECT_EQ(got[i].key, keys[i]) << i;
    EXPECT_EQ(got[i].tensor.id(), t.id()) << i;
  }
  break_cycles(l);
}

// "Billion laughs": l = [t]; for _ in range(30): l = [l, l] has 2^30 paths. Listing stops with
// kLimitExceeded once 250,000 values would be listed again, in little memory; 2^16 paths fit.
TEST(NamedTensors, SharedContainerExpansionIsBounded) {
  auto laughs = [](int levels) {
    IValue l = IValue::list({IValue(scalar(1))});
    for (int i = 0; i < levels; ++i) l = IValue::list({l, l});
    return l;
  };
  EXPECT_EQ(named_tensors(laughs(16)).size(), std::size_t{1} << 16);
  try {
    (void)named_tensors(laughs(30));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("would list more than 250000 values or 64 MiB of names"),
              std::string::npos)
        << e.what();
  }
  // Long names count too: 2^12 paths through a 64 KiB key pass 64 MiB of names.
  IValue l = IValue::list({IValue(scalar(1))});
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue(std::string(64 << 10, 'k')), l);
  for (int i = 0; i < 12; ++i) d = IValue::list({d, d});
  EXPECT_PTIO_ERROR((void)named_tensors(d), ErrorCode::kLimitExceeded);
}

// An unresolved global (a class ptio does not rebuild) is looked into: its call arguments,
// keyword arguments, states, appended and set items (tensors in a constructor's arguments were
// dropped: `Holder2(t)` with `__reduce__` returning `(Holder2, (t,))`).
TEST(NamedTensors, TensorsGivenToAnUnknownClassAreListed) {
  using ivalue::Op;
  IValue h = IValue::opaque("__main__", "Holder");
  auto& o = h.as_opaque();
  o.applied.push_back({Op::kReduce, IValue::tuple({IValue(std::int64_t{3}), IValue(scalar(1))})});
  IValue kwargs = IValue::dict();
  kwargs.as_dict().insert_or_assign(IValue("w"), IValue(scalar(2)));
  o.applied.push_back({Op::kNewObjEx, IValue::tuple({IValue::tuple({}), kwargs})});
  IValue st = IValue::dict();
  st.as_dict().insert_or_assign(IValue("t"), IValue(scalar(3)));
  o.applied.push_back({Op::kBuild, st});
  o.applied.push_back({Op::kBuild, IValue::list({IValue(scalar(4))})});
  o.applied.push_back({Op::kAppend, IValue(scalar(5))});
  o.applied.push_back({Op::kSetItem, IValue::tuple({IValue("k"), IValue(scalar(6))})});
  IValue root = IValue::dict();
  root.as_dict().insert_or_assign(IValue("h"), h);

  const std::vector<NamedTensor> got = named_tensors(root);
  const std::vector<std::string> paths = {"h.<arg 1>",   "h.<kwarg w>", "h.t",
                                          "h.<state>.0", "h.0",         "h.k"};
  const std::vector<std::string> keys = {"sh\0o<arg 1>\0"s,     "sh\0o<kwarg w>\0"s, "sh\0at\0"s,
                                         "sh\0o<state>\0i0\0"s, "sh\0i0\0"s,         "sh\0sk\0"s};
  ASSERT_EQ(got.size(), paths.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].path, paths[i]) << i;
    EXPECT_EQ(got[i].key, keys[i]) << i;
    EXPECT_EQ(got[i].tensor.data<float>()[0], static_cast<float>(i + 1)) << i;
  }
}

// One tensor reached again and again (BINGET under a million keys) counts against the shared
// limit; the whole listing against 256 MiB of names (a long key copied into every path below it).
TEST(NamedTensors, RepeatedTensorsAndLongNamesAreBounded) {
  const IValue t(scalar(1));
  IValue d = IValue::dict();
  for (int i = 0; i < 250'001; ++i) d.as_dict().insert_or_assign(IValue(std::int64_t{i}), t);
  EXPECT_EQ(named_tensors(d).size(), 250'001u);  // the first is no repeat
  d.as_dict().insert_or_assign(IValue("one more"), t);
  EXPECT_PTIO_ERROR((void)named_tensors(d), ErrorCode::kLimitExceeded);

  std::vector<IValue> many;
  for (int i = 0; i < 3000; ++i) many.push_back(IValue(scalar(1)));  // distinct tensors
  IValue root = IValue::dict();
  root.as_dict().insert_or_assign(IValue(std::string(100'000, 'k')), IValue::list(many));
  try {
    (void)named_tensors(root);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("256 MiB of names and entries (the listing's limit"),
              std::string::npos)
        << e.what();
  }
}

// The bounds are ListingLimits' fields (Limits::listing): raising max_listing_bytes lists what
// the default refuses, lowering it refuses less, and the error names the field to raise (the CLI
// points at --max-listing-bytes by it). module_state_dict takes them too.
TEST(NamedTensors, ListingLimitsAreTheCallersToChoose) {
  std::vector<IValue> many;
  for (int i = 0; i < 3000; ++i) many.push_back(IValue(scalar(1)));
  IValue root = IValue::dict();
  root.as_dict().insert_or_assign(IValue(std::string(100'000, 'k')), IValue::list(many));
  ListingLimits raised;
  raised.max_listing_bytes = std::size_t{1} << 30;
  const std::vector<NamedTensor> got = named_tensors(root, raised);  // ~300 MB of paths
  ASSERT_EQ(got.size(), 3000u);
  EXPECT_EQ(got[2999].path, std::string(100'000, 'k') + ".2999");

  IValue small = IValue::dict();
  small.as_dict().insert_or_assign(IValue("weight"), IValue(scalar(1)));
  EXPECT_EQ(named_tensors(small).size(), 1u);
  ListingLimits tight;
  tight.max_listing_bytes = 100;  // "weight" + its key + one NamedTensor pass it
  try {
    (void)named_tensors(small, tight);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("more than 100 bytes of names and entries"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("Limits::listing.max_listing_bytes"), std::string::npos)
        << e.what();
  }
  ListingLimits few;
  few.max_shared_visits = 2;
  const IValue t(scalar(1));
  IValue d = IValue::dict();
  for (int i = 0; i < 3; ++i) d.as_dict().insert_or_assign(IValue(std::int64_t{i}), t);
  EXPECT_EQ(named_tensors(d, few).size(), 3u);  // two repeats
  d.as_dict().insert_or_assign(IValue(std::int64_t{3}), t);
  EXPECT_PTIO_ERROR((void)named_tensors(d, few), ErrorCode::kLimitExceeded);
  EXPECT_EQ(named_tensors(d).size(), 4u);
}

}  // namespace
}  // namespace ptio
