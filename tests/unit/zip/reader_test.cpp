// ArchiveReader on real PyTorch 1.13.1 and Python zipfile archives; expected values are zipfile's.
#include <sstream>

#include "ptio/zip/archive_reader.h"
#include "ptio/zip/crc32.h"
#include "zip_test_util.h"

namespace ptio::zip::test {
namespace {

std::string str(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

struct Expected {
  const char* name;
  std::uint64_t size, compressed_size, data_offset;
  std::uint32_t crc;
  std::uint16_t method;
};

// From Python's zipfile on tests/data/zip/zip1.pt (spec-torch-save 2.9's worked example).
const Expected kZip1[] = {{"data.pkl", 290, 290, 64, 0x1d2709e6, 0},
                          {"data/0", 24, 24, 448, 0x91e79017, 0},
                          {"data/1", 8, 8, 576, 0x2dc2d10d, 0},
                          {"version", 2, 2, 704, 0x55679ed1, 0}};

void expect_listing(const ArchiveReader& r, const Expected* e, std::size_t n) {
  ASSERT_EQ(r.records().size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const RecordInfo& info = r.records()[i];
    EXPECT_EQ(info.name, e[i].name);
    EXPECT_EQ(info.size, e[i].size) << e[i].name;
    EXPECT_EQ(info.compressed_size, e[i].compressed_size) << e[i].name;
    EXPECT_EQ(info.data_offset, e[i].data_offset) << e[i].name;
    EXPECT_EQ(info.crc32, e[i].crc) << e[i].name;
    EXPECT_EQ(info.method, e[i].method) << e[i].name;
    EXPECT_TRUE(info.crc_recorded);
  }
}

TEST(ZipReader, WorkedExampleListing) {
  ArchiveReader r(mem(fixture("zip1.pt"), "zip1.pt"));
  EXPECT_EQ(r.prefix(), "zip1");
  EXPECT_EQ(r.archive_start(), 0u);
  expect_listing(r, kZip1, 4);
  EXPECT_EQ(r.records()[1].full_name, "zip1/data/0");
  EXPECT_EQ(r.records()[1].local_header_offset, 0x172u);
  EXPECT_EQ(r.records()[3].local_header_offset, 0x258u);
  EXPECT_EQ(r.record_names(),
            (std::vector<std::string>{"data.pkl", "data/0", "data/1", "version"}));
  EXPECT_TRUE(r.has_record("version"));
  EXPECT_FALSE(r.has_record("zip1/version"));
  EXPECT_FALSE(r.has_record("data"));
  EXPECT_EQ(r.data_offset("data/1"), 0x240u);
}

TEST(ZipReader, WorkedExampleData) {
  ArchiveReader r(mem(fixture("zip1.pt"), "zip1.pt"));
  EXPECT_EQ(str(r.read("version")), "3\n");
  // data/0 holds float32 0..5 little-endian; data/1 int64 5.
  const float floats[6] = {0, 1, 2, 3, 4, 5};
  EXPECT_EQ(str(r.read("data/0")), std::string(reinterpret_cast<const char*>(floats), 24));
  EXPECT_EQ(str(r.read("data/1")), std::string("\x05\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(str(r.read("data.pkl")).substr(0, 12), std::string("\x80\x02}q\0(X\x01\0\0\0a", 12));
  const auto pkl = r.read("data.pkl");
  EXPECT_EQ(crc32(0, pkl.data(), pkl.size()), 0x1d2709e6u);
}

// crc_hex: 8 lower-case hex digits with leading zeros, as `unzip -v` prints a CRC-32.
TEST(ZipReader, CrcHexIsEightLowerCaseDigits) {
  EXPECT_EQ(crc_hex(0x1d2709e6u), "1d2709e6");
  EXPECT_EQ(crc_hex(0xEB8EBA67u), "eb8eba67");
  EXPECT_EQ(crc_hex(0x5u), "00000005");
  EXPECT_EQ(crc_hex(0u), "00000000");
  EXPECT_EQ(crc_hex(0xffffffffu), "ffffffff");
}

TEST(ZipReader, ZeroCopyViewPointsIntoTheSource) {
  const std::string bytes = fixture("zip1.pt");
  auto in = mem(bytes, "zip1.pt");
  ArchiveReader r(in);
  ASSERT_TRUE(r.can_view("data/0"));
  io::ByteView v = r.view("data/0");
  const io::ByteView whole = in->view(0, bytes.size());
  EXPECT_EQ(v.data(), whole.data() + 448);  // no copy: the record's bytes in the source
  EXPECT_EQ(v.size(), 24u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % 64,
            reinterpret_cast<std::uintptr_t>(whole.data()) % 64);
}

TEST(ZipReader, MappedFileViewOutlivesReader) {
  ptio::test::TempDir dir;
  ptio::test::write_file(dir / "zip1.pt", fixture("zip1.pt"));
  io::ByteView v;
  {
    ArchiveReader r(dir / "zip1.pt");
    v = r.view("version");
    EXPECT_EQ(r.file_name(), (dir / "zip1.pt").string());
  }
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.data()), v.size()), "3\n");
  // mmap is page-aligned, so a 64-aligned data offset gives a 64-aligned pointer.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % 64, 0u);
}

TEST(ZipReader, IstreamAdapterViewCopies) {
  std::istringstream ss(fixture("zip1.pt"));
  auto in = std::make_shared<io::IStreamReadAdapter>(ss, "stream");
  ArchiveReader r(in);
  EXPECT_FALSE(r.can_view("data/0"));
  EXPECT_EQ(r.view("version").size(), 2u);
  EXPECT_EQ(str(r.read("version")), "3\n");
}

TEST(ZipReader, ChunksAndRanges) {
  ArchiveReader r(mem(fixture("zip1.pt"), "zip1.pt"));
  std::string got;
  int calls = 0;
  r.read_chunks(
      "data.pkl",
      [&](std::span<const std::byte> s) {
        got.append(reinterpret_cast<const char*>(s.data()), s.size());
        ++calls;
      },
      100);
  EXPECT_EQ(calls, 3);  // 290 bytes in pieces of 100
  EXPECT_EQ(got, str(r.read("data.pkl")));
  char buf[4];
  r.read_at("data/0", 4, buf, 4);  // float 1.0f
  EXPECT_EQ(std::string(buf, 4), std::string("\0\0\x80\x3f", 4));
  EXPECT_PTIO_ERROR(r.read_at("data/0", 22, buf, 4), ErrorCode::kIoOutOfBounds);
  EXPECT_PTIO_ERROR(r.read("nope"), ErrorCode::kZipRecordNotFound);
}

// From zipfile on tests/data/zip/script.pt (torch.jit.save, deflated code records).
TEST(ZipReader, TorchScriptDeflatedRecords) {
  ArchiveReader r(mem(fixture("script.pt"), "script.pt"));
  EXPECT_EQ(r.prefix(), "script");
  const Expected e[] = {
      {"data/0", 48, 48, 64, 0xdf5e1241, 0},
      {"data/1", 16, 16, 192, 0x3f911de, 0},
      {"data.pkl", 353, 353, 320, 0x6f6ba97e, 0},
      {"code/__torch__/_m.py", 384, 231, 768, 0x39a7643d, 8},
      {"code/__torch__/_m.py.debug_pkl", 532, 339, 1088, 0x5bb3b3de, 8},
      {"code/__torch__/torch/nn/modules/linear.py", 415, 240, 1536, 0x523dec9c, 8},
      {"code/__torch__/torch/nn/modules/linear.py.debug_pkl", 333, 266, 1920, 0x256cb8e9, 8},
      {"constants.pkl", 4, 4, 2304, 0x57092f6d, 0},
      {"version", 2, 2, 2432, 0x55679ed1, 0}};
  expect_listing(r, e, 9);
  for (const RecordInfo& info : r.records()) {
    const auto data = r.read(info.name);  // CRC-checked
    EXPECT_EQ(data.size(), info.size);
    EXPECT_EQ(r.compute_crc32(info), info.crc32);
  }
  const std::string code = str(r.read("code/__torch__/torch/nn/modules/linear.py"));
  EXPECT_EQ(code.rfind("class Linear(Module):", 0), 0u) << code.substr(0, 40);
  EXPECT_FALSE(r.can_view("code/__torch__/_m.py"));
  EXPECT_EQ(r.view("code/__torch__/_m.py").size(), 384u);  // inflated copy
}

TEST(ZipReader, PythonZipfileZip64AndDeflate) {
  ArchiveReader r(mem(fixture("pyzip64.zip"), "pyzip64.zip"));
  const Expected e[] = {{"a.txt", 240, 240, 59, 0x4431eec5, 0},
                        {"b.bin", 256, 261, 338, 0x29058c73, 8}};
  expect_listing(r, e, 2);
  std::string want;
  for (int i = 0; i < 20; ++i) want += "hello zip64 ";
  EXPECT_EQ(str(r.read("a.txt")), want);
  const auto b = r.read("b.bin");
  for (int i = 0; i < 256; ++i) EXPECT_EQ(std::to_integer<int>(b[i]), i);
}

TEST(ZipReader, LeadingBytesStrictRefusesLenientShifts) {
  const std::string bytes = std::string(100, '#') + fixture("zip1.pt");
  expect_located_error([&] { ArchiveReader r(mem(bytes)); }, ErrorCode::kZipLeadingBytes,
                       "bad.zip");
  ArchiveReader r(mem(bytes), lenient());
  EXPECT_EQ(r.archive_start(), 100u);
  EXPECT_EQ(r.prefix(), "zip1");
  EXPECT_EQ(r.data_offset("data/0"), 548u);
  EXPECT_EQ(str(r.read("version")), "3\n");
  EXPECT_EQ(r.read("data.pkl").size(), 290u);
}

TEST(ZipReader, LenientListsEntriesWithoutFolder) {
  const std::string z = build_zip({entry("data.pkl", "abc", 0x352441c2),  // crc32(b"abc")
                                   entry("x/y", "", 0)});
  EXPECT_PTIO_ERROR(ArchiveReader(mem(z)), ErrorCode::kZipNoPrefix);
  ArchiveReader r(mem(z), lenient());
  EXPECT_EQ(r.prefix(), "");
  EXPECT_EQ(str(r.read("data.pkl")), "abc");
  EXPECT_TRUE(r.has_record("x/y"));
  // Entries outside the folder of entry 0: PyTorch's getAllRecords error; lenient lists all.
  const std::string z2 =
      build_zip({entry("a/data.pkl", "abc", 0x352441c2), entry("other/x", "", 0)});
  EXPECT_PTIO_ERROR(ArchiveReader(mem(z2)), ErrorCode::kZipNoPrefix);
  ArchiveReader r2(mem(z2), lenient());
  EXPECT_EQ(r2.prefix(), "");
  EXPECT_TRUE(r2.has_record("a/data.pkl"));
}

TEST(ZipReader, DirectoryEntryFirstIsFine) {
  const std::string z =
      build_zip({entry("base/", "", 0), entry("base/version", "3\n", 0x55679ed1)});
  ArchiveReader r(mem(z));
  EXPECT_EQ(r.prefix(), "base");
  EXPECT_EQ(r.record_names(), std::vector<std::string>{"version"});
  EXPECT_EQ(str(r.read("version")), "3\n");
}

// Patches the CRC of zip1/data/0 in its data descriptor (0x1D8 + 4) and central header.
std::string zip1_with_data0_crc(std::uint32_t crc) {
  std::string z = fixture("zip1.pt");
  EXPECT_EQ(get(z, 0x1D8, 4), 0x08074b50u);
  put32(z, 0x1D8 + 4, crc);
  // Central header of entry 1 starts after entry 0's (46 + 13 bytes) at 0x2D2.
  const std::size_t cd1 = 0x2D2 + 46 + 13;
  EXPECT_EQ(get(z, cd1, 4), 0x02014b50u);
  put32(z, cd1 + 16, crc);
  return z;
}

TEST(ZipReader, CrcNotComputedByWriterIsNotCorruption) {
  ArchiveReader r(mem(zip1_with_data0_crc(0)));
  const RecordInfo& info = r.record("data/0");
  EXPECT_FALSE(info.crc_recorded);
  EXPECT_EQ(info.crc32, 0u);
  EXPECT_EQ(r.read("data/0").size(), 24u);  // no kZipCrcMismatch
  EXPECT_EQ(r.compute_crc32(info), 0x91e79017u);
  EXPECT_TRUE(r.record("data/1").crc_recorded);
}

TEST(ZipReader, WrongCrcIsMismatchUnlessVerificationIsOff) {
  const std::string z = zip1_with_data0_crc(0x12345678);
  ArchiveReader r(mem(z));
  expect_located_error([&] { r.read("data/0"); }, ErrorCode::kZipCrcMismatch, "bad.zip",
                       "zip1/data/0");
  expect_located_error([&] { r.read_chunks("data/0", [](auto) {}); }, ErrorCode::kZipCrcMismatch,
                       "bad.zip", "zip1/data/0");
  ReaderOptions o;
  o.verify_crc = false;
  ArchiveReader r2(mem(z), o);
  EXPECT_EQ(r2.read("data/0").size(), 24u);
}

}  // namespace
}  // namespace ptio::zip::test
