// ptio::save + ptio::load in C++: zero-copy mmap storages, copies, sharing, dtype conflicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ptio/io/read_adapter.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/serialization/state_dict.h"
#include "ptio/zip/archive_reader.h"
#include "test_support.h"

namespace ptio {
namespace {

IValue sample(std::vector<float>& data) {
  const Tensor base = Tensor::borrowed(
      ScalarType::Float, {2, 3},
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()), data.size() * 4));
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  d.as_dict().insert_or_assign(IValue("w"), IValue(base));
  d.as_dict().insert_or_assign(
      IValue("row"), IValue(Tensor::make(base.storage(), ScalarType::Float, {3}, {1}, 3)));
  return d;
}

TEST(Save, MmapLoadIsZeroCopyAndAligned) {
  test::TempDir dir;
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  save(sample(data), dir / "m.pt");
  const IValue v = load(dir / "m.pt");
  const StateDict sd(v);
  ASSERT_EQ(sd.size(), 2u);
  const Tensor& w = sd.at("w");
  EXPECT_TRUE(w.storage().is_view());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.storage().data()) % 64, 0u);
  EXPECT_TRUE(w.storage().is_same(sd.at("row").storage()));
  EXPECT_EQ(sd.at("row").data<float>()[2], 5.0f);
  LoadOptions copy;
  copy.mmap = false;
  const StateDict sd2(load(dir / "m.pt", copy));
  EXPECT_FALSE(sd2.at("w").storage().is_view());
  EXPECT_EQ(sd2.at("w").data<float>()[4], 4.0f);
}

TEST(Save, StreamsUseArchiveFolderAndLegacyRoundTrips) {
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  io::MemoryWriter mw;
  save(sample(data), mw);
  const auto bytes = mw.release();
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  EXPECT_NE(text.find("archive/data.pkl"), std::string::npos);
  EXPECT_NE(text.find("archive/byteorder"), std::string::npos);
  SaveOptions legacy;
  legacy.legacy_format = true;
  io::MemoryWriter lw;
  save(sample(data), lw, legacy);
  const auto lb = lw.release();
  const StateDict sd(load(std::span<const std::byte>(lb)));
  EXPECT_EQ(sd.at("w").data<float>()[5], 5.0f);
  EXPECT_TRUE(sd.at("w").storage().is_same(sd.at("row").storage()));
}

TEST(Save, OneStorageTwoDtypesIsRefused) {
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  IValue d = sample(data);
  const Tensor& w = d.as_dict().find(std::string_view("w"))->as_tensor();
  d.as_dict().insert_or_assign(IValue("as_int"),
                               IValue(Tensor::make(w.storage(), ScalarType::Int, {6}, {1}, 0)));
  io::MemoryWriter mw;
  EXPECT_PTIO_ERROR(save(d, mw), ErrorCode::kBadStorage);
}

}  // namespace
}  // namespace ptio

namespace ptio {
namespace {

TEST(Save, NewDtypesUseRebuildTensorV3AndLoadBack) {
  const std::vector<std::uint16_t> u16 = {1, 65535, 300};
  const std::vector<std::uint8_t> f8 = {0x38, 0xC0};  // float8_e4m3fn 1.0, -2.0
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(
      IValue("u16"),
      IValue(Tensor::borrowed(
          ScalarType::UInt16, {3},
          std::span<const std::byte>(reinterpret_cast<const std::byte*>(u16.data()), 6))));
  d.as_dict().insert_or_assign(
      IValue("f8"),
      IValue(Tensor::borrowed(
          ScalarType::Float8_e4m3fn, {2},
          std::span<const std::byte>(reinterpret_cast<const std::byte*>(f8.data()), 2))));
  io::MemoryWriter mw;
  save(d, mw);
  const auto bytes = mw.release();
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  // Spec 4.2: untyped storage persistent id + the dtype as the 7th argument.
  EXPECT_NE(text.find("_rebuild_tensor_v3"), std::string::npos);
  EXPECT_NE(text.find("torch.storage\nUntypedStorage"), std::string::npos);
  EXPECT_NE(text.find("torch\nfloat8_e4m3fn"), std::string::npos);
  const StateDict sd(load(std::span<const std::byte>(bytes)));
  EXPECT_EQ(sd.at("u16").dtype(), ScalarType::UInt16);
  EXPECT_EQ(sd.at("u16").data<std::uint16_t>()[1], 65535);
  EXPECT_EQ(sd.at("f8").dtype(), ScalarType::Float8_e4m3fn);
  EXPECT_EQ(sd.at("f8").data_bytes()[1], std::byte{0xC0});
}

TEST(Load, VerifyCrcDetectsCorruptStorage) {
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  io::MemoryWriter mw;
  save(sample(data), mw);
  auto bytes = mw.release();
  // Corrupt one byte of the storage record (the float 5.0 = 00 00 a0 40).
  const std::byte pattern[] = {std::byte{0}, std::byte{0}, std::byte{0xa0}, std::byte{0x40}};
  auto it = std::search(bytes.begin(), bytes.end(), std::begin(pattern), std::end(pattern));
  ASSERT_NE(it, bytes.end());
  it[3] = std::byte{0x41};
  LoadOptions o;
  EXPECT_NO_THROW(load(std::span<const std::byte>(bytes), o));  // PyTorch does not check CRCs
  o.verify_crc = true;
  EXPECT_PTIO_ERROR(load(std::span<const std::byte>(bytes), o), ErrorCode::kZipCrcMismatch);
  o.mmap = false;
  EXPECT_PTIO_ERROR(load(std::span<const std::byte>(bytes), o), ErrorCode::kZipCrcMismatch);
}

// A storage mapped from a stored record, or copied whole from one by a copying load, carries that
// record's CRC-32; saving it again writes that CRC-32 without a checksum pass, the other storages
// (sliced views, fresh or edited tensors) are checksummed, on a second thread when there are 8 MiB
// or more. Every path gives the same archive bytes, whose
// CRC-32s verify; a legacy save of a mapped load (stable writes, no CRC) loads back equal.
TEST(Save, SourceCrcAndPrefetchedCrcsGiveTheSameBytes) {
  test::TempDir dir;
  std::vector<std::vector<float>> blobs;
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  for (int i = 0; i < 24; ++i) {  // 24 x 512 KiB: above the 8 MiB prefetch threshold
    blobs.emplace_back(131072);
    for (std::size_t j = 0; j < blobs.back().size(); ++j)
      blobs.back()[j] = static_cast<float>(i * 1000003 + j * 7);
    const auto& b = blobs.back();
    d.as_dict().insert_or_assign(
        IValue("t" + std::to_string(i)),
        IValue(Tensor::borrowed(ScalarType::Float, {static_cast<std::int64_t>(b.size())},
                                std::span<const std::byte>(
                                    reinterpret_cast<const std::byte*>(b.data()), b.size() * 4))));
  }
  save(d, dir / "fresh.pt");  // borrowed storages: prefetched CRC-32s
  LoadOptions verify;
  verify.verify_crc = true;
  const IValue mapped = load(dir / "fresh.pt", verify);
  const StateDict sd(mapped);
  ASSERT_EQ(sd.size(), 24u);
  const zip::ArchiveReader ar{std::make_shared<io::MmapReadAdapter>(dir / "fresh.pt")};
  for (const auto& [name, t] : sd.items()) {
    ASSERT_TRUE(t.storage().source_crc32().has_value()) << name;
    EXPECT_EQ(*t.storage().source_crc32(), ar.record("data/" + t.storage().key()).crc32);
  }
  LoadOptions copy = verify;
  copy.mmap = false;
  const IValue copied = load(dir / "fresh.pt", copy);
  // A copying load's arena copies of whole records carry the records' CRC-32s too.
  const StateDict copied_sd(copied);
  for (const auto& [name, t] : copied_sd.items()) {
    ASSERT_TRUE(t.storage().source_crc32().has_value()) << name;
    EXPECT_EQ(*t.storage().source_crc32(), ar.record("data/" + t.storage().key()).crc32);
  }
  // One file name (one archive folder) for the three saves: borrowed storages (prefetched
  // CRC-32s), mapped ones and arena copies (source CRC-32s): byte-identical files.
  save(d, dir / "x.pt");
  const std::string want = test::read_text(dir / "x.pt");
  save(mapped, dir / "x.pt");
  EXPECT_TRUE(test::read_text(dir / "x.pt") == want);
  save(copied, dir / "x.pt");
  EXPECT_TRUE(test::read_text(dir / "x.pt") == want);
  io::MemoryWriter in_memory;  // a MemoryWriter takes the stable writes as copies
  SaveOptions as_x;
  as_x.archive_name = "x";  // the folder a save to x.pt uses
  save(mapped, in_memory, as_x);
  // The save announced its size (Writer::expect): one buffer within the per-record allowance,
  // not the doubling growth's up-to-twice-the-size buffer.
  EXPECT_GE(in_memory.bytes().capacity(), in_memory.bytes().size());
  EXPECT_LE(in_memory.bytes().capacity(), in_memory.bytes().size() + (sd.size() + 8) * 512);
  EXPECT_TRUE(std::string(reinterpret_cast<const char*>(in_memory.bytes().data()),
                          in_memory.bytes().size()) == test::read_text(dir / "x.pt"));
  const StateDict mem_sd(load(std::span<const std::byte>(in_memory.bytes()), verify));
  EXPECT_EQ(mem_sd.at("t11").data<float>()[5], static_cast<float>(11 * 1000003 + 5 * 7));
  const IValue back = load(dir / "x.pt", verify);  // every CRC-32 right
  const Tensor t23 = StateDict(back).at("t23");
  EXPECT_EQ(t23.data<float>()[131071], static_cast<float>(23 * 1000003 + 131071 * 7));
  // A sliced view of a mapped record is not the whole record: no source CRC-32.
  const Storage half =
      Storage::from_view(io::ByteView(sd.at("t0").storage().bytes().subspan(0, 4096), nullptr));
  EXPECT_FALSE(half.source_crc32().has_value());
  // Writing through mutable_data() forgets a copy's CRC-32: the save checksums the new bytes.
  {
    const IValue edited = load(dir / "fresh.pt", copy);
    Storage st = StateDict(edited).at("t5").storage();
    reinterpret_cast<float*>(st.mutable_data())[17] = -2.5f;
    EXPECT_FALSE(st.source_crc32().has_value());
    EXPECT_TRUE(StateDict(edited).at("t6").storage().source_crc32().has_value());
    save(edited, dir / "edited.pt");
    const StateDict esd(load(dir / "edited.pt", verify));  // every CRC-32 right
    EXPECT_EQ(esd.at("t5").data<float>()[17], -2.5f);
    EXPECT_EQ(esd.at("t5").data<float>()[18], static_cast<float>(5 * 1000003 + 18 * 7));
  }
  SaveOptions legacy;
  legacy.legacy_format = true;
  save(mapped, dir / "legacy.pt", legacy);
  const StateDict lsd(load(dir / "legacy.pt"));
  EXPECT_EQ(lsd.at("t7").data<float>()[99], static_cast<float>(7 * 1000003 + 99 * 7));
}

// A cyclic object goes through reduce_for_save, whose copy of the object is cyclic too: it must be
// freed after the save (it used to leak, holding references to the values it shared with `obj`).
TEST(Save, CyclicObjectLeavesNoReducedCopyBehind) {
  IValue shared = IValue::set();  // sets are shared by the reduced copy, not copied
  shared.as_set().insert(IValue(std::int64_t{1}));
  std::vector<float> data = {0, 1, 2, 3, 4, 5};
  IValue l = IValue::list({shared, sample(data)});
  l.as_list().elements.push_back(l);
  const auto before = shared.use_count();
  for (bool legacy : {false, true}) {
    io::MemoryWriter mw;
    SaveOptions o;
    o.legacy_format = legacy;
    save(l, mw, o);
    EXPECT_EQ(shared.use_count(), before) << "legacy=" << legacy;
    // And what it wrote is the same cycle.
    const IValue back = load(std::span<const std::byte>(mw.bytes()));
    ASSERT_TRUE(back.is_list());
    ASSERT_EQ(back.as_list().size(), 3u);
    EXPECT_EQ(back.as_list().elements[2].identity(), back.identity());
    IValue b = back;
    break_cycles(b);
  }
  break_cycles(l);
}

}  // namespace
}  // namespace ptio
