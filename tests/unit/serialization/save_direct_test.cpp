// The one-pass torch.save pickler (save_direct) against the general path (reduce_for_save +
// pickle_for_save): same data.pkl bytes and storages for everything it takes, and a refusal (the
// caller then takes the general path) for what it does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "serialization/save_direct.h"
#include "serialization/save_reduce.h"

namespace ptio::detail {
std::vector<std::byte> pickle_for_save(const IValue& tree);
}  // namespace ptio::detail

namespace ptio {
namespace {

Storage floats(std::size_t n, float first = 0) {
  std::vector<std::byte> b(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    const float f = first + static_cast<float>(i);
    std::memcpy(b.data() + 4 * i, &f, 4);
  }
  return Storage::from_bytes(std::move(b));
}

IValue ordered_dict() {
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  return d;
}

// Asserts that the direct path takes `v` and writes what the general path writes, and that the
// storages it hands over for checksumming before pickling are keyed as pickling keys them.
void expect_same(const IValue& v) {
  const detail::SaveReduction r = detail::reduce_for_save(v, false);  // frees its cyclic copy
  const std::vector<std::byte> general = detail::pickle_for_save(r.tree);
  std::vector<detail::PendingCrc32> pending;
  int calls = 0;
  const auto direct = detail::pickle_for_save_direct(v, [&](std::vector<detail::PendingCrc32> p) {
    ++calls;
    pending = std::move(p);
  });
  ASSERT_TRUE(direct.has_value());
  EXPECT_EQ(calls, 1);
  const std::vector<detail::PendingCrc32> expected = detail::storages_to_checksum(direct->storages);
  ASSERT_EQ(pending.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(pending[i].key, expected[i].key);
    EXPECT_EQ(pending[i].bytes.data(), expected[i].bytes.data());
    EXPECT_EQ(pending[i].bytes.size(), expected[i].bytes.size());
  }
  ASSERT_EQ(direct->data_pkl.size(), general.size());
  EXPECT_TRUE(std::equal(direct->data_pkl.begin(), direct->data_pkl.end(), general.begin()))
      << "data.pkl differs";
  ASSERT_EQ(direct->storages.size(), r.storages.size());
  for (std::size_t i = 0; i < r.storages.size(); ++i) {
    EXPECT_EQ(direct->storages[i].key, r.storages[i].key);
    EXPECT_TRUE(direct->storages[i].storage.is_same(r.storages[i].storage));
    EXPECT_EQ(direct->storages[i].dtype, r.storages[i].dtype);
  }
}

TEST(SaveDirect, StateDictWithViewsSharingAndEveryShape) {
  const Storage s = floats(64);
  IValue d = ordered_dict();
  const Tensor w = Tensor::make(s, ScalarType::Float, {4, 4}, {4, 1});
  d.as_dict().insert_or_assign(IValue("w"), IValue(w));
  d.as_dict().insert_or_assign(IValue("row"), IValue(Tensor::make(s, ScalarType::Float, {4}, {1}, 8)));
  d.as_dict().insert_or_assign(IValue("scalar"),
                               IValue(Tensor::make(floats(1, 7), ScalarType::Float, {}, {})));
  d.as_dict().insert_or_assign(
      IValue("4d"), IValue(Tensor::make(floats(24), ScalarType::Float, {1, 2, 3, 4}, {24, 12, 4, 1})));
  d.as_dict().insert_or_assign(
      IValue("t"), IValue(Tensor::make(s, ScalarType::Float, {4, 4}, {1, 4})));  // transposed
  Tensor g = Tensor::make(floats(3), ScalarType::Float, {3}, {1});
  g.set_requires_grad(true);
  d.as_dict().insert_or_assign(IValue("grad"), IValue(g));
  Tensor p = Tensor::make(floats(2), ScalarType::Float, {2}, {1});
  p.set_is_parameter(true);
  p.set_requires_grad(true);
  d.as_dict().insert_or_assign(IValue("param"), IValue(p));
  Tensor frozen = Tensor::make(floats(2), ScalarType::Float, {2}, {1});
  frozen.set_is_parameter(true);
  d.as_dict().insert_or_assign(IValue("frozen"), IValue(frozen));
  // uint16 has no typed storage class: _rebuild_tensor_v3 with an UntypedStorage.
  d.as_dict().insert_or_assign(IValue("u16"),
                               IValue(Tensor::make(floats(2), ScalarType::UInt16, {4}, {1})));
  d.as_dict().insert_or_assign(IValue("empty"),
                               IValue(Tensor::make(floats(0), ScalarType::Float, {0}, {1})));
  d.as_dict().insert_or_assign(IValue("big_offset"),
                               IValue(Tensor::make(floats(70000), ScalarType::Float, {2}, {1}, 69998)));
  // The same IValue twice (one tensor object: BINGET) and its _metadata build state.
  const IValue shared = d.as_dict().find("w") ? *d.as_dict().find("w") : IValue();
  d.as_dict().insert_or_assign(IValue("w_again"), shared);
  IValue meta = ordered_dict();
  IValue version = IValue::dict();
  version.as_dict().insert_or_assign(IValue("version"), IValue(1));
  meta.as_dict().insert_or_assign(IValue(""), version);
  IValue build = IValue::dict();
  build.as_dict().insert_or_assign(IValue("_metadata"), meta);
  d.as_dict().build_state = build;
  expect_same(d);
}

TEST(SaveDirect, ManyTensorsPassTheOneByteMemoIds) {
  IValue d = ordered_dict();
  for (int i = 0; i < 1500; ++i)  // > 256 memo ids (LONG_BINPUT) and > 1000 items (two batches)
    d.as_dict().insert_or_assign(IValue("layer." + std::to_string(i) + ".weight"),
                                 IValue(Tensor::make(floats(3), ScalarType::Float, {3}, {1})));
  expect_same(d);
  IValue plain = IValue::dict();  // exact dict batching
  for (int i = 0; i < 1000; ++i)
    plain.as_dict().insert_or_assign(IValue(i), IValue(Tensor::make(floats(1), ScalarType::Float, {1}, {1})));
  expect_same(plain);
}

TEST(SaveDirect, HandsOverTheStoragesWithoutCrc32BeforePickling) {
  Storage with_crc = floats(4);
  with_crc.set_source_crc32(0x12345678);
  const Storage fresh = floats(8), other = floats(2);
  IValue d = ordered_dict();
  auto put = [&](const char* k, const Storage& s, std::int64_t n, std::int64_t offset = 0) {
    d.as_dict().insert_or_assign(IValue(k), IValue(Tensor::make(s, ScalarType::Float, {n}, {1}, offset)));
  };
  put("a", with_crc, 4);
  put("b", fresh, 4);
  put("c", fresh, 4, 4);  // a view of b's storage: one key
  put("d", floats(0), 0);  // empty: no bytes to checksum
  put("e", other, 2);
  std::vector<detail::PendingCrc32> pending;
  ASSERT_TRUE(detail::pickle_for_save_direct(
      d, [&](std::vector<detail::PendingCrc32> p) { pending = std::move(p); }));
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, "1");
  EXPECT_EQ(pending[0].bytes.data(), fresh.bytes().data());
  EXPECT_EQ(pending[0].bytes.size(), 32u);
  EXPECT_EQ(pending[1].key, "3");
  EXPECT_EQ(pending[1].bytes.data(), other.bytes().data());
  expect_same(d);
}

TEST(SaveDirect, NestedContainersAndAtomicValues) {
  const Tensor t = Tensor::make(floats(6), ScalarType::Float, {2, 3}, {3, 1});
  IValue tv(t);
  IValue inner = IValue::list({tv, IValue(1.5), IValue("x"), IValue(), IValue(true),
                               IValue(std::int64_t{1} << 40), IValue(-3)});
  IValue tup = IValue::tuple({inner, tv, IValue::bytes("ab\xff"), IValue::bytearray("q"),
                              IValue(std::complex<double>(1, 2))});
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue("a"), tup);
  d.as_dict().insert_or_assign(IValue("b"), tup);  // shared tuple: BINGET
  d.as_dict().insert_or_assign(IValue(7), IValue::list());
  d.as_dict().insert_or_assign(IValue("empty_tuple"), IValue::tuple({}));
  d.as_dict().insert_or_assign(IValue("small"), IValue::tuple({tv, inner}));
  expect_same(IValue::list({d, d, IValue::tuple({IValue(1), IValue(2), IValue(3), IValue(4)})}));
  // A list that holds itself, and a tensor inside.
  IValue self = IValue::list({tv});
  self.as_list().elements.push_back(self);
  expect_same(self);
  break_cycles(self);
  // A bare tensor.
  expect_same(tv);
}

TEST(SaveDirect, RefusesWhatTheGeneralPathRewrites) {
  const Tensor t = Tensor::make(floats(2), ScalarType::Float, {2}, {1});
  // One tensor under two IValue payloads (the Reducer shares it, the Pickler memo would not).
  EXPECT_FALSE(detail::pickle_for_save_direct(IValue::list({IValue(t), IValue(t)})).has_value());
  EXPECT_FALSE(detail::pickle_for_save_direct(IValue::list({IValue(Device(DeviceType::kCPU))})));
  EXPECT_FALSE(detail::pickle_for_save_direct(IValue(t.storage())));
  EXPECT_FALSE(detail::pickle_for_save_direct(IValue::set()));
  EXPECT_FALSE(detail::pickle_for_save_direct(IValue::object(QualifiedName("__main__.C"))));
  EXPECT_FALSE(detail::pickle_for_save_direct(
      IValue(Tensor::meta(ScalarType::Float, {2}, {1}))));
  // A tuple reached from inside itself.
  IValue l = IValue::list();
  IValue tup = IValue::tuple({l});
  l.as_list().elements.push_back(tup);
  EXPECT_FALSE(detail::pickle_for_save_direct(tup).has_value());
  break_cycles(l);
  // Deeper than the direct path goes: the general path decides.
  IValue deep = IValue::list();
  for (int i = 0; i < 950; ++i) deep = IValue::list({deep});
  EXPECT_FALSE(detail::pickle_for_save_direct(deep).has_value());
  // A tuple key (the Reducer rebuilds it).
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue::tuple({IValue(1)}), IValue(2));
  EXPECT_FALSE(detail::pickle_for_save_direct(d).has_value());
}

TEST(SaveDirect, OneStorageAsTwoDtypesIsRefusedAsByTheGeneralPath) {
  const Storage s = floats(4);
  const IValue v = IValue::list({IValue(Tensor::make(s, ScalarType::Float, {4}, {1})),
                                 IValue(Tensor::make(s, ScalarType::Int, {4}, {1}))});
  EXPECT_THROW(detail::reduce_for_save(v, false), Error);
  try {
    (void)detail::pickle_for_save_direct(v);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadStorage);
  }
}

TEST(SaveDirect, SaveOfAStateDictLoadsBack) {
  IValue d = ordered_dict();
  for (int i = 0; i < 5; ++i)
    d.as_dict().insert_or_assign(IValue("p" + std::to_string(i)),
                                 IValue(Tensor::make(floats(4, 10.0f * static_cast<float>(i)), ScalarType::Float, {2, 2}, {2, 1})));
  io::MemoryWriter w;
  save(d, w);
  const auto bytes = w.release();
  const IValue back = load(std::span<const std::byte>(bytes));
  ASSERT_TRUE(back.is_dict());
  ASSERT_EQ(back.as_dict().size(), 5u);
  EXPECT_EQ(back.as_dict().find("p3")->as_tensor().data<float>()[2], 32.0f);
}

}  // namespace
}  // namespace ptio
