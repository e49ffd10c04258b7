// ArchiveWriter: miniz-identical local headers, FB padding, descriptors, central directory, zip64.
#include "ptio/zip/archive_writer.h"

#include <libdeflate.h>

#include <cstring>
#include <memory>

#include "ptio/error.h"
#include "ptio/io/cursor.h"
#include "zip/crc32_prefetch.h"
#include "zip/zip_format.h"

namespace ptio::zip {

using ptio::detail::concat;
using namespace ptio::zip::detail;

std::string archive_name_for_path(std::string_view path) {
  if (path.empty()) return "archive";
  // PyTorchStreamWriter: basename after the last '/' or '\', then strip the last extension.
  const std::size_t sep = path.find_last_of("/\\");
  std::string_view base = sep == std::string_view::npos ? path : path.substr(sep + 1);
  const std::size_t dot = base.rfind('.');
  if (dot != std::string_view::npos) base = base.substr(0, dot);
  PTIO_CHECK(!base.empty(), ErrorCode::kZipBadName, "invalid file name: ", path);
  return std::string(base);
}

namespace {

// Appends fields little-endian to a byte vector that the caller sized: `at` walks from the first
// byte to fill (spec 2.4 / 2.5 tables). Sizes are computed first, so there is one resize per run
// of fields and no per-byte growth checks.
struct Put {
  std::byte* at;
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) *at++ = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
  }
  void u16(std::uint64_t v) { le(v, 2); }
  void u32(std::uint64_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void str(std::string_view s) {
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
  void fill(std::byte b, std::size_t n) {
    if (n) std::memset(at, static_cast<int>(b), n);
    at += n;
  }
};

// Grows `b` by `n` bytes and returns a Put at the first new byte.
Put grow(std::vector<std::byte>& b, std::size_t n) {
  const std::size_t old = b.size();
  b.resize(old + n);
  return Put{b.data() + old};
}

std::uint32_t min32(std::uint64_t v) {
  return v >= kU32Max ? kU32Max : static_cast<std::uint32_t>(v);
}

}  // namespace

ArchiveWriter::ArchiveWriter(io::Writer& out, std::string archive_name, WriterOptions options)
    : out_(out), archive_name_(std::move(archive_name)), options_(options), base_(out.position()) {
  PTIO_CHECK(options_.alignment >= 1 && options_.alignment <= 32768, ErrorCode::kIoInvalidArgument,
             "WriterOptions::alignment must be 1..32768, got ", options_.alignment);
  PTIO_CHECK(options_.compression_level >= 0 && options_.compression_level <= 12,
             ErrorCode::kIoInvalidArgument, "WriterOptions::compression_level must be 0..12");
  if (options_.top_level) return;
  PTIO_CHECK(!archive_name_.empty() && archive_name_.find('/') == std::string::npos,
             ErrorCode::kZipBadName, "archive name must be non-empty and contain no '/': '",
             archive_name_, "'");
  if (const char* why = unsafe_name_reason(archive_name_))
    throw Error(ErrorCode::kZipUnsafeName, concat("archive name '", archive_name_, "' ", why));
}

ArchiveWriter::~ArchiveWriter() = default;

std::uint64_t ArchiveWriter::archive_size() const noexcept {
  return out_.position() - base_;
}

bool ArchiveWriter::has_record(std::string_view name) const {
  if (name_index_.empty()) return false;
  const std::size_t mask = name_index_.size() - 1;
  for (std::size_t slot = std::hash<std::string_view>{}(name) & mask; name_index_[slot] != 0;
       slot = (slot + 1) & mask)
    if (names_[name_index_[slot] - 1] == name) return true;
  return false;
}

void ArchiveWriter::add_name(std::string_view name) {
  names_.emplace_back(name);
  // Open addressing over names_ (index + 1; 0 = empty), at most half full.
  if (2 * names_.size() > name_index_.size()) {
    std::size_t cap = 64;
    while (cap < 4 * names_.size()) cap *= 2;
    std::vector<std::uint32_t> bigger(cap, 0);
    const std::size_t mask = bigger.size() - 1;
    for (std::size_t i = 0; i < names_.size(); ++i) {
      std::size_t slot = std::hash<std::string_view>{}(names_[i]) & mask;
      while (bigger[slot] != 0) slot = (slot + 1) & mask;
      bigger[slot] = static_cast<std::uint32_t>(i + 1);
    }
    name_index_ = std::move(bigger);
    return;
  }
  const std::size_t mask = name_index_.size() - 1;
  std::size_t slot = std::hash<std::string_view>{}(names_.back()) & mask;
  while (name_index_[slot] != 0) slot = (slot + 1) & mask;
  name_index_[slot] = static_cast<std::uint32_t>(names_.size());
}

void ArchiveWriter::check_open(std::string_view what) const {
  PTIO_CHECK(!failed_, ErrorCode::kZipWriterState, what, ": an earlier write failed");
  PTIO_CHECK(!finalized_, ErrorCode::kZipWriterState, what, " after finalize()");
  PTIO_CHECK(!streaming_, ErrorCode::kZipWriterState, what, " while record '",
             stream_entry_.full_name, "' is open (call end_record() first)");
}

std::string ArchiveWriter::check_name(std::string_view name) const {
  PTIO_CHECK(!name.empty(), ErrorCode::kZipBadName, "record name is empty");
  if (const char* why = unsafe_name_reason(name))
    throw Error(ErrorCode::kZipUnsafeName, concat("unsafe record name: it ", why), {},
                std::string(name));
  PTIO_CHECK(!has_record(name), ErrorCode::kZipDuplicateName,
             "Tried to serialize file twice: ", name);
  std::string full =
      options_.top_level ? std::string(name) : archive_name_ + "/" + std::string(name);
  PTIO_CHECK(full.size() <= 0xFFFF, ErrorCode::kZipBadName, "record name of ", full.size(),
             " bytes is longer than a zip name can be (65535)");
  return full;
}

// Local header + extra fields exactly as miniz writes them for PyTorch (spec 2.4): zip64 block
// first when size or offset >= 0xFFFFFFFF, then the FB block padding the data to the alignment.
void ArchiveWriter::write_local_header(const std::string& full_name, std::uint16_t method,
                                       std::uint64_t size) {
  const std::uint64_t cursor = archive_size();
  const bool big_size = size >= kU32Max, big_offset = cursor >= kU32Max;
  std::uint64_t start = cursor + kLocalHeaderSize + full_name.size() + 4;
  std::uint16_t zip64_len = 0;
  if (big_size || big_offset)
    zip64_len = static_cast<std::uint16_t>(4 + (big_size ? 16 : 0) + (big_offset ? 8 : 0));
  start += zip64_len;
  const std::uint64_t a = options_.alignment;
  const std::uint64_t padding = (a - start % a) % a;
  const std::size_t total = kLocalHeaderSize + full_name.size() + zip64_len + 4 + padding;
  header_.clear();
  Put h = grow(header_, total);
  h.u32(kLocalHeaderSig);
  h.u16(method ? 20 : 0);  // version needed (miniz: 20 when deflated)
  h.u16(size == 0 ? kFlagUtf8 : kFlagUtf8 | kFlagDataDescriptor);
  h.u16(method);
  h.u16(0);  // time
  h.u16(0);  // date
  h.u32(0);  // CRC-32, in the descriptor
  h.u32(0);  // compressed size
  h.u32(0);  // uncompressed size
  h.u16(full_name.size());
  h.u16(zip64_len + 4 + padding);
  h.str(full_name);
  if (zip64_len) {
    h.u16(kZip64ExtraId);
    h.u16(zip64_len - 4u);
    if (big_size) {
      h.u64(size);
      h.u64(0);  // miniz writes the compressed size as 0 here
    }
    if (big_offset) h.u64(cursor);
  }
  h.u16(kPaddingExtraId);
  h.u16(padding);
  h.fill(std::byte{'Z'}, static_cast<std::size_t>(padding));
  out_.write(header_);
}

void ArchiveWriter::write_descriptor(const Entry& e) {
  if (e.size == 0) return;  // flags 0x0800: no descriptor for an empty record
  std::byte d[24];
  Put p{d};
  p.u32(kDataDescriptorSig);
  p.u32(e.crc32);
  if (e.size >= kU32Max || e.local_header_offset >= kU32Max) {
    p.u64(e.compressed_size);
    p.u64(e.size);
  } else {
    p.u32(e.compressed_size);
    p.u32(e.size);
  }
  out_.write(d, static_cast<std::size_t>(p.at - d));
}

void ArchiveWriter::write_record(std::string_view name, const void* data, std::size_t size,
                                 bool compress) {
  write_record_impl(name, data, size, compress, nullptr);
}

void ArchiveWriter::write_stored_record(std::string_view name, std::span<const std::byte> data,
                                        std::uint32_t crc32) {
  write_record_impl(name, data.data(), data.size(), false, &crc32);
}

void ArchiveWriter::write_pinned_record(std::string_view name, std::span<const std::byte> data,
                                        std::optional<std::uint32_t> crc32) {
  const bool from_prefetch = !crc32 && prefetch_ && options_.compute_crc32;
  write_record_impl(name, data.data(), data.size(), false, crc32 ? &*crc32 : nullptr, true,
                    from_prefetch);
}

void ArchiveWriter::prefetch_crc32(std::vector<std::span<const std::byte>> ranges) {
  prefetch_.reset();
  std::uint64_t total = 0;
  for (const auto& r : ranges) total += r.size();
  // Below this a thread costs more than it saves: the CRC-32s are computed inline.
  constexpr std::uint64_t kMinBytes = std::uint64_t{8} << 20;
  if (!options_.compute_crc32 || total < kMinBytes) return;
  prefetch_ = std::make_unique<detail::Crc32Prefetch>(std::move(ranges));
}

void ArchiveWriter::write_record_impl(std::string_view name, const void* data, std::size_t size,
                                      bool compress, const std::uint32_t* known_crc32,
                                      bool pinned, bool crc32_from_prefetch) {
  check_open("write_record");
  std::string full = check_name(name);
  PTIO_CHECK(data != nullptr || size == 0, ErrorCode::kIoInvalidArgument,
             "write_record: null data with size ", size);
  try {
    Entry e{std::move(full), archive_size(), size, size, 0, 0, 0};
    const auto* bytes = static_cast<const std::byte*>(data);
    // A stored record's CRC-32 goes in its data descriptor, after the data: one the prefetch
    // thread computes is waited for only once the data is queued, so the file's writing of a
    // large record overlaps its checksum instead of following it.
    const bool crc32_later = crc32_from_prefetch && !compress && size > 0;
    if (options_.compute_crc32 && size && !crc32_later)
      e.crc32 = known_crc32 ? *known_crc32 : libdeflate_crc32(0, bytes, size);
    std::vector<std::byte> packed;
    // miniz stores records of 3 bytes or fewer even when asked to compress.
    if (compress && size > 3) {
      struct Free {
        void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
      };
      std::unique_ptr<libdeflate_compressor, Free> c(
          libdeflate_alloc_compressor(options_.compression_level));
      PTIO_CHECK(c != nullptr, ErrorCode::kInternal, "libdeflate_alloc_compressor failed");
      packed.resize(libdeflate_deflate_compress_bound(c.get(), size));
      const std::size_t n =
          libdeflate_deflate_compress(c.get(), bytes, size, packed.data(), packed.size());
      PTIO_CHECK(n != 0, ErrorCode::kInternal, "libdeflate_deflate_compress failed");
      packed.resize(n);
      e.method = 8;
      e.compressed_size = n;
    }
    e.flags = size == 0 ? kFlagUtf8 : kFlagUtf8 | kFlagDataDescriptor;
    write_local_header(e.full_name, e.method, size);
    if (e.method == 8)
      out_.write(packed);
    else if (size && pinned)
      out_.write_stable(bytes, size);
    else if (size)
      out_.write(bytes, size);
    if (crc32_later) {
      const std::optional<std::uint32_t> c = prefetch_->take({bytes, size});
      e.crc32 = c ? *c : libdeflate_crc32(0, bytes, size);
    }
    write_descriptor(e);
    add_name(name);
    entries_.push_back(std::move(e));
  } catch (...) {
    failed_ = true;
    throw;
  }
}

void ArchiveWriter::begin_record(std::string_view name, std::uint64_t total_size) {
  check_open("begin_record");
  std::string full = check_name(name);
  try {
    stream_entry_ = Entry{
        std::move(full),
        archive_size(),
        total_size,
        total_size,
        0,
        0,
        static_cast<std::uint16_t>(total_size == 0 ? kFlagUtf8 : kFlagUtf8 | kFlagDataDescriptor)};
    write_local_header(stream_entry_.full_name, 0, total_size);
  } catch (...) {
    failed_ = true;
    throw;
  }
  add_name(name);
  streaming_ = true;
  stream_written_ = 0;
}

void ArchiveWriter::append(const void* data, std::size_t n) {
  PTIO_CHECK(streaming_ && !failed_, ErrorCode::kZipWriterState,
             "append() without an open record (call begin_record() first)");
  if (n > stream_entry_.size - stream_written_) {
    failed_ = true;
    throw Error(ErrorCode::kZipSizeMismatch,
                concat("append of ", n, " bytes takes the record past its announced ",
                       stream_entry_.size, " bytes (", stream_written_, " written)"),
                {}, stream_entry_.full_name);
  }
  if (n == 0) return;
  PTIO_CHECK(data != nullptr, ErrorCode::kIoInvalidArgument, "append: null data");
  try {
    if (options_.compute_crc32)
      stream_entry_.crc32 = libdeflate_crc32(stream_entry_.crc32, data, n);
    out_.write(data, n);
    stream_written_ += n;
  } catch (...) {
    failed_ = true;
    throw;
  }
}

void ArchiveWriter::end_record() {
  PTIO_CHECK(streaming_ && !failed_, ErrorCode::kZipWriterState,
             "end_record() without an open record");
  if (stream_written_ != stream_entry_.size) {
    failed_ = true;
    throw Error(ErrorCode::kZipSizeMismatch,
                concat("record announced ", stream_entry_.size, " bytes but got ", stream_written_),
                {}, stream_entry_.full_name);
  }
  try {
    write_descriptor(stream_entry_);
  } catch (...) {
    failed_ = true;
    throw;
  }
  entries_.push_back(std::move(stream_entry_));
  stream_entry_ = Entry{};
  streaming_ = false;
}

void ArchiveWriter::finalize() {
  if (finalized_) return;
  check_open("finalize");
  prefetch_.reset();
  try {
    const std::uint64_t cd_offset = archive_size();
    std::vector<std::byte>& c = header_;
    c.clear();
    for (const Entry& e : entries_) {
      // Central header (spec 2.5): made by 0, zero attributes, zip64 extra only when needed.
      const bool zu = e.size >= kU32Max, zc = e.compressed_size >= kU32Max,
                 zo = e.local_header_offset >= kU32Max;
      const std::uint16_t extra =
          (zu || zc || zo) ? static_cast<std::uint16_t>(4 + 8 * (zu + zc + zo)) : 0;
      Put p = grow(c, kCentralHeaderSize + e.full_name.size() + extra);
      p.u32(kCentralHeaderSig);
      p.u16(0);                  // version made by
      p.u16(e.method ? 20 : 0);  // version needed
      p.u16(e.flags);
      p.u16(e.method);
      p.u16(0);
      p.u16(0);
      p.u32(e.crc32);
      p.u32(min32(e.compressed_size));
      p.u32(min32(e.size));
      p.u16(e.full_name.size());
      p.u16(extra);
      p.u16(0);  // comment
      p.u16(0);  // disk
      p.u16(0);  // internal attributes
      p.u32(0);  // external attributes
      p.u32(min32(e.local_header_offset));
      p.str(e.full_name);
      if (extra) {
        p.u16(kZip64ExtraId);
        p.u16(extra - 4u);
        if (zu) p.u64(e.size);
        if (zc) p.u64(e.compressed_size);
        if (zo) p.u64(e.local_header_offset);
      }
      if (c.size() >= (std::size_t{1} << 20)) {
        out_.write(c);
        c.clear();
      }
    }
    out_.write(c);
    const std::uint64_t cd_size = archive_size() - cd_offset;
    const std::uint64_t n = entries_.size();
    const std::uint64_t z64_offset = archive_size();
    std::byte tail[kZip64EocdSize + kZip64LocatorSize + kEocdSize];
    Put t{tail};
    // ZIP64 end of central directory record (miniz: made by 0x031E, needed 45).
    t.u32(kZip64EocdSig);
    t.u64(kZip64EocdSize - 12);
    t.u16(0x031E);
    t.u16(45);
    t.u32(0);
    t.u32(0);
    t.u64(n);
    t.u64(n);
    t.u64(cd_size);
    t.u64(cd_offset);
    // ZIP64 locator.
    t.u32(kZip64LocatorSig);
    t.u32(0);
    t.u64(z64_offset);
    t.u32(1);
    // Classic end record.
    t.u32(kEocdSig);
    t.u16(0);
    t.u16(0);
    t.u16(n >= 0xFFFF ? 0xFFFF : n);
    t.u16(n >= 0xFFFF ? 0xFFFF : n);
    t.u32(min32(cd_size));
    t.u32(min32(cd_offset));
    t.u16(0);
    out_.write(tail, sizeof tail);
    out_.commit();
  } catch (...) {
    failed_ = true;
    throw;
  }
  finalized_ = true;
}

}  // namespace ptio::zip
