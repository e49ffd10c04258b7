// ReadAdapter::read_many: batched small reads (io_uring for an adapter made from a path).
#include <gtest/gtest.h>

#include <random>

#include "ptio/io/read_adapter.h"
#include "test_support.h"

namespace ptio::io {
namespace {

std::string random_bytes(std::size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

TEST(ReadMany, FileAdapterFillsEveryRequestOrNone) {
  const std::string content = random_bytes(1 << 20);
  ptio::test::TempDir dir;
  ptio::test::write_file(dir / "f.bin", content);
  MmapReadAdapter in(dir / "f.bin");
  std::vector<std::string> bufs(300, std::string(77, '\0'));
  std::vector<ReadRequest> reqs;
  for (std::size_t i = 0; i < bufs.size(); ++i)
    reqs.push_back({i * 3331 % (content.size() - 77), bufs[i].data(), 20 + i % 58, false});
  in.read_many(reqs);
  std::size_t done = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    if (!reqs[i].done) continue;
    ++done;
    EXPECT_EQ(bufs[i].substr(0, reqs[i].n), content.substr(reqs[i].pos, reqs[i].n)) << i;
  }
  // All at once through io_uring, or nothing where the kernel does not offer it.
  EXPECT_TRUE(done == reqs.size() || done == 0) << done;
  // A request that leaves the file: nothing is batched; read() reports it.
  std::vector<ReadRequest> bad = reqs;
  for (auto& r : bad) r.done = false;
  bad[150].pos = content.size() - 10;
  in.read_many(bad);
  for (const auto& r : bad) EXPECT_FALSE(r.done);
  EXPECT_PTIO_ERROR(in.read(bad[150].pos, bad[150].buf, bad[150].n), ErrorCode::kIoOutOfBounds);
}

TEST(ReadMany, OtherAdaptersLeaveRequestsToRead) {
  const std::string content = random_bytes(4096);
  MemoryReadAdapter in = MemoryReadAdapter::copy_of(content);
  char buf[16];
  std::vector<ReadRequest> reqs(100, ReadRequest{5, buf, 16, false});
  in.read_many(reqs);
  for (const auto& r : reqs) EXPECT_FALSE(r.done);
}

}  // namespace ptio::io
