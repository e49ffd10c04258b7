// Deflated records under zip::Limits: the compression-ratio check, prefix reads that inflate only
// what is asked, and streaming CRC checks / chunked reads in constant memory.
#include "ptio/zip/archive_writer.h"
#include "ptio/zip/crc32.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

// An archive (in memory) with `data` deflated as record "d" and a stored record "s".
std::string deflated_archive(const std::string& data) {
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  w.write_record("d", data.data(), data.size(), /*compress=*/true);
  w.write_record("s", "abc", 3);
  w.finalize();
  const auto& b = mw.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7) % 251);
  return s;
}

TEST(ZipInflateBounds, RatioCheckRefusesZerosAboveTheFloorOnly) {
  // 80 MiB of zeros deflate to ~80 KiB: 1000:1, above 64 MiB.
  const std::string zeros(80u << 20, '\0');
  const std::string z = deflated_archive(zeros);
  ArchiveReader r(mem(z));
  const RecordInfo& d = r.record("d");
  ASSERT_EQ(d.method, 8);
  ASSERT_LT(d.compressed_size * 100, d.size);
  try {
    (void)r.read("d");
    ADD_FAILURE() << "read of a 1000:1 record above 64 MiB succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_EQ(e.record(), "archive/d");
    const std::string m = e.what();
    EXPECT_NE(m.find("would inflate to 83886080 bytes from " + std::to_string(d.compressed_size) +
                     " compressed bytes"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("allowed " + std::to_string(std::max<std::uint64_t>(
                                      d.compressed_size * 100, std::uint64_t{64} << 20)) +
                     " bytes (Limits::zip.max_inflate_ratio 100x"),
              std::string::npos)
        << m;
  }
  // Ratio check off (0): read whole and right.
  ReaderOptions off;
  off.max_inflate_ratio = 0;
  EXPECT_TRUE(ArchiveReader(mem(z), off).read("d") == std::vector<std::byte>(zeros.size()));
  // A ratio above the record's passes too; max_inflated_size still applies.
  ReaderOptions loose;
  loose.max_inflate_ratio = 2000;
  EXPECT_EQ(ArchiveReader(mem(z), loose).read("d").size(), zeros.size());
  loose.max_inflated_size = (80u << 20) - 1;
  EXPECT_THROW((void)ArchiveReader(mem(z), loose).read("d"), Error);
  // Up to 64 MiB no ratio check: 1 MiB of zeros (1000:1) is read with the defaults.
  const std::string small(1u << 20, '\0');
  EXPECT_EQ(ArchiveReader(mem(deflated_archive(small))).read("d").size(), small.size());
}

TEST(ZipInflateBounds, PrefixInflatesOnlyWhatIsAsked) {
  const std::string data = pattern(3u << 20);
  const std::string z = deflated_archive(data);
  ArchiveReader r(mem(z));
  const RecordInfo& d = r.record("d");
  for (std::uint64_t n : {0ull, 1ull, 1000ull, 300000ull, (3ull << 20) - 1, 3ull << 20}) {
    const auto got = r.read_prefix(d, n);
    ASSERT_EQ(got.size(), n);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(got.data()), n), data.substr(0, n));
  }
  EXPECT_THROW((void)r.read_prefix(d, (3ull << 20) + 1), Error);
  // Stored records too.
  const auto s = r.read_prefix(r.record("s"), 2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data()), 2), "ab");
  // 16 bytes of an 80 MiB 1000:1 record: within every bound (only 16 bytes are inflated).
  const std::string zz = deflated_archive(std::string(80u << 20, '\0'));
  ArchiveReader rz(mem(zz));
  EXPECT_TRUE(rz.read_prefix(rz.record("d"), 16) == std::vector<std::byte>(16));
  // ...while 70 MiB of it are above the ratio check.
  try {
    (void)rz.read_prefix(rz.record("d"), 70u << 20);
    ADD_FAILURE() << "70 MiB prefix of a 1000:1 record was inflated";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("would inflate to 73400320 bytes"), std::string::npos);
  }
}

TEST(ZipInflateBounds, StreamingCrcAndChunksInConstantMemory) {
  // 80 MiB of zeros at 1000:1: streaming holds one chunk, but the bounds still limit the work.
  const std::string zeros(80u << 20, '\0');
  const std::string z = deflated_archive(zeros);
  ArchiveReader bounded(mem(z));
  expect_located_error([&] { (void)bounded.compute_crc32(bounded.record("d")); },
                       ErrorCode::kLimitExceeded, "bad.zip", "archive/d");
  expect_located_error([&] { bounded.read_chunks("d", [](std::span<const std::byte>) {}); },
                       ErrorCode::kLimitExceeded, "bad.zip", "archive/d");
  ReaderOptions opt_in;
  opt_in.max_inflate_ratio = 0;
  ArchiveReader r(mem(z), opt_in);
  const RecordInfo& d = r.record("d");
  EXPECT_EQ(r.compute_crc32(d), crc32(0, zeros.data(), zeros.size()));
  std::uint64_t total = 0;
  std::size_t largest = 0;
  bool all_zero = true;
  r.read_chunks("d", [&](std::span<const std::byte> piece) {
    total += piece.size();
    largest = std::max(largest, piece.size());
    for (std::byte b : piece) all_zero = all_zero && b == std::byte{0};
  }, 1u << 16);
  EXPECT_EQ(total, zeros.size());
  EXPECT_LE(largest, 1u << 16);
  EXPECT_TRUE(all_zero);

  // Streamed reads check the stream against the declared size and the CRC.
  const std::string data = pattern(1u << 20);
  std::string bad = deflated_archive(data);
  ArchiveReader rb0(mem(bad));
  const RecordInfo& bd = rb0.record("d");
  // Declared size one byte short / long (central directory and local header).
  for (const std::int64_t delta : {-1, 1}) {
    std::string s = bad;
    const auto v = static_cast<std::uint32_t>(static_cast<std::int64_t>(bd.size) + delta);
    if (get(s, bd.local_header_offset + 22, 4) == bd.size) put32(s, bd.local_header_offset + 22, v);
    const std::size_t cd = s.find(std::string("PK\x01\x02", 4));  // central entry of "d"
    ASSERT_NE(cd, std::string::npos);
    put32(s, cd + 24, v);
    ArchiveReader rb(mem(s));
    expect_located_error([&] { (void)rb.compute_crc32(rb.record("d")); },
                         ErrorCode::kZipSizeMismatch, "bad.zip", "archive/d");
    expect_located_error([&] { rb.read_chunks("d", [](std::span<const std::byte>) {}); },
                         ErrorCode::kZipSizeMismatch, "bad.zip", "archive/d");
  }
  // A corrupt stream.
  std::string corrupt = bad;
  for (std::size_t i = 0; i < 64; ++i) corrupt[bd.data_offset + 100 + i] = '\xff';
  ArchiveReader rc(mem(corrupt));
  try {  // garbage inflates to an error, a wrong size, or other bytes (then the CRC differs)
    rc.read_chunks("d", [](std::span<const std::byte>) {});
    ADD_FAILURE() << "a corrupted deflate stream passed";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::kZipInflateFailed ||
                e.code() == ErrorCode::kZipSizeMismatch || e.code() == ErrorCode::kZipCrcMismatch)
        << e.what();
  }
}

}  // namespace
}  // namespace ptio::zip::test
