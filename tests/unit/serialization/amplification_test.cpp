// A deflated data.pkl that inflates to a flood of NONE opcodes (the session-7 trial's 60 KB
// nbomb.pt): ptio::load refuses it with kPickleAllocationLimit naming the file, the record and
// the offset, once the budget its compressed bytes justify is spent; ptio::scan reports it as
// suspicious (the limit is a finding) instead of building a 2 GB symbolic stack.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/limits.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/scan.h"
#include "ptio/zip/archive_writer.h"
#include "test_support.h"

namespace ptio {
namespace {

constexpr std::size_t kFlood = std::size_t{60} << 20;

std::vector<std::byte> deflated_checkpoint(char op, std::size_t n, bool compress = true) {
  std::string pkl = "\x80\x02";
  pkl.append(n, op);
  pkl += '.';
  io::MemoryWriter mw;
  zip::ArchiveWriter zw(mw, "archive");
  zw.write_record("data.pkl", test::bytes_of(pkl), compress);
  zw.write_record("version", test::bytes_of("3\n"));
  zw.finalize();
  return mw.release();
}

TEST(Amplification, LoadRefusesADeflatedNoneFlood) {
  const auto file = deflated_checkpoint('N', kFlood);
  ASSERT_LT(file.size(), 200'000u);  // ~60 KB, as the trial's
  const auto in = std::make_shared<io::MemoryReadAdapter>(
      io::MemoryReadAdapter::copy_of(test::string_of(file), "nbomb.pt"));
  try {
    (void)load(in, LoadOptions{});
    FAIL() << "the flood loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleAllocationLimit) << e.what();
    EXPECT_EQ(e.file(), "nbomb.pt");
    EXPECT_EQ(e.record(), "archive/data.pkl");
    ASSERT_TRUE(e.offset().has_value());
    // Refused within the first ~8 million of the 60 million opcodes (16 bytes each against
    // 64 MiB + 64 x 16 x the compressed size), not after building the whole stack.
    const pickle::Limits l;
    EXPECT_LT(*e.offset(), (l.alloc_base_bytes + 64 * 16 * file.size()) / 16 + 3);
    EXPECT_NE(std::string(e.what()).find("compressed bytes"), std::string::npos) << e.what();
  }
}

TEST(Amplification, StoredFloodIsBudgetedByItsOwnBytes) {
  // 8 MiB of NONE stored: the file holds every byte, 64 MiB + 64 x 8 MiB pays for 128 MiB.
  EXPECT_NO_THROW((void)load(std::span<const std::byte>(deflated_checkpoint('N', 8 << 20, false)),
                             LoadOptions{}));
  // The same deflated (~8 KB) justifies 64 MiB + 64 x 16 x 8 KB: 8 Mi NONE (128 MiB) exceed it.
  EXPECT_PTIO_ERROR(
      (void)load(std::span<const std::byte>(deflated_checkpoint('N', 8 << 20)), LoadOptions{}),
      ErrorCode::kPickleAllocationLimit);
}

TEST(Amplification, ScanReportsTheFloodAsSuspicious) {
  const auto file = deflated_checkpoint(']', kFlood);
  const io::MemoryReadAdapter in = io::MemoryReadAdapter::copy_of(test::string_of(file), "b.pt");
  const ScanReport r = scan(in);
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  bool found = false;
  for (const ScanFinding& f : r.findings)
    if (f.record == "archive/data.pkl" && f.severity == Verdict::kSuspicious &&
        f.message.find("allocation limit of") != std::string::npos &&
        f.message.find("(Limits::pickle.alloc_*") != std::string::npos) {
      found = true;
      // Stopped once the scan's budget (16 bytes per slot) ran out, not at the STOP.
      EXPECT_LT(f.offset, std::uint64_t{16} << 20);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace ptio
