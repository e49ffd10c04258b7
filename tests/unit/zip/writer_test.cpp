// ArchiveWriter: byte identity with PyTorch 1.13.1's writer, padding, zip64 layout, errors.
#include "ptio/zip/archive_writer.h"
#include "ptio/zip/crc32.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

std::string str(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string write(const std::vector<std::pair<std::string, std::string>>& recs,
                  const std::string& prefix = "archive", WriterOptions opt = {}) {
  io::MemoryWriter mw;
  ArchiveWriter w(mw, prefix, opt);
  for (const auto& [n, d] : recs) w.write_record(n, d.data(), d.size());
  w.finalize();
  EXPECT_TRUE(mw.committed());
  return str(mw.bytes());
}

TEST(ZipWriter, ReproducesPyTorchWorkedExampleByteForByte) {
  const std::string real = fixture("zip1.pt");  // written by torch.save in PyTorch 1.13.1
  ArchiveReader r(mem(real, "zip1.pt"));
  std::vector<std::pair<std::string, std::string>> recs;
  for (const RecordInfo& info : r.records()) recs.emplace_back(info.name, str(r.read(info.name)));
  const std::string ours = write(recs, "zip1");
  ASSERT_EQ(ours.size(), 1051u);
  EXPECT_TRUE(ours == real);
  // Spec 2.9's table: FB block of data.pkl pads 17 bytes; end records at 0x3B9, 0x3F1, 0x405.
  EXPECT_EQ(ours.substr(0x2B, 4), std::string("\x46\x42\x11\x00", 4));
  EXPECT_EQ(get(ours, 0x3B9, 4), 0x06064b50u);
  EXPECT_EQ(get(ours, 0x3F1, 4), 0x07064b50u);
  EXPECT_EQ(get(ours, 0x405, 4), 0x06054b50u);
}

// spec 2.4 formula, evaluated here independently of the writer.
std::uint64_t expected_data_offset(std::uint64_t cursor, std::size_t full_name_len,
                                   std::uint64_t size, std::uint64_t align) {
  std::uint64_t start = cursor + 30 + full_name_len + 4;
  if (size >= 0xFFFFFFFFu || cursor >= 0xFFFFFFFFu) {
    start += 4;
    if (size >= 0xFFFFFFFFu) start += 16;
    if (cursor >= 0xFFFFFFFFu) start += 8;
  }
  return (start + align - 1) / align * align;
}

TEST(ZipWriter, PaddingFormulaForManyNameLengthsAndAlignments) {
  for (std::uint32_t align : {1u, 64u, 4096u}) {
    std::vector<std::pair<std::string, std::string>> recs;
    for (int i = 0; i < 70; ++i)
      recs.emplace_back(std::string(1 + i, 'n'), std::string(i % 7, 'd'));
    WriterOptions opt;
    opt.alignment = align;
    const std::string z = write(recs, "p", opt);
    ArchiveReader r(mem(z), lenient());
    std::uint64_t cursor = 0;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      const RecordInfo& info = r.records()[i];
      ASSERT_EQ(info.local_header_offset, cursor);
      const std::uint64_t want =
          expected_data_offset(cursor, 2 + recs[i].first.size(), recs[i].second.size(), align);
      EXPECT_EQ(info.data_offset, want) << "align " << align << " record " << i;
      EXPECT_EQ(info.data_offset % align, 0u);
      EXPECT_EQ(str(r.read(recs[i].first)), recs[i].second);
      cursor = want + recs[i].second.size() + (recs[i].second.empty() ? 0 : 16);
    }
  }
}

TEST(ZipWriter, EmptyRecordHasFlags0800AndNoDescriptor) {
  const std::string z = write({{"e", ""}, {"f", "x"}}, "a");
  EXPECT_EQ(get(z, 6, 2), 0x0800u);
  // Data of "a/e" at 64, nothing after it: the next local header starts right there.
  EXPECT_EQ(get(z, 64, 4), 0x04034b50u);
  EXPECT_EQ(get(z, 64 + 6, 2), 0x0808u);
  EXPECT_EQ(get(z, 128, 1), static_cast<std::uint64_t>('x'));
  EXPECT_EQ(get(z, 129, 4), 0x08074b50u);
  EXPECT_EQ(get(z, 129 + 4, 4), 0x8cdc1683u);  // zlib.crc32(b"x")
}

TEST(ZipWriter, DeterministicAndStreamingEqualsWholeRecord) {
  std::string big(300000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + (i >> 11));
  const std::string a = write({{"data.pkl", "pickle"}, {"data/0", big}});
  EXPECT_EQ(a, write({{"data.pkl", "pickle"}, {"data/0", big}}));
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  w.write_record("data.pkl", "pickle", 6);
  w.begin_record("data/0", big.size());
  for (std::size_t i = 0; i < big.size(); i += 65536)
    w.append(big.data() + i, std::min<std::size_t>(65536, big.size() - i));
  w.end_record();
  EXPECT_EQ(w.record_names(), (std::vector<std::string>{"data.pkl", "data/0"}));
  EXPECT_TRUE(w.has_record("data/0"));
  EXPECT_FALSE(w.has_record("version"));
  w.finalize();
  EXPECT_TRUE(str(mw.bytes()) == a);
}

// Pinned records (write_stable: gathered by writev in a FileWriter) with CRC-32s from the
// prefetch thread, from the caller, or computed inline give write_record's bytes, also when the
// queue falls out of step (a queued range written unpinned: the rest are computed inline); a
// writer dropped before finalize() stops and joins the thread and commits nothing.
TEST(ZipWriter, PinnedRecordsAndPrefetchedCrcsGiveTheSameBytes) {
  std::vector<std::string> blobs;
  for (int i = 0; i < 40; ++i) {  // 40 x 300 KiB: above the 8 MiB prefetch threshold
    std::string b(300000 + i, '\0');
    for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<char>(j * (i + 3) + (j >> 9));
    blobs.push_back(std::move(b));
  }
  std::vector<std::pair<std::string, std::string>> recs{{"data.pkl", "pickle"}};
  for (std::size_t i = 0; i < blobs.size(); ++i) recs.emplace_back("data/" + std::to_string(i), blobs[i]);
  const std::string want = write(recs);
  auto span_of = [](const std::string& b) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(b.data()), b.size());
  };
  for (int variant = 0; variant < 3; ++variant) {
    ::ptio::test::TempDir dir;
    {
      io::FileWriter fw(dir / "p.zip");
      ArchiveWriter w(fw, "archive");
      std::vector<std::span<const std::byte>> ranges;
      for (std::size_t i = 0; i < blobs.size(); ++i)
        if (i != 5) ranges.push_back(span_of(blobs[i]));
      if (variant != 2) w.prefetch_crc32(ranges);
      w.write_record("data.pkl", "pickle", 6);
      for (std::size_t i = 0; i < blobs.size(); ++i) {
        const std::string name = "data/" + std::to_string(i);
        if (i == 5)  // known CRC-32, not queued
          w.write_pinned_record(name, span_of(blobs[i]), crc32(0, blobs[i].data(), blobs[i].size()));
        else if (variant == 1 && i == 9)  // queued but written unpinned: the queue is out of step
          w.write_record(name, blobs[i].data(), blobs[i].size());
        else
          w.write_pinned_record(name, span_of(blobs[i]));
      }
      w.finalize();
    }
    EXPECT_TRUE(::ptio::test::read_text(dir / "p.zip") == want) << "variant " << variant;
  }
  io::MemoryWriter mw;
  {
    ArchiveWriter w(mw, "archive");
    std::vector<std::span<const std::byte>> ranges;
    for (const auto& b : blobs) ranges.push_back(span_of(b));
    w.prefetch_crc32(ranges);
    w.write_pinned_record("data/0", ranges[0]);
  }  // no finalize(): the thread is stopped and joined here
  EXPECT_FALSE(mw.committed());
}

TEST(ZipWriter, CompressedRecordsInflateBack) {
  std::string code;
  for (int i = 0; i < 50; ++i) code += "def forward(self, x):\n    return x\n";
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  w.write_record("code/m.py", code.data(), code.size(), true);
  w.write_record("tiny", "abc", 3, true);  // miniz stores 3 bytes or fewer
  w.finalize();
  const std::string z = str(mw.bytes());
  ArchiveReader r(mem(z));
  const RecordInfo& c = r.record("code/m.py");
  EXPECT_EQ(c.method, 8);
  EXPECT_LT(c.compressed_size, c.size);
  EXPECT_EQ(get(z, 4, 2), 20u);  // version needed 20 for deflate, as miniz writes
  EXPECT_EQ(str(r.read("code/m.py")), code);
  EXPECT_EQ(r.record("tiny").method, 0);
  EXPECT_EQ(c.data_offset % 64, 0u);
}

TEST(ZipWriter, CrcOffWritesZeroCrc) {
  WriterOptions opt;
  opt.compute_crc32 = false;
  const std::string z = write({{"data/0", "abcdef"}}, "archive", opt);
  ArchiveReader r(mem(z));
  EXPECT_FALSE(r.record("data/0").crc_recorded);
  EXPECT_EQ(get(z, 64 + 6 + 4, 4), 0u);  // descriptor CRC
  EXPECT_EQ(str(r.read("data/0")), "abcdef");
}

TEST(ZipWriter, RefusesBadNamesDuplicatesAndMisuse) {
  io::MemoryWriter mw;
  ArchiveWriter w(mw, "archive");
  w.write_record("a", "1", 1);
  EXPECT_PTIO_ERROR(w.write_record("a", "1", 1), ErrorCode::kZipDuplicateName);
  EXPECT_PTIO_ERROR(w.write_record("", "1", 1), ErrorCode::kZipBadName);
  EXPECT_PTIO_ERROR(w.write_record("../x", "1", 1), ErrorCode::kZipUnsafeName);
  EXPECT_PTIO_ERROR(w.write_record("/abs", "1", 1), ErrorCode::kZipUnsafeName);
  EXPECT_PTIO_ERROR(w.write_record("a\\b", "1", 1), ErrorCode::kZipUnsafeName);
  EXPECT_PTIO_ERROR(w.append("x", 1), ErrorCode::kZipWriterState);
  w.begin_record("s", 2);
  EXPECT_PTIO_ERROR(w.write_record("b", "1", 1), ErrorCode::kZipWriterState);
  EXPECT_PTIO_ERROR(w.append("xyz", 3), ErrorCode::kZipSizeMismatch);
  EXPECT_PTIO_ERROR(w.finalize(), ErrorCode::kZipWriterState);
  EXPECT_FALSE(mw.committed());
  io::MemoryWriter mw2;
  ArchiveWriter w2(mw2, "archive");
  w2.begin_record("s", 2);
  w2.append("x", 1);
  EXPECT_PTIO_ERROR(w2.end_record(), ErrorCode::kZipSizeMismatch);
  io::MemoryWriter mw3;
  ArchiveWriter w3(mw3, "archive");
  w3.finalize();
  EXPECT_PTIO_ERROR(w3.write_record("late", "1", 1), ErrorCode::kZipWriterState);
  EXPECT_PTIO_ERROR(ArchiveWriter(mw3, "a/b"), ErrorCode::kZipBadName);
}

TEST(ZipWriter, ArchiveNameForPath) {
  // Observed with torch.save in PyTorch 1.13.1 (spec 2.1).
  EXPECT_EQ(archive_name_for_path("a.b.c.pt"), "a.b.c");
  EXPECT_EQ(archive_name_for_path("noext"), "noext");
  EXPECT_EQ(archive_name_for_path("x.tar.gz"), "x.tar");
  EXPECT_EQ(archive_name_for_path("dir.x/model.pth"), "model");
  EXPECT_EQ(archive_name_for_path("C:\\dir.x\\m.pt"), "m");
  EXPECT_EQ(archive_name_for_path(""), "archive");
  EXPECT_PTIO_ERROR(archive_name_for_path(".hidden"), ErrorCode::kZipBadName);
  EXPECT_PTIO_ERROR(archive_name_for_path("dir.x/"), ErrorCode::kZipBadName);
}

// A 4 294 967 396-byte record (spec 2.4's observed case) and a small record after it, written
// through a writer that keeps only the headers.
TEST(ZipWriter, Zip64LayoutPast4GiB) {
  const std::uint64_t big = 4294967396ull;  // 0x1'0000'0064
  CaptureWriter cw;
  WriterOptions opt;
  opt.compute_crc32 = false;  // keep the test fast; CRC of 4 GiB is not the point here
  ArchiveWriter w(cw, "a", opt);
  w.begin_record("big", big);
  std::vector<char> zeros(std::size_t{64} << 20, 0);
  for (std::uint64_t done = 0; done < big;) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), big - done));
    w.append(zeros.data(), n);
    done += n;
  }
  w.end_record();
  w.write_record("small", "xyz", 3);
  w.finalize();
  const std::uint64_t total = cw.position();
  // Local header of a/big: extra = zip64 block (usz, csz = 0) + FB; 30+5+24 = 59 -> pad 5 -> 64.
  const std::string lh = cw.at(0, 64);
  EXPECT_EQ(get(lh, 28, 2), 20u + 4 + 5);
  EXPECT_EQ(lh.substr(35, 20),
            std::string("\x01\x00\x10\x00\x64\x00\x00\x00\x01\x00\x00\x00\0\0\0\0\0\0\0\0", 20));
  EXPECT_EQ(lh.substr(55, 4), std::string("\x46\x42\x05\x00", 4));
  // 24-byte descriptor with u64 sizes.
  const std::uint64_t desc = 64 + big;
  const std::string d = cw.at(desc, 24);
  EXPECT_EQ(get(d, 0, 4), 0x08074b50u);
  EXPECT_EQ(get(d, 8, 8), big);
  EXPECT_EQ(get(d, 16, 8), big);
  // a/small at 0x1'0000'00BC >= 4 GiB: zip64 block with only the local header offset.
  const std::uint64_t small = desc + 24;
  const std::string s = cw.at(small, 128);
  EXPECT_EQ(get(s, 0, 4), 0x04034b50u);
  EXPECT_EQ(get(s, 30 + 7, 4), 0x00080001u);
  EXPECT_EQ(get(s, 30 + 7 + 4, 8), small);
  const std::uint64_t small_data = expected_data_offset(small, 7, 3, 64);
  EXPECT_EQ(cw.at(small_data, 3), "xyz");
  EXPECT_EQ(get(cw.at(small_data + 3, 24), 16, 8), 3u);  // descriptor u64 sizes (offset >= 4 GiB)
  // Read everything back through a sparse adapter (zeros where data was discarded).
  auto in = std::make_shared<io::CallbackReadAdapter>(
      total,
      [&](std::uint64_t pos, void* buf, std::size_t n) {
        const std::string b = cw.at(pos, n);
        std::memcpy(buf, b.data(), n);
        return n;
      },
      "sparse");
  ArchiveReader r(in);
  ASSERT_EQ(r.records().size(), 2u);
  EXPECT_EQ(r.record("big").size, big);
  EXPECT_EQ(r.record("big").data_offset, 64u);
  EXPECT_EQ(r.record("small").local_header_offset, small);
  EXPECT_EQ(r.record("small").data_offset, small_data);
  EXPECT_EQ(str(r.read("small")), "xyz");
  EXPECT_EQ(r.record("small").crc32, 0u);
  // Classic EOCD: counts 2, CD offset 0xFFFFFFFF; zip64 EOCD carries the real one.
  const std::string e = cw.at(total - 22, 22);
  EXPECT_EQ(get(e, 10, 2), 2u);
  EXPECT_EQ(get(e, 16, 4), 0xFFFFFFFFu);
}

}  // namespace
}  // namespace ptio::zip::test
