// The copying load (LoadOptions::mmap = false) reads storages into arena slices: each storage is
// its own writable memory (not a view), aligned, with the file's bytes, and outlives the rest.
#include <gtest/gtest.h>

#include <cstring>

#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/serialization/state_dict.h"
#include "ptio/zip/archive_reader.h"
#include "test_support.h"

namespace ptio {
namespace {

// n tensors; tensor i has (i % 7) * 100 + 1 float elements of value i, and the last one 2^18
// floats (1 MiB: a block of its own).
IValue many_tensors(int n) {
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  for (int i = 0; i < n; ++i) {
    const std::int64_t numel = i == n - 1 ? (std::int64_t{1} << 18) : (i % 7) * 100 + 1;
    std::vector<float> v(static_cast<std::size_t>(numel), static_cast<float>(i));
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    d.as_dict().insert_or_assign(
        IValue("t" + std::to_string(i)),
        IValue(Tensor::from_bytes(ScalarType::Float, {numel}, {p, v.size() * 4})));
  }
  return d;
}

TEST(CopyLoad, StoragesAreOwnedAlignedAndIndependent) {
  test::TempDir dir;
  const int n = 300;
  save(many_tensors(n), dir / "many.pt");
  LoadOptions copy;
  copy.mmap = false;
  Tensor kept;
  {
    const StateDict sd(load(dir / "many.pt", copy));
    ASSERT_EQ(sd.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const Tensor& t = sd.at("t" + std::to_string(i));
      ASSERT_FALSE(t.storage().is_view()) << i;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.storage().data()) % 64, 0u) << i;
      const auto f = t.data<float>();
      ASSERT_EQ(f.size(), i == n - 1 ? (std::size_t{1} << 18) : std::size_t((i % 7) * 100 + 1));
      EXPECT_EQ(f.front(), static_cast<float>(i));
      EXPECT_EQ(f.back(), static_cast<float>(i));
    }
    // Writing all of one storage leaves its neighbours in the same block untouched.
    Storage s = sd.at("t10").storage();
    std::memset(s.mutable_data(), 0, s.nbytes());
    EXPECT_EQ(sd.at("t10").data<float>()[0], 0.0f);
    EXPECT_EQ(sd.at("t9").data<float>().back(), 9.0f);
    EXPECT_EQ(sd.at("t11").data<float>().front(), 11.0f);
    kept = sd.at("t123");
  }
  // The block outlives the loaded dict while a tensor of it lives (ASan checks the read).
  EXPECT_EQ(kept.data<float>().back(), 123.0f);
}

// The copying load reads small stored records in batches (ZipStorageLoader::batch_reads,
// zip::ArchiveReader::read_many_into: io_uring from a file, one read each from memory): 1,100
// storages make two full batches of 512 and a last one read after the pickle. Every value is
// right either way, and a corrupted record in the second batch is reported by name.
TEST(CopyLoad, BatchedReadsGiveEveryValueAndReportTheCorruptRecord) {
  test::TempDir dir;
  const int n = 1100;
  save(many_tensors(n), dir / "many.pt");
  LoadOptions copy;
  copy.mmap = false;
  copy.verify_crc = true;
  auto check_all = [&](const IValue& v) {
    const StateDict sd(v);
    ASSERT_EQ(sd.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const auto f = sd.at("t" + std::to_string(i)).data<float>();
      ASSERT_EQ(f.size(), i == n - 1 ? (std::size_t{1} << 18) : std::size_t((i % 7) * 100 + 1));
      ASSERT_EQ(f.front(), static_cast<float>(i)) << i;
      ASSERT_EQ(f.back(), static_cast<float>(i)) << i;
    }
  };
  check_all(load(dir / "many.pt", copy));
  std::string bytes = test::read_text(dir / "many.pt");
  const std::span<const std::byte> as_bytes(reinterpret_cast<const std::byte*>(bytes.data()),
                                            bytes.size());
  check_all(load(as_bytes, copy));

  // One byte of storage 700's record changed: the load names that record and its offset.
  const std::uint64_t at = zip::ArchiveReader(dir / "many.pt").record("data/700").data_offset;
  bytes[at + 1] = static_cast<char>(bytes[at + 1] ^ 0x10);
  test::write_file(dir / "bad.pt", bytes);
  for (const bool from_file : {true, false}) {
    try {
      if (from_file)
        (void)load(dir / "bad.pt", copy);
      else
        (void)load(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()),
                                              bytes.size()),
                   copy);
      ADD_FAILURE() << "no error (from_file " << from_file << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kZipCrcMismatch);
      EXPECT_NE(std::string(e.what()).find("data/700"), std::string::npos) << e.what();
    }
  }
  // Without verify_crc the load takes the bytes as they are (as torch.load does).
  copy.verify_crc = false;
  const StateDict sd(load(dir / "bad.pt", copy));
  EXPECT_NE(sd.at("t700").data<float>()[0], 700.0f);
  EXPECT_EQ(sd.at("t701").data<float>()[0], 701.0f);
}

}  // namespace
}  // namespace ptio
