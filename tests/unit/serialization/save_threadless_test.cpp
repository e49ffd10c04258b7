// ptio::save where no thread can be started (a resource limit): the FileWriter writes on the
// caller's thread and the CRC-32s the save would compute on a second thread are computed inline;
// the file is the same and loads with its CRC-32s verified.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "test_support.h"

namespace ptio {
namespace {

// A state dict of 24 fresh 1 MiB float tensors (24 MiB: above the 8 MiB the CRC-32 thread needs).
IValue fresh_state_dict() {
  IValue d = IValue::dict();
  d.as_dict().ordered_dict = true;
  for (int k = 0; k < 24; ++k) {
    std::vector<std::byte> b(1 << 20);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 31 + k);
    d.as_dict().insert_or_assign(
        IValue("t" + std::to_string(k)),
        IValue(Tensor::make(Storage::from_bytes(std::move(b)), ScalarType::Float, {1 << 18}, {1})));
  }
  return d;
}

TEST(SaveThreadless, SavesTheSameFileWithoutThreads) {
  test::TempDir dir;
  const IValue d = fresh_state_dict();
  SaveOptions o;
  o.layout = RecordLayout::kTorch1_13;  // storages written in string order: t10 after t1
  // The same file name in two folders (the archive's folder name is the file's stem).
  std::filesystem::create_directories(dir / "threads");
  std::filesystem::create_directories(dir / "threadless");
  save(d, dir / "threads" / "m.pt", o);
  const int status = test::run_without_threads([&] {
    try {
      save(d, dir / "threadless" / "m.pt", o);
    } catch (const Error&) {
      return 91;
    }
    return 0;
  });
  if (status == test::kNoSeccomp) GTEST_SKIP() << "seccomp filters are not available here";
  ASSERT_EQ(status, 0);
  const std::string with = test::read_text(dir / "threads" / "m.pt");
  const std::string without = test::read_text(dir / "threadless" / "m.pt");
  EXPECT_TRUE(with == without) << "the files differ (" << with.size() << " and " << without.size()
                               << " bytes)";
  LoadOptions lo;
  lo.verify_crc = true;
  const IValue back = load(dir / "threadless" / "m.pt", lo);
  for (int k = 0; k < 24; ++k) {
    const std::string name = "t" + std::to_string(k);
    const IValue* got = back.as_dict().find(name);
    ASSERT_NE(got, nullptr) << name;
    const Tensor& t = got->as_tensor();
    const Tensor& want = d.as_dict().find(name)->as_tensor();
    ASSERT_EQ(std::memcmp(t.storage().bytes().data(), want.storage().bytes().data(), 1 << 20), 0)
        << "t" << k;
  }
}

}  // namespace
}  // namespace ptio
