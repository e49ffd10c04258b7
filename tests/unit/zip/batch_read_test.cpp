// ArchiveReader reads local headers in batches (ReadAdapter::read_many: io_uring for a file
// path): the records and the first error must be those of an entry-by-entry pass.
#include "ptio/zip/crc32.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

// `n` stored entries "a/<i>" holding i % 13 + 1 bytes each, with their real CRC-32s.
std::vector<HandEntry> many_entries(std::size_t n) {
  std::vector<HandEntry> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string data(i % 13 + 1, static_cast<char>('a' + i % 26));
    out.push_back(entry("a/" + std::to_string(i), data, crc32(0, data.data(), data.size())));
  }
  return out;
}

// Offset of entry k's local header in build_zip's layout (no leading bytes, no extra fields).
std::size_t local_offset(const std::vector<HandEntry>& es, std::size_t k) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < k; ++i) at += 30 + es[i].name.size() + es[i].data.size();
  return at;
}

// Offset of central entry k (the directory follows the last record).
std::size_t central_offset(const std::vector<HandEntry>& es, std::size_t k) {
  std::size_t at = local_offset(es, es.size());
  for (std::size_t i = 0; i < k; ++i) at += 46 + es[i].name.size();
  return at;
}

// The Error that opening `bytes` throws, from memory and from a file (the batched path).
std::pair<Error, Error> open_errors(const std::string& bytes, const ptio::test::TempDir& dir) {
  const auto path = dir / "bad.zip";
  ptio::test::write_file(path, bytes);
  std::optional<Error> from_mem, from_file;
  try {
    ArchiveReader r(mem(bytes, path.string()));
  } catch (const Error& e) {
    from_mem = e;
  }
  try {
    ArchiveReader r(path);
  } catch (const Error& e) {
    from_file = e;
  }
  EXPECT_TRUE(from_mem && from_file) << "opening did not fail";
  if (!from_mem || !from_file)
    return {Error(ErrorCode::kInternal, ""), Error(ErrorCode::kInternal, "")};
  return {*from_mem, *from_file};
}

}  // namespace

TEST(ZipBatchRead, ManyEntriesFromAPathMatchTheSameBytesInMemory) {
  const auto es = many_entries(300);
  const std::string z = build_zip(es);
  ptio::test::TempDir dir;
  ptio::test::write_file(dir / "many.zip", z);
  ArchiveReader from_file(dir / "many.zip");
  ArchiveReader from_mem(mem(z));
  ASSERT_EQ(from_file.records().size(), 300u);
  ASSERT_EQ(from_mem.records().size(), 300u);
  for (std::size_t i = 0; i < 300; ++i) {
    const RecordInfo& f = from_file.records()[i];
    EXPECT_EQ(f.name, std::to_string(i));
    EXPECT_EQ(f.local_header_offset, local_offset(es, i));
    EXPECT_EQ(f.data_offset, local_offset(es, i) + 30 + es[i].name.size());
    EXPECT_EQ(f.data_offset, from_mem.records()[i].data_offset);
    EXPECT_EQ(ptio::test::string_of(from_file.read(f.name)), es[i].data);
  }
}

TEST(ZipBatchRead, BadLocalHeaderAmongManyGivesTheSameErrorFromAFile) {
  auto es = many_entries(300);
  std::string z = build_zip(es);
  put16(z, local_offset(es, 200) + 8, 8);  // entry 200's local method: deflate
  ptio::test::TempDir dir;
  const auto [m, f] = open_errors(z, dir);
  EXPECT_EQ(m.code(), ErrorCode::kZipHeaderMismatch) << m.what();
  EXPECT_EQ(m.record(), "a/200") << m.what();
  EXPECT_EQ(m.offset(), std::optional<std::uint64_t>(local_offset(es, 200) + 8));
  EXPECT_STREQ(f.what(), m.what());
}

TEST(ZipBatchRead, LocalHeaderErrorBeforeALaterCentralErrorIsReportedFirst) {
  // Entry 10's local header is wrong and central entry 250 has a bad signature: an entry-by-entry
  // pass meets entry 10's local header first, although the batch parses entry 250 before it
  // reads entry 10's header.
  auto es = many_entries(300);
  std::string z = build_zip(es);
  put32(z, local_offset(es, 10) + 22, 99);  // local uncompressed size
  put32(z, central_offset(es, 250), 0x12345678);
  ptio::test::TempDir dir;
  const auto [m, f] = open_errors(z, dir);
  EXPECT_EQ(m.code(), ErrorCode::kZipHeaderMismatch) << m.what();
  EXPECT_EQ(m.record(), "a/10") << m.what();
  EXPECT_STREQ(f.what(), m.what());
  // With entry 10 fixed, the central error of entry 250 is the first.
  put32(z, local_offset(es, 10) + 22, static_cast<std::uint32_t>(es[10].data.size()));
  const auto [m2, f2] = open_errors(z, dir);
  EXPECT_EQ(m2.code(), ErrorCode::kZipBadCentralDirectory) << m2.what();
  EXPECT_EQ(m2.offset(), std::optional<std::uint64_t>(central_offset(es, 250)));
  EXPECT_STREQ(f2.what(), m2.what());
}

TEST(ZipBatchRead, LocalHeaderSignatureErrorLateInALargeBatch) {
  auto es = many_entries(5000);  // more than one batch of 4096
  std::string z = build_zip(es);
  put32(z, local_offset(es, 4500), 0);
  ptio::test::TempDir dir;
  const auto [m, f] = open_errors(z, dir);
  EXPECT_EQ(m.code(), ErrorCode::kZipBadLocalHeader) << m.what();
  EXPECT_EQ(m.record(), "a/4500") << m.what();
  EXPECT_STREQ(f.what(), m.what());
}

}  // namespace ptio::zip::test
