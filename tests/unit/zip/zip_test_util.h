// Helpers for the zip unit tests: fixtures, a hand-built zip builder, and capture/sparse I/O.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/io/cursor.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/zip/archive_reader.h"
#include "test_support.h"

namespace ptio::zip::test {

/// Bytes of a fixture in tests/data/zip (made by make_fixtures.py with PyTorch 1.13.1).
inline std::string fixture(const std::string& name) {
  return ptio::test::read_text(ptio::test::source_dir() / "tests/data/zip" / name);
}

inline std::shared_ptr<const io::ReadAdapter> mem(const std::string& bytes,
                                                  std::string name = "bad.zip") {
  return std::make_shared<io::MemoryReadAdapter>(io::MemoryReadAdapter::copy_of(bytes, name));
}

inline ReaderOptions lenient() {
  ReaderOptions o;
  o.strict = false;
  return o;
}

inline void put16(std::string& s, std::size_t at, std::uint16_t v) {
  s[at] = static_cast<char>(v & 0xff);
  s[at + 1] = static_cast<char>(v >> 8);
}
inline void put32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void put64(std::string& s, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint64_t get(const std::string& s, std::size_t at, int width) {
  std::uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

/// A hand-built classic zip (no descriptors, no zip64) whose fields can be falsified.
struct HandEntry {
  std::string name;
  std::string data;  // bytes as stored in the file
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;                      // written to local header and central directory
  std::optional<std::uint64_t> central_size;  // uncompressed size in the central directory
  std::optional<std::string> local_name;
  std::optional<std::uint32_t> central_offset;  // override of the local header offset
};

/// A HandEntry with the given name, stored bytes and CRC-32.
inline HandEntry entry(std::string name, std::string data, std::uint32_t crc,
                       std::uint16_t method = 0, std::uint16_t flags = 0) {
  HandEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.crc = crc;
  e.method = method;
  e.flags = flags;
  return e;
}

inline std::string build_zip(const std::vector<HandEntry>& entries, std::string leading = {},
                             bool make_offsets_absolute = false) {
  std::string out = leading;
  std::vector<std::uint64_t> offsets;
  auto le = [](std::string& s, std::uint64_t v, int w) { io::append_le(s, v, w); };
  for (const HandEntry& e : entries) {
    offsets.push_back(out.size() - (make_offsets_absolute ? 0 : leading.size()));
    const std::string& ln = e.local_name ? *e.local_name : e.name;
    le(out, 0x04034b50, 4);
    le(out, 20, 2);
    le(out, e.flags, 2);
    le(out, e.method, 2);
    le(out, 0, 4);
    le(out, e.crc, 4);
    le(out, e.data.size(), 4);
    le(out, e.central_size ? *e.central_size : e.data.size(), 4);
    le(out, ln.size(), 2);
    le(out, 0, 2);
    out += ln;
    out += e.data;
  }
  const std::uint64_t cd = out.size() - (make_offsets_absolute ? 0 : leading.size());
  std::string c;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const HandEntry& e = entries[i];
    le(c, 0x02014b50, 4);
    le(c, 20, 2);
    le(c, 20, 2);
    le(c, e.flags, 2);
    le(c, e.method, 2);
    le(c, 0, 4);
    le(c, e.crc, 4);
    le(c, e.data.size(), 4);
    le(c, e.central_size ? *e.central_size : e.data.size(), 4);
    le(c, e.name.size(), 2);
    le(c, 0, 2);
    le(c, 0, 2);
    le(c, 0, 2);
    le(c, 0, 2);
    le(c, 0, 4);
    le(c, e.central_offset ? *e.central_offset : offsets[i], 4);
    c += e.name;
  }
  out += c;
  le(out, 0x06054b50, 4);
  le(out, 0, 4);
  le(out, entries.size(), 2);
  le(out, entries.size(), 2);
  le(out, c.size(), 4);
  le(out, cd, 4);
  le(out, 0, 2);
  return out;
}

/// An io::Writer that keeps only writes of at most `keep` bytes (headers), with their positions,
/// and discards bulk data: lets a unit test write a > 4 GiB archive without disk or memory.
class CaptureWriter final : public io::Writer {
 public:
  explicit CaptureWriter(std::size_t keep = 1 << 16) : keep_(keep) {}
  std::map<std::uint64_t, std::string> pieces;
  /// The kept bytes at [pos, pos+n), zeros where nothing was kept.
  std::string at(std::uint64_t pos, std::size_t n) const {
    std::string s(n, '\0');
    for (const auto& [p, b] : pieces) {
      const std::uint64_t lo = std::max(p, pos), hi = std::min(p + b.size(), pos + n);
      if (lo < hi) std::memcpy(s.data() + (lo - pos), b.data() + (lo - p), hi - lo);
    }
    return s;
  }

 private:
  void do_write(const void* data, std::size_t n) override {
    if (n <= keep_) pieces[pos_] = std::string(static_cast<const char*>(data), n);
    pos_ += n;
  }
  std::size_t keep_;
  std::uint64_t pos_ = 0;
};

/// Expects `fn` to throw ptio::Error `code` naming file `file`, an offset, and (when `record` is
/// non-empty) that record.
inline void expect_located_error(const std::function<void()>& fn, ErrorCode code,
                                 const std::string& file, const std::string& record = {}) {
  try {
    fn();
    ADD_FAILURE() << "expected " << error_code_name(code) << ", nothing thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "got " << error_code_name(e.code()) << ": " << e.what();
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_TRUE(e.offset().has_value()) << e.what();
    if (!record.empty()) {
      EXPECT_EQ(e.record(), record) << e.what();
    }
  }
}

}  // namespace ptio::zip::test
