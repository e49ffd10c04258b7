// ArchiveWriter: writes PyTorch's zip profile (the role of caffe2::serialize::PyTorchStreamWriter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/export.h"
#include "ptio/io/writer.h"

namespace ptio::zip {

namespace detail {
class Crc32Prefetch;
}

/// Options of ArchiveWriter.
struct PTIO_API WriterOptions {
  /// Every record's data starts at a multiple of this many bytes from the archive start
  /// (PyTorch: 64; >= 2.7 `torch.utils.serialization.config.save.storage_alignment`). 1..32768.
  std::uint32_t alignment = 64;
  /// libdeflate level (0..12) for records written with compress=true. PyTorch asks miniz for
  /// MZ_BEST_COMPRESSION (9).
  int compression_level = 9;
  /// false writes CRC-32 0 everywhere, as PyTorch's `set_crc32_options(False)` (readers then see
  /// RecordInfo::crc_recorded == false).
  bool compute_crc32 = true;
  /// true writes every record at the archive's top level (`name`, not `<archive_name>/name`), as
  /// numpy's `.npz` and other plain zips do; the archive name is then not used and may be empty.
  bool top_level = false;
};

/// The archive folder name PyTorchStreamWriter derives from a file name (spec 2.1): the basename
/// (after the last `/` or `\`) without its last extension (`dir.x/a.b.c.pt` -> `a.b.c`). Pass an
/// empty path for a stream/callback target, which gives `archive`. Throws Error(kZipBadName)
/// ("invalid file name") when the result is empty (`.hidden`, `dir/`).
PTIO_API std::string archive_name_for_path(std::string_view path);

/// Writes a zip archive byte-for-byte as PyTorchStreamWriter (miniz under PyTorch 1.x/2.x) does:
/// every record is `<archive_name>/<name>`, its data aligned by the `FB` (0x4246) padding extra
/// field, flags 0x0808 + a data descriptor (0x0800 and none for an empty record), zero time/date,
/// a central directory without extras except zip64, and always the zip64 end record + locator +
/// classic end record (spec 2.4, 2.5). Sizes and offsets are in bytes, counted from where `out`
/// stood when the writer was made. Same calls give the same bytes.
///
/// The zip layer stays generic: it writes no `version` record itself. Callers that mirror
/// `writeEndOfFile` check has_record("version") and write it before finalize().
///
/// Errors: kZipBadName (empty or too long name), kZipUnsafeName (absolute, `..`, backslash, NUL),
/// kZipDuplicateName ("Tried to serialize file twice"), kZipWriterState (calls out of order, after
/// finalize() or while a streamed record is open), kZipSizeMismatch (a streamed record got more or
/// fewer bytes than announced), kIoInvalidArgument (bad options), and the io::Writer's errors.
/// After an error the archive is unusable; the io::Writer is left uncommitted (a FileWriter then
/// leaves the target untouched).
class PTIO_API ArchiveWriter {
 public:
  /// Writes to `out`, borrowed: it must outlive the ArchiveWriter. `archive_name` is the folder
  /// (no slash), e.g. from archive_name_for_path().
  ArchiveWriter(io::Writer& out, std::string archive_name, WriterOptions options = {});
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  /// Writes one whole record (`writeRecord(name, data, size, compress)`). With compress=true and
  /// more than 3 bytes the data is deflated (method 8) with libdeflate: valid deflate, but not the
  /// same bytes as miniz's deflate, so archives with compressed records are not byte-identical to
  /// PyTorch's (stored records are).
  void write_record(std::string_view name, const void* data, std::size_t size,
                    bool compress = false);
  void write_record(std::string_view name, std::span<const std::byte> data, bool compress = false) {
    write_record(name, data.data(), data.size(), compress);
  }
  /// Writes one stored record whose CRC-32 the caller already knows (e.g. bytes mapped from a
  /// record of another archive, with that record's CRC-32), without reading the bytes for a
  /// checksum: the same bytes as write_record(name, data, false) when `crc32` is right; a wrong
  /// `crc32` is written as given (a reader then reports a CRC mismatch).
  void write_stored_record(std::string_view name, std::span<const std::byte> data,
                           std::uint32_t crc32);
  /// Writes one stored record whose bytes the caller keeps alive and unchanged until finalize()
  /// returns ("pinned", e.g. the storages being saved): they go to io::Writer::write_stable(), so
  /// an io::FileWriter hands them to writev(2) without copying them into its buffer. `crc32`: the
  /// record's CRC-32 when the caller knows it (written as given, as write_stored_record());
  /// otherwise it comes from prefetch_crc32() when these are the next bytes queued there, else it
  /// is computed here. The same archive bytes as write_record(name, data). If the ArchiveWriter
  /// is dropped without finalize(), `out` must not be committed once the bytes are gone.
  void write_pinned_record(std::string_view name, std::span<const std::byte> data,
                           std::optional<std::uint32_t> crc32 = std::nullopt);
  /// Starts computing the CRC-32 of each of `ranges`, in order, on one background thread, for the
  /// write_pinned_record() calls that follow with the same bytes in the same order (a call with
  /// other bytes computes its own CRC-32 and leaves the queue where it is): checksumming then
  /// overlaps the writes on a second core, and the archive bytes are the same. The ranges must
  /// stay alive until finalize() returns or the ArchiveWriter is destroyed (either stops and
  /// joins the thread). Replaces an earlier queue; does nothing when compute_crc32 is false or
  /// the ranges hold less than 8 MiB in all (a thread would cost more than it saves).
  /// Throws nothing: without a thread the CRC-32s are computed inline.
  void prefetch_crc32(std::vector<std::span<const std::byte>> ranges);

  /// Streams one stored record of exactly `total_size` bytes: begin_record(), append() any number
  /// of times, end_record(). The record is never held whole; its CRC-32 is computed as it goes.
  void begin_record(std::string_view name, std::uint64_t total_size);
  void append(const void* data, std::size_t n);
  void append(std::span<const std::byte> data) { append(data.data(), data.size()); }
  void end_record();

  /// True when `name` (without the folder) was written (or is being streamed).
  bool has_record(std::string_view name) const;
  /// Names written so far, without the folder, in write order.
  const std::vector<std::string>& record_names() const noexcept { return names_; }
  /// Bytes written so far by this archive (the next local header's offset).
  std::uint64_t archive_size() const noexcept;
  const std::string& archive_name() const noexcept { return archive_name_; }

  /// Writes the central directory and end records, then commits `out` (`writeEndOfFile` minus the
  /// version record). A second call is a no-op.
  void finalize();
  bool finalized() const noexcept { return finalized_; }

 private:
  struct Entry {
    std::string full_name;
    std::uint64_t local_header_offset;
    std::uint64_t size;
    std::uint64_t compressed_size;
    std::uint32_t crc32;
    std::uint16_t method;
    std::uint16_t flags;
  };
  void check_open(std::string_view what) const;
  // `crc32_from_prefetch`: the CRC-32 is taken from the prefetch thread after the data is queued
  // (the data descriptor carries it), so writing the record overlaps its checksum.
  void write_record_impl(std::string_view name, const void* data, std::size_t size, bool compress,
                         const std::uint32_t* known_crc32, bool pinned = false,
                         bool crc32_from_prefetch = false);
  std::string check_name(std::string_view name) const;
  void write_local_header(const std::string& full_name, std::uint16_t method, std::uint64_t size);
  void write_descriptor(const Entry& e);
  void add_name(std::string_view name);

  io::Writer& out_;
  std::string archive_name_;
  WriterOptions options_;
  std::uint64_t base_;
  std::vector<Entry> entries_;
  std::vector<std::string> names_;
  // Open-addressing hash index over names_ (index + 1, 0 = empty slot; power-of-two size).
  std::vector<std::uint32_t> name_index_;
  // Scratch bytes for the next local header or central directory run (reused, no per-record
  // allocation).
  std::vector<std::byte> header_;
  // Background CRC-32s of the pinned records to come (prefetch_crc32()), or null.
  std::unique_ptr<detail::Crc32Prefetch> prefetch_;
  bool finalized_ = false;
  bool failed_ = false;
  // Streaming state.
  bool streaming_ = false;
  std::uint64_t stream_written_ = 0;
  Entry stream_entry_{};
};

}  // namespace ptio::zip
