// ArchiveReader record access: copied reads with CRC-32, zero-copy views, chunks, inflate.
#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/crc32.h"
#include "zip/zip_format.h"

namespace ptio::zip {

using ptio::detail::concat;
using ptio::detail::hex;
using namespace ptio::zip::detail;

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 18;

std::uint32_t crc_update(std::uint32_t crc, const std::byte* p, std::size_t n) {
  return n == 0 ? crc : libdeflate_crc32(crc, p, n);
}

// Runs `fn`, adding the file, record and offset to any ptio::Error that lacks them.
template <typename Fn>
decltype(auto) with_context(const std::string& file, const RecordInfo& r, Fn&& fn) {
  try {
    return fn();
  } catch (Error& e) {
    e.add_context(file, r.full_name, r.data_offset);
    throw;
  }
}

}  // namespace

namespace {

void check_readable(const std::string& file, const RecordInfo& r) {
  if (r.damage) throw *r.damage;  // ReaderOptions::keep_damaged_records
  if (r.is_encrypted())
    throw Error(ErrorCode::kZipEncrypted,
                concat("entry is encrypted (general purpose flags ", hex(r.flags), ")"), file,
                r.full_name, r.local_header_offset);
  if (r.flags & kFlagPatchedData)
    throw Error(ErrorCode::kZipUnsupportedMethod,
                "entry holds compressed patched data (general purpose flag bit 5)", file,
                r.full_name, r.local_header_offset);
  if (r.method != 0 && r.method != 8)
    throw Error(ErrorCode::kZipUnsupportedMethod,
                concat("compression method ", r.method,
                       " is not supported (expected 0 stored or 8 deflated)"),
                file, r.full_name, r.local_header_offset);
}

void check_crc(const std::string& file, const RecordInfo& r, std::uint32_t actual) {
  if (!r.crc_recorded) return;  // the writer did not compute CRCs (see ArchiveReader docs)
  if (actual != r.crc32)
    throw Error(ErrorCode::kZipCrcMismatch,
                concat("CRC-32 of the ", r.size, " data bytes is ", crc_hex(actual),
                       " but the archive records ", crc_hex(r.crc32)),
                file, r.full_name, r.data_offset);
}

// Inflates a deflated record into `out` (exactly r.size bytes).
void inflate(const io::ReadAdapter& in, const RecordInfo& r, const ReaderOptions& opt,
             std::span<std::byte> out) {
  const std::string& file = in.name();
  io::ByteView src_view;
  std::vector<std::byte> src_copy;
  const std::size_t csz = static_cast<std::size_t>(r.compressed_size);
  if (in.supports_view()) src_view = in.view(r.data_offset, csz);
  if (src_view.size() != csz) src_copy = in.read_vector(r.data_offset, csz);
  const std::byte* src = src_copy.empty() ? src_view.data() : src_copy.data();
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
  if (!d)
    throw Error(ErrorCode::kInternal, "libdeflate_alloc_decompressor failed", file, r.full_name);
  std::byte dummy{};
  std::size_t actual = 0;
  const libdeflate_result res = libdeflate_deflate_decompress(
      d.get(), csz ? static_cast<const void*>(src) : &dummy, csz,
      out.empty() ? static_cast<void*>(&dummy) : out.data(), out.size(), &actual);
  if (res == LIBDEFLATE_BAD_DATA)
    throw Error(ErrorCode::kZipInflateFailed,
                concat("deflate stream of ", csz, " bytes is corrupt"), file, r.full_name,
                r.data_offset);
  if (res == LIBDEFLATE_INSUFFICIENT_SPACE)
    throw Error(ErrorCode::kZipSizeMismatch,
                concat("deflate stream inflates to more than the declared ", r.size, " bytes"),
                file, r.full_name, r.data_offset);
  if (res != LIBDEFLATE_SUCCESS || actual != out.size())
    throw Error(
        ErrorCode::kZipSizeMismatch,
        concat("deflate stream inflates to ", actual, " bytes, the archive declares ", r.size),
        file, r.full_name, r.data_offset);
  (void)opt;
}

// The bytes of `r` that may be inflated into memory at once (see zip::Limits).
std::uint64_t inflate_allowance(const RecordInfo& r, const ReaderOptions& opt, std::uint64_t n,
                                bool* by_ratio) {
  std::uint64_t allowed = opt.max_inflated_size;
  *by_ratio = false;
  if (opt.max_inflate_ratio != 0 && n > Limits::kInflateRatioFloor) {
    const std::uint64_t cap = std::numeric_limits<std::uint64_t>::max() / opt.max_inflate_ratio;
    const std::uint64_t by = r.compressed_size > cap
                                 ? std::numeric_limits<std::uint64_t>::max()
                                 : std::max(Limits::kInflateRatioFloor,
                                            r.compressed_size * opt.max_inflate_ratio);
    if (by < allowed) {
      allowed = by;
      *by_ratio = true;
    }
  }
  return allowed;
}

// The structural 1032:1 rule on the record's declared size (kZipSizeMismatch), then the bounds on
// the `n` bytes about to be inflated into memory (kLimitExceeded): max_inflated_size and the
// compression-ratio check.
void check_inflate_size(const std::string& file, const RecordInfo& r, const ReaderOptions& opt,
                        std::uint64_t n) {
  if (r.size / kMaxDeflateRatio > r.compressed_size + 1)
    throw Error(ErrorCode::kZipSizeMismatch,
                concat("deflated record declares ", r.size, " bytes from ", r.compressed_size,
                       " compressed bytes; deflate cannot expand more than 1032:1"),
                file, r.full_name, r.data_offset);
  bool by_ratio = false;
  const std::uint64_t allowed = inflate_allowance(r, opt, n, &by_ratio);
  if (n <= allowed) return;
  if (by_ratio)
    throw Error(ErrorCode::kLimitExceeded,
                concat("deflated record would inflate to ", n, " bytes from ", r.compressed_size,
                       " compressed bytes (", r.compressed_size ? n / r.compressed_size : n,
                       ":1); allowed ", allowed, " bytes (Limits::zip.max_inflate_ratio ",
                       opt.max_inflate_ratio,
                       "x the compressed size above 64 MiB): a decompression bomb?"),
                file, r.full_name, r.data_offset);
  throw Error(ErrorCode::kLimitExceeded,
              concat("deflated record would inflate to ", n, " bytes; allowed ", allowed,
                     " bytes (Limits::zip.max_inflated_size)"),
              file, r.full_name, r.data_offset);
}

// Inflates deflated record `r` piecewise with zlib (constant memory: one input and one output
// chunk), handing `sink` the first `limit` (<= r.size) bytes in pieces of at most `chunk`. With
// `limit == r.size` the whole stream is checked: it must end at exactly r.size bytes
// (kZipSizeMismatch otherwise); a shorter `limit` stops inflating there. Corrupt or truncated
// streams throw kZipInflateFailed.
void inflate_stream(const io::ReadAdapter& in, const RecordInfo& r, std::uint64_t limit,
                    std::size_t chunk,
                    const std::function<void(std::span<const std::byte>)>& sink) {
  const std::string& file = in.name();
  struct Stream {
    z_stream zs{};
    bool ok = false;
    ~Stream() {
      if (ok) inflateEnd(&zs);
    }
  } st;
  if (inflateInit2(&st.zs, -MAX_WBITS) != Z_OK)
    throw Error(ErrorCode::kInternal, "zlib inflateInit2 failed", file, r.full_name);
  st.ok = true;
  z_stream& zs = st.zs;
  const std::uint64_t csz = r.compressed_size;
  const bool whole = limit == r.size;
  const std::uint64_t cap = whole ? r.size + 1 : limit;  // one byte more shows an overlong stream
  std::vector<std::byte> inbuf;
  std::vector<std::byte> outbuf(static_cast<std::size_t>(std::min<std::uint64_t>(chunk, cap)));
  io::ByteView in_view;
  std::uint64_t in_done = 0, out_done = 0;
  auto corrupt = [&](const char* what) {
    return Error(ErrorCode::kZipInflateFailed,
                 concat("deflate stream of ", csz, " bytes is ", what, " (after ", out_done,
                        " inflated bytes)"),
                 file, r.full_name, r.data_offset);
  };
  while (out_done < cap) {
    if (zs.avail_in == 0 && in_done < csz) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, csz - in_done));
      const std::byte* p = nullptr;
      if (in.supports_view()) {
        in_view = in.view(r.data_offset + in_done, n);
        if (in_view.size() == n) p = in_view.data();
      }
      if (!p) {
        inbuf.resize(n);
        in.read(r.data_offset + in_done, inbuf.data(), n);
        p = inbuf.data();
      }
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(p));
      zs.avail_in = static_cast<uInt>(n);
      in_done += n;
    }
    const std::size_t space =
        static_cast<std::size_t>(std::min<std::uint64_t>(outbuf.size(), cap - out_done));
    zs.next_out = reinterpret_cast<Bytef*>(outbuf.data());
    zs.avail_out = static_cast<uInt>(space);
    const int rc = ::inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR || rc == Z_MEM_ERROR)
      throw corrupt("corrupt");
    const std::size_t got = space - zs.avail_out;
    if (whole && out_done + got > r.size)
      throw Error(ErrorCode::kZipSizeMismatch,
                  concat("deflate stream inflates to more than the declared ", r.size, " bytes"),
                  file, r.full_name, r.data_offset);
    const std::size_t give =
        static_cast<std::size_t>(std::min<std::uint64_t>(got, limit - out_done));
    if (give) sink(std::span<const std::byte>(outbuf.data(), give));
    out_done += got;
    if (rc == Z_STREAM_END) break;
    if (got == 0 && zs.avail_in == 0 && in_done == csz) throw corrupt("truncated");
  }
  if (whole ? out_done != r.size : out_done < limit)
    throw Error(
        ErrorCode::kZipSizeMismatch,
        concat("deflate stream inflates to ", out_done, " bytes, the archive declares ", r.size),
        file, r.full_name, r.data_offset);
}

}  // namespace

struct ArchiveReader::InflateLedger {
  std::mutex mu;
  std::uint64_t total = 0;
  std::unordered_map<std::size_t, std::uint64_t> charged;  // record index -> bytes charged
};

void ArchiveReader::init_inflate_budget() {
  ledger_ = std::make_shared<InflateLedger>();
  if (options_.max_inflated_total != 0) {
    inflate_budget_ = options_.max_inflated_total;
    return;
  }
  inflate_budget_ = std::numeric_limits<std::uint64_t>::max();
  if (options_.max_inflate_ratio == 0) return;  // the caller trusts the file's compression
  std::uint64_t compressed = 0;  // <= the file size: records do not overlap
  for (const RecordInfo& r : records_)
    if (r.method != 0) compressed += r.compressed_size;
  const std::uint64_t ratio = options_.max_inflate_ratio;
  const std::uint64_t by_ratio = compressed > std::numeric_limits<std::uint64_t>::max() / ratio
                                     ? std::numeric_limits<std::uint64_t>::max()
                                     : compressed * ratio;
  inflate_budget_ = std::max(Limits::kInflateTotalFloor, by_ratio);
}

std::uint64_t ArchiveReader::inflated_total() const {
  if (!ledger_) return 0;
  std::lock_guard lock(ledger_->mu);
  return ledger_->total;
}

void ArchiveReader::admit_inflate(const RecordInfo& r, std::uint64_t n) const {
  check_inflate_size(in_->name(), r, options_, n);
  if (r.method == 0 || !ledger_) return;
  const std::size_t index = static_cast<std::size_t>(&r - records_.data());
  std::lock_guard lock(ledger_->mu);
  std::uint64_t& charged = ledger_->charged[index];
  if (n <= charged) return;
  const std::uint64_t extra = n - charged;
  if (extra > inflate_budget_ - std::min(inflate_budget_, ledger_->total)) {
    const bool derived = options_.max_inflated_total == 0;
    throw Error(ErrorCode::kLimitExceeded,
                concat("deflated record would inflate ", extra, " more bytes into memory after ",
                       ledger_->total, " bytes inflated from this archive's records; the archive's "
                       "budget is ", inflate_budget_, " bytes (Limits::zip.max_inflated_total",
                       derived ? concat(": ", options_.max_inflate_ratio,
                                        "x the compressed bytes of its deflated records, at least "
                                        "1 GiB): many records that each pass the per-record bounds "
                                        "add up to a decompression bomb?")
                               : std::string(")")),
                in_->name(), r.full_name, r.data_offset);
  }
  ledger_->total += extra;
  charged = n;
}

void ArchiveReader::read_into(const RecordInfo& r, std::span<std::byte> out) const {
  const std::string& file = in_->name();
  with_context(file, r, [&] {
    check_readable(file, r);
    if (out.size() != r.size)
      throw Error(ErrorCode::kIoInvalidArgument,
                  concat("read_into: buffer of ", out.size(), " bytes for a record of ", r.size),
                  file, r.full_name);
    std::uint32_t crc = 0;
    if (r.method == 0) {
      // Copy and CRC one chunk at a time so the CRC reads cache-hot bytes.
      for (std::size_t done = 0; done < out.size();) {
        const std::size_t n = std::min(kChunk, out.size() - done);
        in_->read(r.data_offset + done, out.data() + done, n);
        if (options_.verify_crc) crc = crc_update(crc, out.data() + done, n);
        done += n;
      }
    } else {
      admit_inflate(r, r.size);
      inflate(*in_, r, options_, out);
      if (options_.verify_crc) crc = crc_update(0, out.data(), out.size());
    }
    if (options_.verify_crc) check_crc(file, r, crc);
  });
}

void ArchiveReader::read_many_into(std::span<const RecordRead> reads) const {
  const std::string& file = in_->name();
  std::vector<io::ReadRequest> requests;
  requests.reserve(reads.size());
  for (const RecordRead& rr : reads) {
    const RecordInfo& r = *rr.record;
    if (r.method != 0) continue;  // inflated by read_into() below
    with_context(file, r, [&] {
      check_readable(file, r);
      if (rr.out.size() != r.size)
        throw Error(ErrorCode::kIoInvalidArgument,
                    concat("read_many_into: buffer of ", rr.out.size(), " bytes for a record of ",
                           r.size),
                    file, r.full_name);
    });
    requests.push_back({r.data_offset, rr.out.data(), rr.out.size(), false});
  }
  if (!requests.empty()) in_->read_many(requests);
  std::size_t k = 0;
  for (const RecordRead& rr : reads) {
    const RecordInfo& r = *rr.record;
    // Deflated records, and stored ones the batch left undone (no batching here, or a short or
    // failed read, whose error read_into() reports), one at a time.
    if (r.method != 0 || !requests[k++].done) {
      read_into(r, rr.out);
      continue;
    }
    if (options_.verify_crc)
      with_context(file, r,
                   [&] { check_crc(file, r, crc_update(0, rr.out.data(), rr.out.size())); });
  }
}

std::vector<std::byte> ArchiveReader::read(std::string_view name) const {
  return read(record(name));
}

std::vector<std::byte> ArchiveReader::read(const RecordInfo& r) const {
  const std::string& file = in_->name();
  with_context(file, r, [&] {
    check_readable(file, r);
    if (r.method != 0) admit_inflate(r, r.size);  // before allocating; read_into's is a no-op
  });
  // Stored sizes were checked against the file when the archive was opened; deflated sizes are
  // bounded by max_inflated_size, max_inflate_ratio and the 1032:1 ratio just above.
  std::vector<std::byte> out(static_cast<std::size_t>(r.size));
  read_into(r, out);
  return out;
}

bool ArchiveReader::can_view(std::string_view name) const {
  return can_view(record(name));
}

bool ArchiveReader::can_view(const RecordInfo& r) const noexcept {
  return r.method == 0 && !r.is_encrypted() && !r.damage && in_->supports_view();
}

io::ByteView ArchiveReader::view(std::string_view name) const {
  return view(record(name));
}

io::ByteView ArchiveReader::view(const RecordInfo& r) const {
  if (can_view(r)) {
    return with_context(in_->name(), r, [&] {
      io::ByteView v = in_->view(r.data_offset, static_cast<std::size_t>(r.size));
      if (v.size() == r.size) return v;
      return io::ByteView(read(r));
    });
  }
  return io::ByteView(read(r));
}

void ArchiveReader::read_chunks(std::string_view name,
                                const std::function<void(std::span<const std::byte>)>& sink,
                                std::size_t chunk_size) const {
  const RecordInfo& r = record(name);
  const std::string& file = in_->name();
  if (chunk_size == 0) chunk_size = kChunk;
  if (r.method != 0) {  // inflated piecewise: constant memory
    with_context(file, r, [&] {
      check_readable(file, r);
      check_inflate_size(file, r, options_, r.size);  // bounds the work as read() bounds memory
      std::uint32_t crc = 0;
      inflate_stream(*in_, r, r.size, chunk_size, [&](std::span<const std::byte> piece) {
        if (options_.verify_crc) crc = crc_update(crc, piece.data(), piece.size());
        sink(piece);
      });
      if (options_.verify_crc) check_crc(file, r, crc);
    });
    return;
  }
  with_context(file, r, [&] {
    check_readable(file, r);
    std::uint32_t crc = 0;
    const std::uint64_t total = r.size;
    const bool views = in_->supports_view();
    std::vector<std::byte> buf;
    if (!views) buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, total)));
    for (std::uint64_t done = 0; done < total;) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, total - done));
      std::span<const std::byte> piece;
      io::ByteView v;
      if (views) v = in_->view(r.data_offset + done, n);
      if (views && v.size() == n) {
        piece = v.span();
      } else {
        if (buf.size() < n) buf.resize(n);
        in_->read(r.data_offset + done, buf.data(), n);
        piece = std::span<const std::byte>(buf.data(), n);
      }
      if (options_.verify_crc) crc = crc_update(crc, piece.data(), piece.size());
      sink(piece);
      // A piece read through the file mapping leaves the resident set once handed over, so a
      // record of GBs streams in O(chunk_size) resident memory (`ptio extract` of a data record
      // held all its pages: as much RSS as the record).
      if (v.size() == n) v.release_pages(0, n);
      done += n;
    }
    if (options_.verify_crc) check_crc(file, r, crc);
  });
}

void ArchiveReader::read_at(std::string_view name, std::uint64_t offset, void* buf,
                            std::size_t n) const {
  const RecordInfo& r = record(name);
  const std::string& file = in_->name();
  check_readable(file, r);
  if (r.method != 0)
    throw Error(ErrorCode::kZipUnsupportedMethod,
                "read_at needs a stored record; this one is deflated (use read or read_chunks)",
                file, r.full_name, r.data_offset);
  if (offset > r.size || n > r.size - offset)
    throw Error(ErrorCode::kIoOutOfBounds,
                concat("range [", offset, ", +", n, ") leaves the record of ", r.size, " bytes"),
                file, r.full_name, r.data_offset);
  with_context(file, r, [&] { in_->read(r.data_offset + offset, buf, n); });
}

std::vector<std::byte> ArchiveReader::read_prefix(const RecordInfo& r, std::uint64_t n) const {
  const std::string& file = in_->name();
  if (n == r.size) return read(r);
  std::vector<std::byte> out;
  with_context(file, r, [&] {
    check_readable(file, r);
    if (n > r.size)
      throw Error(ErrorCode::kIoOutOfBounds,
                  concat("read_prefix: ", n, " bytes of a record of ", r.size), file, r.full_name,
                  r.data_offset);
    if (r.method != 0) admit_inflate(r, n);  // before allocating
    out.resize(static_cast<std::size_t>(n));
    if (r.method == 0) {
      in_->read(r.data_offset, out.data(), out.size());
      return;
    }
    std::size_t done = 0;
    inflate_stream(*in_, r, n, kChunk, [&](std::span<const std::byte> piece) {
      std::copy(piece.begin(), piece.end(), out.begin() + static_cast<std::ptrdiff_t>(done));
      done += piece.size();
    });
  });
  return out;
}

std::uint32_t ArchiveReader::compute_crc32(const RecordInfo& r) const {
  const std::string& file = in_->name();
  return with_context(file, r, [&]() -> std::uint32_t {
    check_readable(file, r);
    if (r.method != 0) {  // streamed: constant memory; the bounds limit the work
      check_inflate_size(file, r, options_, r.size);
      std::uint32_t crc = 0;
      inflate_stream(*in_, r, r.size, kChunk, [&](std::span<const std::byte> piece) {
        crc = crc_update(crc, piece.data(), piece.size());
      });
      return crc;
    }
    std::uint32_t crc = 0;
    std::vector<std::byte> buf;
    // Small records are read through views (no copy, and a storage viewed later is mapped
    // already); large ones are copied piecewise (pread for a mapped file), so checking a GB
    // record does not make the whole mapping resident before anyone reads the tensor.
    const bool through_views = in_->supports_view() && r.size <= (std::uint64_t{1} << 20);
    for (std::uint64_t done = 0; done < r.size;) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, r.size - done));
      io::ByteView v;
      if (through_views) v = in_->view(r.data_offset + done, n);
      if (v.size() == n) {
        crc = crc_update(crc, v.data(), n);
      } else {
        buf.resize(n);
        in_->read(r.data_offset + done, buf.data(), n);
        crc = crc_update(crc, buf.data(), n);
      }
      done += n;
    }
    return crc;
  });
}

}  // namespace ptio::zip

namespace ptio::zip {
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  return n == 0 ? crc : libdeflate_crc32(crc, data, n);
}
}  // namespace ptio::zip
