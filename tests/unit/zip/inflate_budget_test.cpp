// The per-archive inflate budget (zip::Limits::max_inflated_total): many deflated records that
// each pass the per-record bounds must not add up to unbounded memory for one ArchiveReader.
#include <limits>

#include "ptio/zip/archive_writer.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

// An archive (in memory) holding `count` deflated records "r0".."r<count-1>", each `data`, and a
// stored record "s".
std::string many_deflated(const std::string& data, int count) {
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  for (int i = 0; i < count; ++i)
    w.write_record("r" + std::to_string(i), data.data(), data.size(), /*compress=*/true);
  w.write_record("s", "abc", 3);
  w.finalize();
  const auto& b = mw.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::uint64_t compressed_total(const ArchiveReader& r) {
  std::uint64_t sum = 0;
  for (const RecordInfo& i : r.records())
    if (i.method == 8) sum += i.compressed_size;
  return sum;
}

TEST(ZipInflateBudget, DefaultIsTheRatioTimesTheCompressedBytesWithAFloor) {
  const std::string z = many_deflated(std::string(1u << 20, '\0'), 4);
  ArchiveReader r(mem(z));
  // 4 MiB of zeros deflate to a few KiB: 100x that is far below the floor.
  EXPECT_EQ(r.inflate_budget(), Limits::kInflateTotalFloor);
  EXPECT_EQ(Limits::kInflateTotalFloor, std::uint64_t{1} << 30);
  ReaderOptions tight;
  tight.max_inflate_ratio = 3;
  tight.max_inflated_size = 1;  // per-record bound does not enter the archive's budget
  EXPECT_EQ(ArchiveReader(mem(z), tight).inflate_budget(), Limits::kInflateTotalFloor);
  // The ratio part: an incompressible archive of 12 MiB compressed bytes at 100x is above 1 GiB.
  std::string noise(3u << 20, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (char& c : noise) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  ArchiveReader big(mem(many_deflated(noise, 4)));
  ASSERT_GT(compressed_total(big) * 100, Limits::kInflateTotalFloor);
  EXPECT_EQ(big.inflate_budget(), compressed_total(big) * 100);
  // Ratio check off (the CLI's --max-inflated-bytes): the derived budget is off too.
  ReaderOptions trust;
  trust.max_inflate_ratio = 0;
  EXPECT_EQ(ArchiveReader(mem(z), trust).inflate_budget(),
            std::numeric_limits<std::uint64_t>::max());
  // An explicit budget is taken as given.
  ReaderOptions given;
  given.max_inflated_total = 12345;
  given.max_inflate_ratio = 0;
  EXPECT_EQ(ArchiveReader(mem(z), given).inflate_budget(), 12345u);
}

TEST(ZipInflateBudget, ManyRecordsUnderThePerRecordBoundsAreRefusedPastTheBudget) {
  // 10 records of 1 MiB zeros (~1000:1, under every per-record bound), budget 3.5 MiB.
  const std::string data(1u << 20, '\0');
  const std::string z = many_deflated(data, 10);
  ReaderOptions opt;
  opt.max_inflated_total = (7u << 20) / 2;
  ArchiveReader r(mem(z), opt);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.read("r" + std::to_string(i)).size(), data.size());
  EXPECT_EQ(r.inflated_total(), 3u << 20);
  // Reading a record again, or viewing it, costs nothing more.
  EXPECT_EQ(r.read("r1").size(), data.size());
  EXPECT_EQ(r.view("r2").size(), data.size());
  EXPECT_EQ(r.inflated_total(), 3u << 20);
  // Streaming reads hold constant memory: not charged, and still allowed past the budget.
  for (int i = 3; i < 10; ++i) {
    const RecordInfo& info = r.record("r" + std::to_string(i));
    EXPECT_EQ(r.compute_crc32(info), info.crc32);
    std::uint64_t n = 0;
    r.read_chunks(info.name, [&](std::span<const std::byte> p) { n += p.size(); });
    EXPECT_EQ(n, data.size());
  }
  EXPECT_EQ(r.inflated_total(), 3u << 20);
  // Stored records are never charged.
  EXPECT_EQ(r.read("s").size(), 3u);
  // Half a MiB of r3 fits (prefix reads are charged what they inflate), the whole of r3 does not.
  EXPECT_EQ(r.read_prefix(r.record("r3"), 1u << 19).size(), 1u << 19);
  EXPECT_EQ(r.inflated_total(), (7u << 20) / 2);
  const RecordInfo& r3 = r.record("r3");
  try {
    (void)r.read("r3");
    ADD_FAILURE() << "the fourth MiB was inflated past a 3.5 MiB budget";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_EQ(e.file(), "bad.zip");
    EXPECT_EQ(e.record(), "archive/r3");
    EXPECT_EQ(e.offset(), r3.data_offset);
    const std::string m = e.what();
    EXPECT_NE(m.find("would inflate 524288 more bytes into memory after 3670016 bytes"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("budget is 3670016 bytes (Limits::zip.max_inflated_total)"), std::string::npos)
        << m;
  }
  // The other in-memory paths are refused the same way, before anything is inflated.
  std::vector<std::byte> buf(data.size());
  expect_located_error([&] { r.read_into(r.record("r4"), buf); }, ErrorCode::kLimitExceeded,
                       "bad.zip", "archive/r4");
  expect_located_error([&] { (void)r.view("r5"); }, ErrorCode::kLimitExceeded, "bad.zip",
                       "archive/r5");
  expect_located_error([&] { (void)r.read_prefix(r.record("r6"), 1); }, ErrorCode::kLimitExceeded,
                       "bad.zip", "archive/r6");
  EXPECT_EQ(r.inflated_total(), (7u << 20) / 2);
  // Each reader has its own budget.
  ArchiveReader fresh(mem(z), opt);
  EXPECT_EQ(fresh.read("r9").size(), data.size());
}

TEST(ZipInflateBudget, DefaultBudgetRefusesSeventeenRecordsOf64MiBZeros) {
  // Each record: 64 MiB of zeros (~1000:1), exactly at the per-record ratio floor, so each one
  // alone passes the defaults; 17 of them (a ~1 MB file) ask 1088 MiB, past the 1 GiB floor.
  const std::string data(std::size_t{64} << 20, '\0');
  // Deflate once, then repeat the stream in 17 hand-built entries (deflating 1 GiB is slow).
  const std::string one = many_deflated(data, 1);
  const RecordInfo r0 = ArchiveReader(mem(one)).record("r0");
  const std::string stream = one.substr(r0.data_offset, r0.compressed_size);
  std::vector<HandEntry> entries;
  for (int i = 0; i < 17; ++i) {
    HandEntry e = entry("archive/r" + std::to_string(i), stream, r0.crc32, /*method=*/8);
    e.central_size = data.size();
    entries.push_back(std::move(e));
  }
  const std::string z = build_zip(entries);
  ASSERT_LT(z.size(), std::size_t{2} << 20);
  ReaderOptions defaults;
  defaults.verify_crc = false;  // only to save time; the bounds are the defaults
  ArchiveReader r(mem(z), defaults);
  EXPECT_EQ(r.inflate_budget(), std::uint64_t{1} << 30);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(r.read("r" + std::to_string(i)).size(), data.size());
  try {
    (void)r.read("r16");
    ADD_FAILURE() << "17 x 64 MiB inflated with the default budget";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_EQ(e.record(), "archive/r16");
    const std::string m = e.what();
    EXPECT_NE(m.find("budget is 1073741824 bytes (Limits::zip.max_inflated_total: 100x the "
                     "compressed bytes of its deflated records, at least 1 GiB)"),
              std::string::npos)
        << m;
  }
  // The CLI's opt-in (ratio check off) lifts the derived budget.
  ReaderOptions trust;
  trust.max_inflate_ratio = 0;
  ArchiveReader t(mem(z), trust);
  EXPECT_EQ(t.inflate_budget(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(t.read("r16").size(), data.size());
}

TEST(ZipInflateBudget, PyTorchWrittenTorchScriptArchiveReadsWholeWithTheDefaults) {
  // torch.jit.save output of PyTorch 1.13.1: code and debug records deflated.
  ArchiveReader r(mem(fixture("script.pt"), "script.pt"));
  std::uint64_t deflated = 0;
  for (const RecordInfo& info : r.records()) {
    EXPECT_EQ(r.read(info).size(), info.size) << info.name;
    if (info.method == 8) deflated += info.size;
  }
  EXPECT_EQ(deflated, 384u + 532u + 415u + 333u);
  EXPECT_EQ(r.inflated_total(), deflated);
  EXPECT_EQ(r.inflate_budget(), Limits::kInflateTotalFloor);
}

}  // namespace
}  // namespace ptio::zip::test
