// ArchiveReader/ArchiveWriter name indexes and the one-read local header check over many records
// (the paths the 20,000-record benchmarks exercise), and their errors.
#include <cstring>

#include "ptio/zip/archive_writer.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

std::vector<HandEntry> many_entries(std::size_t n) {
  std::vector<HandEntry> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(entry("a/r" + std::to_string(i), "", 0));
  return v;
}

TEST(ZipIndex, FindRecordOverManyEntries) {
  const ArchiveReader r(mem(build_zip(many_entries(3000))));
  ASSERT_EQ(r.records().size(), 3000u);
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::string name = "r" + std::to_string(i);
    const RecordInfo* info = r.find_record(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(info, &r.records()[i]);
    EXPECT_EQ(info->full_name, "a/" + name);
    EXPECT_EQ(&r.record(name), info);
    EXPECT_TRUE(r.has_record(name));
  }
  EXPECT_EQ(r.find_record("r3000"), nullptr);
  EXPECT_EQ(r.find_record("a/r1"), nullptr);  // lookups are without the folder
  EXPECT_EQ(r.find_record(""), nullptr);
  EXPECT_FALSE(r.has_record("missing"));
  try {
    (void)r.record("missing");
    ADD_FAILURE() << "found a missing record";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kZipRecordNotFound);
    EXPECT_EQ(e.record(), "a/missing");  // named with the folder, as before
  }
  // A moved reader keeps a working index (it points into the moved record list).
  ArchiveReader moved(mem(build_zip(many_entries(40))));
  ArchiveReader m2(std::move(moved));
  EXPECT_EQ(m2.find_record("r39")->full_name, "a/r39");
}

TEST(ZipIndex, DuplicateAmongManyStrictRefusesLenientKeepsFirst) {
  auto entries = many_entries(2000);
  HandEntry dup = entry("a/r1234", "xyz", 0xeb8eba67);  // crc32("xyz")
  entries.push_back(dup);
  const std::string z = build_zip(entries);
  expect_located_error([&] { ArchiveReader r(mem(z)); }, ErrorCode::kZipDuplicateName, "bad.zip",
                       "a/r1234");
  const ArchiveReader r(mem(z), lenient());
  EXPECT_EQ(r.records().size(), 2001u);
  EXPECT_EQ(r.record("r1234").size, 0u);  // the first of the two
  EXPECT_EQ(&r.record("r1234"), &r.records()[1234]);
}

TEST(ZipIndex, LongLocalNameThatDiffersIsAMismatchInStrictModeOnly) {
  // Names over 256 bytes take the reader's heap path for the one-read local header check.
  const std::string base = "a/" + std::string(300, 'n');
  HandEntry e = entry(base + "1", "abc", 0x352441c2);
  e.local_name = base + "2";  // same length, last byte differs
  const std::string z = build_zip({entry("a/first", "", 0), e});
  try {
    ArchiveReader r(mem(z));
    ADD_FAILURE() << "opened";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kZipHeaderMismatch) << err.what();
    EXPECT_EQ(err.record(), base + "1");
    EXPECT_NE(std::string(err.what()).find("entry name differs"), std::string::npos) << err.what();
    // Offset: the local name, 30 bytes into the second local header (after "a/first"'s 37).
    EXPECT_EQ(err.offset(), std::optional<std::uint64_t>(37 + 30));
  }
  const ArchiveReader r(mem(z), lenient());  // the central directory wins, as in PyTorch
  EXPECT_EQ(r.read(r.record(std::string(300, 'n') + "1")).size(), 3u);
  // A local name of another length is a mismatch too (here the central name is longer than
  // what lies before the directory, so only the fixed header is read).
  HandEntry shorter = entry(base + "1", "abc", 0x352441c2);
  shorter.local_name = "a/x";
  expect_located_error([&] { ArchiveReader r2(mem(build_zip({shorter}))); },
                       ErrorCode::kZipHeaderMismatch, "bad.zip", base + "1");
  // Same long name locally and centrally: fine.
  const ArchiveReader ok(mem(build_zip({entry(base + "1", "abc", 0x352441c2)})));
  EXPECT_EQ(ok.read(std::string(300, 'n') + "1").size(), 3u);
}

TEST(ZipIndex, WriterHasRecordAndDuplicatesOverManyRecords) {
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  for (int i = 0; i < 5000; ++i) w.write_record("data/" + std::to_string(i), "x", 1);
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(w.has_record("data/" + std::to_string(i))) << i;
  EXPECT_FALSE(w.has_record("data/5000"));
  EXPECT_FALSE(w.has_record("archive/data/1"));
  EXPECT_EQ(w.record_names().size(), 5000u);
  EXPECT_EQ(w.record_names()[4321], "data/4321");
  EXPECT_PTIO_ERROR(w.write_record("data/4999", "y", 1), ErrorCode::kZipDuplicateName);
  io::MemoryWriter mw2;
  ArchiveWriter w2(mw2, "archive");
  for (int i = 0; i < 5000; ++i) w2.write_record("data/" + std::to_string(i), "x", 1);
  w2.write_record("version", "3\n", 2);
  w2.finalize();
  // Read back: every record is found under its name with its data.
  const std::vector<std::byte>& b = mw2.bytes();
  const ArchiveReader r(std::make_shared<io::MemoryReadAdapter>(b));
  EXPECT_EQ(r.records().size(), 5001u);
  EXPECT_EQ(r.read("data/4999").size(), 1u);
  EXPECT_EQ(r.record("version").data_offset % 64, 0u);
}

TEST(ZipIndex, KeepDamagedRecordsListsThemAndThrowsOnRead) {
  // Entry 2's local header says 5 bytes where the central directory says 3; entry 3's offset
  // points at the central directory (no room for a local header). Without keep_damaged_records
  // the open fails at entry 2.
  HandEntry bad_offset = entry("a/three", "", 0);
  bad_offset.central_offset = 38 + 38 + 37;  // the three local headers end there
  std::string z =
      build_zip({entry("a/one", "abc", 0x352441c2), entry("a/two", "xyz", 0xeb8eba67), bad_offset});
  ASSERT_EQ(z.compare(113, 4, "PK\x01\x02"), 0);
  z[38 + 22] = 5;  // entry 2's local uncompressed size
  expect_located_error([&] { ArchiveReader r(mem(z), lenient()); }, ErrorCode::kZipHeaderMismatch,
                       "bad.zip", "a/two");
  for (const bool strict : {true, false}) {
    ReaderOptions o = strict ? ReaderOptions{} : lenient();
    o.keep_damaged_records = true;
    const ArchiveReader r(mem(z), o);
    ASSERT_EQ(r.records().size(), 3u);
    EXPECT_EQ(r.records()[0].damage, nullptr);
    EXPECT_EQ(r.read("one").size(), 3u);  // a sound neighbour reads
    ASSERT_NE(r.records()[1].damage, nullptr);
    EXPECT_EQ(r.records()[1].damage->code(), ErrorCode::kZipHeaderMismatch);
    EXPECT_NE(std::string(r.records()[1].damage->what())
                  .find("uncompressed size 5 in the local header, expected 3 as in the central "
                        "directory"),
              std::string::npos)
        << r.records()[1].damage->what();
    EXPECT_EQ(r.records()[1].data_offset, 0u);
    ASSERT_NE(r.records()[2].damage, nullptr);
    EXPECT_EQ(r.records()[2].damage->code(), ErrorCode::kZipBadLocalHeader);
    EXPECT_EQ(r.records()[2].damage->record(), "a/three");
    EXPECT_FALSE(r.can_view(r.records()[1]));
    expect_located_error([&] { (void)r.read("two"); }, ErrorCode::kZipHeaderMismatch, "bad.zip",
                         "a/two");
    expect_located_error([&] { (void)r.view(r.records()[1]); }, ErrorCode::kZipHeaderMismatch,
                         "bad.zip", "a/two");
    expect_located_error([&] { (void)r.compute_crc32(r.records()[2]); },
                         ErrorCode::kZipBadLocalHeader, "bad.zip", "a/three");
  }
}

}  // namespace
}  // namespace ptio::zip::test
