// ArchiveReader: end records, central directory, local header cross-check and the prefix rule.
#include "ptio/zip/archive_reader.h"

#include <algorithm>
#include <cstring>

#include "ptio/error.h"
#include "ptio/io/cursor.h"
#include "ptio/io/magic.h"
#include "ptio/zip/crc32.h"
#include "zip/zip_format.h"

namespace ptio::zip {

using ptio::detail::concat;
using ptio::detail::hex;
using namespace ptio::zip::detail;

std::string compression_method_name(std::uint16_t method) {
  if (method == 0) return "stored";
  if (method == 8) return "deflated";
  return concat("method ", method);
}

namespace {

// Reads bytes of the directory area through the adapter: a view when it has one, else a copy.
struct Bytes {
  io::ByteView view;
  std::vector<std::byte> copy;
  std::span<const std::byte> span() const { return copy.empty() ? view.span() : copy; }
};

Bytes fetch(const io::ReadAdapter& in, std::uint64_t pos, std::size_t n) {
  Bytes b;
  if (in.supports_view()) b.view = in.view(pos, n);
  if (b.view.size() != n) b.copy = in.read_vector(pos, n);
  return b;
}

std::uint16_t le16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap16(v);
  return v;
}

std::uint32_t le32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// "50 4b 03 04": `n` bytes in hex, for an error saying what was found instead of a signature.
std::string hex_bytes(const std::byte* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = std::to_integer<unsigned>(p[i]);
    if (i) s += ' ';
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

}  // namespace

ArchiveReader::ArchiveReader(std::shared_ptr<const io::ReadAdapter> in, ReaderOptions options)
    : in_(std::move(in)), options_(options) {
  PTIO_CHECK(in_ != nullptr, ErrorCode::kIoInvalidArgument, "ArchiveReader: null ReadAdapter");
  open();
}

ArchiveReader::ArchiveReader(const std::filesystem::path& path, ReaderOptions options)
    : ArchiveReader(std::make_shared<io::MmapReadAdapter>(path), options) {}

void ArchiveReader::open() {
  const io::ReadAdapter& in = *in_;
  const std::string& file = in.name();
  auto fail = [&](ErrorCode code, std::optional<std::uint64_t> at, std::string msg,
                  std::string record = {}) -> void {
    throw Error(code, std::move(msg), file, std::move(record), at);
  };
  const std::uint64_t size = in.size();

  // ---- what is this file? (spec 2.6 step 1; magic sniffing for plain-language errors) -------
  if (size == 0)
    fail(ErrorCode::kZipEmptyFile, 0, "the file is empty (0 bytes), not a zip archive");
  const std::size_t head_n = static_cast<std::size_t>(std::min<std::uint64_t>(size, 512));
  Bytes head = fetch(in, 0, head_n);
  const io::FileMagic magic = io::identify_magic(head.span(), size);
  auto advice = [&] { return std::string(io::file_magic_advice(magic)); };
  if (magic == io::FileMagic::kGitLfsPointer)
    fail(ErrorCode::kZipGitLfsPointer, 0, "not a zip archive: " + advice());
  if (magic == io::FileMagic::kHtml)
    fail(ErrorCode::kZipHtmlPage, 0, "not a zip archive: " + advice());
  if (magic == io::FileMagic::kPreviewFormat)
    fail(ErrorCode::kZipPreviewFormat, 0,
         "File is an unsupported archive format from the preview release (PYTORCH1 magic)");
  const bool starts_pk34 = head_n >= 4 && le32(head.span().data()) == kLocalHeaderSig;

  // ---- EOCD: the last signature whose comment fits in the file ------------------------------
  if (size < kEocdSize) {
    fail(starts_pk34 ? ErrorCode::kZipTruncated : ErrorCode::kZipNotAnArchive, size,
         concat("file of ", size, " bytes is too short for a zip end of central directory record (",
                kEocdSize, " bytes)", starts_pk34 ? "; it starts like a zip: truncated?" : ""));
  }
  const std::uint64_t tail_n = std::min<std::uint64_t>(size, kEocdSize + kMaxCommentSize);
  const std::uint64_t tail_start = size - tail_n;
  Bytes tail = fetch(in, tail_start, static_cast<std::size_t>(tail_n));
  const auto t = tail.span();
  std::optional<std::uint64_t> eocd_rel;
  for (std::size_t i = t.size() - kEocdSize + 1; i-- > 0;) {
    if (le32(t.data() + i) != kEocdSig) continue;
    const std::uint16_t comment = static_cast<std::uint16_t>(
        std::to_integer<unsigned>(t[i + 20]) | (std::to_integer<unsigned>(t[i + 21]) << 8));
    if (comment <= t.size() - i - kEocdSize) {
      eocd_rel = i;
      break;
    }
  }
  if (!eocd_rel) {
    if (starts_pk34)
      fail(ErrorCode::kZipTruncated, size,
           concat("the file starts with a zip local header but no end of central directory record "
                  "was found in its last ",
                  tail_n, " bytes: the archive is truncated (an incomplete download or save?)"));
    std::string what(io::file_magic_name(magic));
    fail(ErrorCode::kZipNotAnArchive, tail_start,
         concat("not a zip archive (no end of central directory record); the file looks like: ",
                what, io::file_magic_advice(magic).empty() ? "" : "; ", advice()));
  }
  const std::uint64_t eocd_pos = tail_start + *eocd_rel;
  if (options_.strict && !starts_pk34) {
    // torch.load's _is_zipfile: the archive must start at byte 0 with a local header.
    if (eocd_pos == 0) fail(ErrorCode::kZipEmptyArchive, 0, "archive does not contain any files");
    fail(ErrorCode::kZipLeadingBytes, 0,
         "the file does not start with a zip local header (PK\\3\\4): bytes precede the archive "
         "(a prefixed or self-extracting zip); PyTorch (torch.load's _is_zipfile) requires the "
         "archive at byte 0 (open in lenient mode to skip them)");
  }
  io::Cursor ec(t.subspan(*eocd_rel, kEocdSize), eocd_pos, file, {}, ErrorCode::kZipBadEocd);
  ec.skip(4);
  const std::uint16_t disk = ec.u16le(), cd_disk = ec.u16le();
  std::uint64_t entries_disk = ec.u16le(), entries = ec.u16le();
  std::uint64_t cd_size = ec.u32le(), cd_offset = ec.u32le();

  // ---- ZIP64 locator and end record (PyTorch always writes them: spec 2.5) ------------------
  std::uint64_t cd_end_actual = eocd_pos;  // where the central directory must end
  std::uint64_t z64_shift = 0;
  if (eocd_pos >= kZip64LocatorSize) {
    const std::uint64_t loc_pos = eocd_pos - kZip64LocatorSize;
    Bytes loc = fetch(in, loc_pos, kZip64LocatorSize);
    io::Cursor lc(loc.span(), loc_pos, file, {}, ErrorCode::kZipBadEocd);
    if (lc.u32le() == kZip64LocatorSig) {
      const std::uint32_t z64_disk = lc.u32le();
      const std::uint64_t z64_declared = lc.u64le();
      const std::uint32_t disks = lc.u32le();
      if (z64_disk != 0 || disks > 1)
        fail(ErrorCode::kZipBadEocd, loc_pos,
             concat("multi-disk zip64 archive (disk ", z64_disk, " of ", disks, ") not supported"));
      std::uint64_t z64_pos = z64_declared;
      auto sig_at = [&](std::uint64_t p) {
        if (p > loc_pos || loc_pos - p < kZip64EocdSize) return false;
        std::byte b[4];
        in.read(p, b, 4);
        return le32(b) == kZip64EocdSig;
      };
      if (!sig_at(z64_pos)) {
        // A zip with leading bytes: the record normally sits right before the locator.
        const std::uint64_t expect = loc_pos >= kZip64EocdSize ? loc_pos - kZip64EocdSize : 0;
        if (options_.strict || !sig_at(expect) || expect < z64_declared)
          fail(ErrorCode::kZipBadEocd, loc_pos,
               concat("zip64 end of central directory locator points to ", hex(z64_declared),
                      " but no zip64 end record (PK\\6\\6) lies there before the locator at ",
                      hex(loc_pos)));
        z64_pos = expect;
        z64_shift = expect - z64_declared;
      }
      Bytes z = fetch(in, z64_pos, kZip64EocdSize);
      io::Cursor zc(z.span(), z64_pos, file, {}, ErrorCode::kZipBadEocd);
      zc.skip(4);
      const std::uint64_t rec_size = zc.u64le();
      if (rec_size < kZip64EocdSize - 12 || rec_size > loc_pos - z64_pos - 12)
        fail(ErrorCode::kZipBadEocd, z64_pos + 4,
             concat("zip64 end record size ", rec_size, " does not fit between ", hex(z64_pos),
                    " and the locator at ", hex(loc_pos)));
      zc.skip(4);  // version made by, version needed
      const std::uint32_t d1 = zc.u32le(), d2 = zc.u32le();
      if (d1 != 0 || d2 != 0)
        fail(ErrorCode::kZipBadEocd, z64_pos + 16, "multi-disk zip64 archive not supported");
      entries_disk = zc.u64le();
      entries = zc.u64le();
      cd_size = zc.u64le();
      cd_offset = zc.u64le();
      cd_end_actual = z64_pos;
    } else if (entries == 0xFFFF || cd_size == kU32Max || cd_offset == kU32Max) {
      fail(ErrorCode::kZipBadEocd, eocd_pos,
           "end record has zip64 placeholder values (0xFFFF/0xFFFFFFFF) but no zip64 locator "
           "precedes it");
    }
  }
  if (disk != 0 || cd_disk != 0)
    if (!(disk == 0xFFFF || cd_disk == 0xFFFF) || cd_end_actual == eocd_pos)
      fail(ErrorCode::kZipBadEocd, eocd_pos + 4,
           concat("multi-disk archive (disk ", disk, ", central directory on disk ", cd_disk,
                  ") not supported"));
  if (entries_disk != entries)
    fail(ErrorCode::kZipBadEocd, eocd_pos + 8,
         concat("entries on this disk (", entries_disk, ") differ from total entries (", entries,
                "): multi-disk archives are not supported"));

  // ---- where the central directory is, and bytes before the archive ----------------------
  const auto declared_end = add(cd_offset, cd_size);
  if (!declared_end || *declared_end > cd_end_actual)
    fail(
        ErrorCode::kZipBadEocd, cd_end_actual,
        concat("central directory [", hex(cd_offset), ", +", cd_size,
               ") reaches past the end record at ", hex(cd_end_actual), " (file size ", size, ")"));
  shift_ = cd_end_actual - *declared_end;
  if (options_.strict) {
    if (shift_ != 0 || z64_shift != 0)
      fail(ErrorCode::kZipBadEocd, cd_end_actual,
           concat("central directory is declared to end at ", hex(*declared_end),
                  " but the end record is at ", hex(cd_end_actual)));
  }
  const std::uint64_t cd_start = cd_offset + shift_;
  if (entries > options_.max_entries)
    fail(ErrorCode::kZipTooManyEntries, eocd_pos,
         concat("archive declares ", entries, " entries; the limit is ", options_.max_entries));
  if (entries > cd_size / kCentralHeaderSize)
    fail(ErrorCode::kZipBadCentralDirectory, cd_start,
         concat("archive declares ", entries, " entries but its central directory of ", cd_size,
                " bytes can hold at most ", cd_size / kCentralHeaderSize));
  if (entries == 0 && options_.strict)
    fail(ErrorCode::kZipEmptyArchive, cd_start, "archive does not contain any files");

  // ---- central directory ------------------------------------------------------------------
  Bytes cd = fetch(in, cd_start, static_cast<std::size_t>(cd_size));
  io::Cursor c(cd.span(), cd_start, file, {}, ErrorCode::kZipBadCentralDirectory);
  records_.reserve(static_cast<std::size_t>(entries));
  // Local headers: one read each, the fixed header and, for strict mode's name check, as many
  // bytes as the central name has (when they fit before the central directory). An archive of
  // 20,000 records has 20,000 local headers spread over the file, so they are read in batches
  // (ReadAdapter::read_many: one io_uring submission per few hundred where available, else one
  // pread each as before) and checked in directory order. A central entry that fails to parse
  // first checks the local headers of the entries before it, so the first error reported is
  // the one an entry-by-entry pass meets first.
  std::vector<std::size_t> pending_n;  // local header bytes to read, for records_[checked..]
  std::size_t checked = 0;
  std::vector<std::byte> lh_buf;
  std::vector<io::ReadRequest> requests;
  auto check_local = [&](RecordInfo& r, const std::byte* lh_raw) {
    const std::uint64_t lho = r.local_header_offset;
    // The fixed 30 bytes are all there: plain loads, no Cursor (it would copy two names).
    if (le32(lh_raw) != kLocalHeaderSig)
      fail(ErrorCode::kZipBadLocalHeader, lho,
           concat("expected a local header signature PK\\3\\4, found bytes ", hex_bytes(lh_raw, 4)),
           r.full_name);
    const std::uint16_t l_flags = le16(lh_raw + 6), l_method = le16(lh_raw + 8);
    const std::uint32_t l_crc = le32(lh_raw + 14), l_csz = le32(lh_raw + 18),
                        l_usz = le32(lh_raw + 22);
    const std::uint16_t l_name_len = le16(lh_raw + 26), l_extra_len = le16(lh_raw + 28);
    const std::uint64_t room = cd_start - lho - kLocalHeaderSize;
    if (std::uint64_t{l_name_len} + l_extra_len > room)
      fail(ErrorCode::kZipBadLocalHeader, lho + 26,
           concat("local name (", l_name_len, " bytes) and extra field (", l_extra_len,
                  " bytes) run into the central directory at ", hex(cd_start),
                  " (expected at most ", room, " bytes together; the central directory's name has ",
                  r.full_name.size(), ")"),
           r.full_name);
    // "<field> X in the local header, expected Y as in the central directory"
    constexpr const char* kLocalVs = " in the local header, expected ";
    constexpr const char* kAsCentral = " as in the central directory";
    auto mismatch = [&](std::uint64_t off, const std::string& what) {
      fail(ErrorCode::kZipHeaderMismatch, off,
           "local header disagrees with the central directory: " + what, r.full_name);
    };
    if (l_method != r.method)
      mismatch(lho + 8, concat("compression method ", l_method, kLocalVs, r.method, kAsCentral));
    const std::uint16_t kCheckedFlags =
        kFlagEncrypted | kFlagDataDescriptor | kFlagStrongEncryption;
    if ((l_flags & kCheckedFlags) != (r.flags & kCheckedFlags))
      mismatch(lho + 6,
               concat("general purpose flags ", hex(l_flags), kLocalVs, hex(r.flags), kAsCentral));
    // PyTorch (miniz) never compares names; a local name that differs from the central one hides
    // the real name from tools that walk local headers. Strict refuses it, lenient (scanners)
    // goes by the central directory as PyTorch does.
    // (l_name_len == the central length fits in `room`, so lh_n covers the local name here.)
    if (options_.strict && (l_name_len != r.full_name.size() ||
                            (l_name_len != 0 && std::memcmp(lh_raw + kLocalHeaderSize,
                                                            r.full_name.data(), l_name_len) != 0)))
      mismatch(lho + kLocalHeaderSize,
               concat("entry name differs: the local header's (", l_name_len,
                      " bytes) is not the central directory's (", r.full_name.size(), " bytes)"));
    // Without a data descriptor the local CRC/sizes are final; with one they may be 0 (PyTorch,
    // miniz) or the real values (other writers). 0xFFFFFFFF means "in the zip64 extra".
    const bool deferred = (l_flags & kFlagDataDescriptor) != 0;
    auto same32 = [&](std::uint32_t local, std::uint64_t central) {
      return local == central || local == kU32Max || (deferred && local == 0);
    };
    if (!(l_crc == r.crc32 || (deferred && l_crc == 0)))
      mismatch(lho + 14, concat("CRC-32 ", crc_hex(l_crc), kLocalVs, crc_hex(r.crc32), kAsCentral));
    if (!same32(l_csz, r.compressed_size))
      mismatch(lho + 18,
               concat("compressed size ", l_csz, kLocalVs, r.compressed_size, kAsCentral));
    if (!same32(l_usz, r.size))
      mismatch(lho + 22, concat("uncompressed size ", l_usz, kLocalVs, r.size, kAsCentral));
    r.data_offset = lho + kLocalHeaderSize + l_name_len + l_extra_len;
    if (r.compressed_size > cd_start - r.data_offset)
      fail(ErrorCode::kZipSizeMismatch, r.data_offset,
           concat("record data of ", r.compressed_size, " bytes at ", hex(r.data_offset),
                  " runs past the start of the central directory at ", hex(cd_start),
                  " (file size ", size, ")"),
           r.full_name);
  };
  // keep_damaged_records: a record whose local header fails a check is kept, with the Error.
  auto keep_damage = [&](RecordInfo& r, auto&& check) {
    if (!options_.keep_damaged_records) return check();
    try {
      check();
    } catch (const Error& e) {
      r.damage = std::make_shared<const Error>(e);
      r.data_offset = 0;
    }
  };
  auto flush = [&] {
    std::size_t total = 0;
    for (const std::size_t n : pending_n) total += n;
    lh_buf.resize(total);
    requests.clear();
    for (std::size_t k = 0, at = 0; k < pending_n.size(); at += pending_n[k], ++k)
      requests.push_back(
          {records_[checked + k].local_header_offset, lh_buf.data() + at, pending_n[k], false});
    in.read_many(requests);
    for (std::size_t k = 0; k < requests.size(); ++k) {
      RecordInfo& r = records_[checked + k];
      if (r.damage) continue;  // kept damaged before its local header was read (n == 0)
      if (!requests[k].done) in.read(requests[k].pos, requests[k].buf, requests[k].n);
      keep_damage(r, [&] { check_local(r, static_cast<const std::byte*>(requests[k].buf)); });
    }
    checked += pending_n.size();
    pending_n.clear();
  };
  std::size_t pending_bytes = 0;
  for (std::uint64_t i = 0; i < entries; ++i) {
    try {
      const std::uint64_t at = c.offset();
      if (c.u32le() != kCentralHeaderSig)
        fail(ErrorCode::kZipBadCentralDirectory, at,
             concat("central directory entry ", i, " of ", entries,
                    ": expected signature PK\\1\\2"));
      RecordInfo r;
      c.skip(4);  // version made by, version needed
      r.flags = c.u16le();
      r.method = c.u16le();
      c.skip(4);  // time, date
      r.crc32 = c.u32le();
      r.compressed_size = c.u32le();
      r.size = c.u32le();
      const std::uint16_t name_len = c.u16le(), extra_len = c.u16le(), comment_len = c.u16le();
      const std::uint16_t start_disk = c.u16le();
      c.skip(6);  // internal, external attributes
      r.local_header_offset = c.u32le();
      if (name_len > options_.max_name_length)
        fail(ErrorCode::kLimitExceeded, at,
             concat("entry name of ", name_len,
                    " bytes; the limit (Limits::zip.max_name_length) is ",
                    options_.max_name_length));
      r.full_name = std::string(c.chars(name_len));
      const std::uint64_t extra_at = c.offset();
      const auto extra = c.bytes(extra_len);
      c.skip(comment_len);
      bool need_usz = r.size == kU32Max, need_csz = r.compressed_size == kU32Max,
           need_lho = r.local_header_offset == kU32Max;
      // (A Cursor copies the file and entry names for its errors: made only when there is an
      // extra field to walk, which PyTorch's entries below 4 GiB do not have.)
      if (extra.size() >= 4) {
        io::Cursor x(extra, extra_at, file, r.full_name, ErrorCode::kZipBadCentralDirectory);
        while (x.remaining() >= 4) {
          const std::uint16_t id = x.u16le(), len = x.u16le();
          const std::uint64_t field_at = x.offset();
          auto body = x.bytes(len);
          if (id != kZip64ExtraId) continue;
          io::Cursor z(body, field_at, file, r.full_name, ErrorCode::kZipBadCentralDirectory);
          // APPNOTE 4.5.3: only the fields whose 32-bit value is 0xFFFFFFFF are present, in order.
          if (need_usz) r.size = z.u64le(), need_usz = false;
          if (need_csz) r.compressed_size = z.u64le(), need_csz = false;
          if (need_lho) r.local_header_offset = z.u64le(), need_lho = false;
        }
      }
      if (need_usz || need_csz || need_lho)
        fail(ErrorCode::kZipBadCentralDirectory, extra_at,
             "a 32-bit size or offset is 0xFFFFFFFF but no zip64 extra field gives its value",
             r.full_name);
      if (start_disk != 0 && start_disk != 0xFFFF)
        fail(ErrorCode::kZipBadCentralDirectory, at + 34,
             concat("entry starts on disk ", start_disk, ": multi-disk archives are not supported"),
             r.full_name);
      // Names.
      if (r.full_name.empty())
        fail(ErrorCode::kZipBadName, at + 46,
             concat("central directory entry ", i, " has an empty name"));
      if (r.full_name.find('\0') != std::string::npos)
        fail(ErrorCode::kZipUnsafeName, at + 46, "entry name contains a NUL byte", r.full_name);
      if (options_.strict) {
        if (const char* why = unsafe_name_reason(r.full_name))
          fail(ErrorCode::kZipUnsafeName, at + 46, concat("unsafe entry name: it ", why),
               r.full_name);
        if (r.is_encrypted())
          fail(ErrorCode::kZipEncrypted, at + 8,
               concat("entry is encrypted (general purpose flags ", hex(r.flags),
                      "); PyTorch archives never are"),
               r.full_name);
        if (r.flags & kFlagPatchedData)
          fail(
              ErrorCode::kZipUnsupportedMethod, at + 8,
              "entry holds compressed patched data (general purpose flag bit 5), which ptio cannot "
              "decode",
              r.full_name);
        if (r.method != 0 && r.method != 8)
          fail(ErrorCode::kZipUnsupportedMethod, at + 10,
               concat("compression method ", r.method,
                      " is not supported (expected 0 stored or 8 deflated)"),
               r.full_name);
      }
      if (r.method == 0 && !r.is_encrypted() && r.compressed_size != r.size)
        fail(ErrorCode::kZipSizeMismatch, at + 20,
             concat("stored entry has compressed size ", r.compressed_size,
                    " but uncompressed size ", r.size),
             r.full_name);
      r.crc_recorded = !(r.crc32 == 0 && r.size != 0);
      // Local header: where the data really starts, and that it agrees with this entry.
      const auto lho = add(r.local_header_offset, shift_);
      keep_damage(r, [&] {
        if (!lho || *lho > cd_start || cd_start - *lho < kLocalHeaderSize)
          fail(ErrorCode::kZipBadLocalHeader, at + 42,
               concat("local header offset ", hex(r.local_header_offset),
                      " leaves no room for a 30-byte local header before the central directory "
                      "at ",
                      hex(cd_start)),
               r.full_name);
      });
      const std::size_t want_name = options_.strict ? r.full_name.size() : 0;
      std::size_t lh_n = 0;  // a damaged record reads nothing
      if (!r.damage) {
        r.local_header_offset = *lho;
        lh_n = cd_start - *lho - kLocalHeaderSize >= want_name ? kLocalHeaderSize + want_name
                                                               : kLocalHeaderSize;
      }
      pending_n.push_back(lh_n);
      pending_bytes += lh_n;
      records_.push_back(std::move(r));
    } catch (...) {
      flush();
      throw;
    }
    if (pending_n.size() >= 4096 || pending_bytes >= (std::size_t{1} << 20)) {
      flush();
      pending_bytes = 0;
    }
  }
  flush();

  // ---- records must not overlap (zip bombs reuse one stream for many entries) -------------
  std::vector<std::size_t> order;
  order.reserve(records_.size());
  for (std::size_t i = 0; i < records_.size(); ++i)
    if (!records_[i].damage) order.push_back(i);
  // Writers (PyTorch's included) list entries in file order: sort only when they are not.
  const auto by_offset = [&](std::size_t a, std::size_t b) {
    return records_[a].local_header_offset < records_[b].local_header_offset;
  };
  if (!std::is_sorted(order.begin(), order.end(), by_offset))
    std::sort(order.begin(), order.end(), by_offset);
  for (std::size_t k = 1, p = 0; k < order.size(); ++k) {
    const RecordInfo& prev = records_[order[p]];
    RecordInfo& next = records_[order[k]];
    keep_damage(next, [&] {
      if (prev.data_offset + prev.compressed_size > next.local_header_offset)
        fail(
            ErrorCode::kZipOverlappingEntries, next.local_header_offset,
            concat("entry starts inside entry '", prev.full_name, "' (data [",
                   hex(prev.data_offset), ", ", hex(prev.data_offset + prev.compressed_size), "))"),
            next.full_name);
    });
    if (!next.damage) p = k;  // a kept overlapping entry is not the next one's neighbour
  }

  // ---- archive folder rule (spec 2.1) ------------------------------------------------------
  bool common = false;
  if (!records_.empty()) {
    const std::string& first = records_.front().full_name;
    const std::size_t slash = first.find('/');
    if (slash == std::string::npos) {
      if (options_.strict)
        fail(ErrorCode::kZipNoPrefix, records_.front().local_header_offset,
             "file in archive is not in a subdirectory: " + first, first);
    } else {
      prefix_ = first.substr(0, slash);
      common = true;
      for (const RecordInfo& r : records_) {
        if (r.full_name.size() > slash &&
            r.full_name.compare(0, slash + 1, first, 0, slash + 1) == 0)
          continue;
        if (options_.strict)
          fail(ErrorCode::kZipNoPrefix, r.local_header_offset,
               "file in archive is not in a subdirectory " + prefix_ + "/: " + r.full_name,
               r.full_name);
        common = false;
        break;
      }
      if (!common) prefix_.clear();
    }
  }
  const std::size_t strip = common ? prefix_.size() + 1 : 0;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    RecordInfo& r = records_[i];
    r.name = r.full_name.substr(strip);
  }
  // Name index (open addressing, linear probing) over the names without the folder: every entry
  // has the folder when it is common, so equal names mean equal full names, and lookups need no
  // `<prefix>/<name>` string.
  if (records_.size() >= 0xFFFFFFFFu)
    fail(ErrorCode::kZipTooManyEntries, cd_start,
         concat("archive has ", records_.size(), " entries; ptio indexes at most 2^32 - 2"));
  std::size_t cap = 16;
  while (cap < 2 * records_.size()) cap *= 2;
  index_.assign(cap, 0);
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const RecordInfo& r = records_[i];
    std::size_t slot = std::hash<std::string_view>{}(r.name) & (cap - 1);
    bool duplicate = false;
    for (; index_[slot] != 0; slot = (slot + 1) & (cap - 1)) {
      if (records_[index_[slot] - 1].name == r.name) {
        duplicate = true;
        break;
      }
    }
    if (!duplicate) {
      index_[slot] = static_cast<std::uint32_t>(i + 1);
    } else if (options_.strict) {
      fail(ErrorCode::kZipDuplicateName, r.local_header_offset,
           "two entries have the same name (the writer refuses this: 'Tried to serialize file "
           "twice')",
           r.full_name);
    }
  }
  init_inflate_budget();
}

const RecordInfo* ArchiveReader::find_record(std::string_view name) const noexcept {
  if (index_.empty()) return nullptr;
  const std::size_t mask = index_.size() - 1;
  for (std::size_t slot = std::hash<std::string_view>{}(name)&mask; index_[slot] != 0;
       slot = (slot + 1) & mask) {
    const RecordInfo& r = records_[index_[slot] - 1];
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool ArchiveReader::has_record(std::string_view name) const {
  return find_record(name) != nullptr;
}

const RecordInfo& ArchiveReader::record(std::string_view name) const {
  const RecordInfo* r = find_record(name);
  if (!r)
    throw Error(ErrorCode::kZipRecordNotFound,
                concat("PytorchStreamReader failed locating file ", name, ": file not found"),
                in_->name(),
                prefix_.empty() ? std::string(name) : prefix_ + "/" + std::string(name));
  return *r;
}

std::vector<std::string> ArchiveReader::record_names() const {
  std::vector<std::string> out;
  out.reserve(records_.size());
  for (const RecordInfo& r : records_)
    if (!r.name.empty() && r.name.back() != '/') out.push_back(r.name);
  return out;
}

}  // namespace ptio::zip
