// ArchiveReader: reads PyTorch's zip profile (the role of caffe2::serialize::PyTorchStreamReader).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptio/error.h"
#include "ptio/export.h"
#include "ptio/io/read_adapter.h"
#include "ptio/zip/limits.h"

namespace ptio::zip {

/// Zip compression methods ptio reads (PyTorch writes only these two: spec-torch-save 2.4,
/// spec-torchscript 2).
enum class CompressionMethod : std::uint16_t {
  kStored = 0,    ///< data stored as is (every tensor, pickle and `version` record)
  kDeflated = 8,  ///< raw deflate (TorchScript `code/` files and `.debug_pkl` over 200 bytes)
};

/// Returns "stored", "deflated", or "method <n>" for other values.
PTIO_API std::string compression_method_name(std::uint16_t method);

/// One central-directory entry, with the facts taken from its local header. All sizes and offsets
/// are in bytes; offsets are absolute positions in the ReadAdapter (already shifted by
/// `ArchiveReader::archive_start()` for a zip with leading bytes).
struct PTIO_API RecordInfo {
  /// Record name without the archive folder (`data.pkl`, `data/0`): what `getRecord` takes. In
  /// lenient mode, when the archive has no common folder, this is the full entry name.
  std::string name;
  /// Entry name exactly as in the central directory (`archive/data.pkl`).
  std::string full_name;
  std::uint64_t size = 0;                 ///< uncompressed size
  std::uint64_t compressed_size = 0;      ///< bytes occupied in the file (== size when stored)
  std::uint64_t local_header_offset = 0;  ///< offset of the `PK\3\4` local header
  /// Offset of the first data byte: local header offset + 30 + local name length + local extra
  /// length, exactly `PyTorchStreamReader::getRecordOffset`.
  std::uint64_t data_offset = 0;
  std::uint32_t crc32 = 0;   ///< CRC-32 from the central directory
  std::uint16_t method = 0;  ///< raw compression method (see CompressionMethod)
  std::uint16_t flags = 0;   ///< general purpose bit flags from the central directory
  /// False when the writer did not compute the CRC: the recorded CRC-32 is 0 while the record is
  /// non-empty. PyTorch >= 2.4 writes such records with `torch.serialization.set_crc32_options
  /// (False)` (miniz's MZ_ZIP_FLAG_DO_NOT_COMPUTE_CRC32). See "CRC policy" on ArchiveReader.
  bool crc_recorded = true;
  /// Set only with ReaderOptions::keep_damaged_records: why the entry's data cannot be found
  /// (its local header is missing, disagrees with this entry, or runs into the central
  /// directory), naming the file, the entry and the byte offset. Every read of the entry throws
  /// this Error; `data_offset` is then 0. Null for a sound entry.
  std::shared_ptr<const Error> damage;

  /// True for method 0 (the only method view() and read_at() serve without inflating).
  bool is_stored() const noexcept { return method == 0; }
  /// True when general purpose bit 0 (encrypted) or 6 (strong encryption) is set.
  bool is_encrypted() const noexcept { return (flags & 0x41) != 0; }
};

/// Options of ArchiveReader. The bounds (`max_entries`, `max_name_length`, `max_inflated_size`)
/// are the zip::Limits base, i.e. `ptio::Limits::zip` (ptio/limits.h): `ReaderOptions o;
/// static_cast<zip::Limits&>(o) = limits.zip;`.
struct PTIO_API ReaderOptions : Limits {
  /// Check the CRC-32 of every record read with read()/read_chunks() (not view()/read_at(), which
  /// hand out bytes without reading them all).
  bool verify_crc = true;
  /// true: PyTorch's rules (PyTorchStreamReader + torch.load): `PK\3\4` at byte 0, every entry
  /// inside the folder of entry 0, at least one entry; and, stricter than PyTorch, no duplicate,
  /// unsafe (`..`, absolute, backslash), encrypted, patched-data or unsupported-method entries,
  /// and local header names equal to central ones. false (lenient, for scanners of odd zips):
  /// leading bytes are skipped by shifting every offset, entries outside a common folder are
  /// listed by full name (prefix ""), duplicates keep the first for lookups, unsafe names are
  /// listed, local names may differ (the central directory wins, as in PyTorch/miniz), and
  /// encrypted/unsupported entries fail only when read. Both modes check every size, offset,
  /// overlap, and local method/flags/CRC/sizes against the central directory.
  bool strict = true;
  /// false (the default): a bad local header (no `PK\3\4` at the entry's offset, an offset
  /// leaving no room for one, a local name/extra running into the central directory, a field
  /// disagreeing with the central entry, data running past it) fails the open, as PyTorch fails
  /// to read the archive. true (inspection, `ptio verify`): the archive opens when its end record
  /// and central directory parse; such an entry is listed with RecordInfo::damage set (the Error
  /// the open would have thrown), left out of the overlap check, and throws that Error when read.
  bool keep_damaged_records = false;
};

/// Reads a zip archive as PyTorch's `PyTorchStreamReader` does: EOCD (searched backwards over
/// 22 + 64 KiB), ZIP64 locator and end record, central directory, a cross-check of every local
/// header, STORED and DEFLATED records, CRC-32, and the archive-folder rule of spec 2.1 (prefix =
/// text before the first `/` of entry 0; lookups are `<prefix>/<name>`).
///
/// Everything is checked when the archive is opened: sizes and offsets inside the file, entries
/// that do not overlap each other or the central directory, local headers matching the central
/// directory. After construction the object is immutable, but for the per-archive inflate ledger
/// (inflated_total(), behind a mutex), and safe to use from several threads.
///
/// CRC policy: a record whose recorded CRC-32 is 0 while it is non-empty has
/// `RecordInfo::crc_recorded == false`: the writer did not compute CRCs (PyTorch's
/// `set_crc32_options(False)` stores 0 in the data descriptor and central directory). Its data is
/// not checked and reads succeed; `ptio verify` reports it as a note. Any other mismatch between
/// the recorded and the computed CRC is Error(kZipCrcMismatch). (A corrupt file whose CRC field was
/// zeroed is therefore not detected; a real all-zero CRC cannot be told apart either.)
///
/// Errors (ptio::Error, naming the file, the record where there is one, and the byte offset):
/// kZipEmptyFile, kZipGitLfsPointer, kZipHtmlPage, kZipPreviewFormat, kZipNotAnArchive (no end
/// record), kZipLeadingBytes (strict: bytes before `PK\3\4`), kZipBadEocd, kZipTruncated,
/// kZipBadCentralDirectory, kZipTooManyEntries, kZipBadLocalHeader, kZipHeaderMismatch,
/// kZipOverlappingEntries, kZipBadName, kZipUnsafeName, kZipDuplicateName, kZipNoPrefix,
/// kZipEmptyArchive, kZipEncrypted, kZipUnsupportedMethod; on access kZipRecordNotFound,
/// kZipCrcMismatch, kZipInflateFailed, kZipSizeMismatch, kLimitExceeded (a record beyond the
/// per-record bounds, or the per-archive inflate budget, see Limits::max_inflated_total); and the
/// io errors of the adapter (kIoReadFailed, kIoOpenFailed, kIoMmapFailed).
class PTIO_API ArchiveReader {
 public:
  /// Reads the directory of the archive in `in` (shared: kept alive by the reader and by views).
  explicit ArchiveReader(std::shared_ptr<const io::ReadAdapter> in, ReaderOptions options = {});
  /// Maps the file at `path` (MmapReadAdapter) and reads its directory.
  explicit ArchiveReader(const std::filesystem::path& path, ReaderOptions options = {});
  /// Movable, not copyable (the name index points into the record list).
  ArchiveReader(ArchiveReader&&) noexcept = default;
  ArchiveReader& operator=(ArchiveReader&&) noexcept = default;
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  /// The archive folder without the slash (`archive`, `model`), or "" in lenient mode when the
  /// entries share no folder.
  const std::string& prefix() const noexcept { return prefix_; }
  /// The adapter's name (a path, `<memory>`...), used in every error.
  const std::string& file_name() const noexcept { return in_->name(); }
  /// Number of bytes before the archive (a prefixed or self-extracting zip; lenient mode only).
  std::uint64_t archive_start() const noexcept { return shift_; }
  /// Every entry in central-directory order (directory entries like `archive/` included, with
  /// name ""). The vector lives as long as the reader.
  const std::vector<RecordInfo>& records() const noexcept { return records_; }
  /// Record names (without prefix) in central-directory order, directory entries excluded: the
  /// role of `PyTorchStreamReader::getAllRecords`.
  std::vector<std::string> record_names() const;

  /// True when `<prefix>/<name>` exists (`hasRecord`).
  bool has_record(std::string_view name) const;
  /// The entry `<prefix>/<name>`, or nullptr when there is none (has_record() and record() in one
  /// lookup, without an exception). The pointer lives as long as the reader.
  const RecordInfo* find_record(std::string_view name) const noexcept;
  /// The entry `<prefix>/<name>`; the reference lives as long as the reader.
  /// Throws Error(kZipRecordNotFound).
  const RecordInfo& record(std::string_view name) const;
  /// Absolute offset of the record's first data byte (`getRecordOffset`). kZipRecordNotFound.
  std::uint64_t data_offset(std::string_view name) const { return record(name).data_offset; }

  /// The record's uncompressed bytes in a new vector (`getRecord`), CRC-checked unless
  /// `verify_crc` is off. A deflated record is charged against the per-archive inflate budget
  /// (inflate_budget()) before it is allocated. Errors: kZipRecordNotFound, kZipCrcMismatch,
  /// kZipEncrypted, kZipUnsupportedMethod, kZipInflateFailed, kZipSizeMismatch, kLimitExceeded
  /// (per-record bounds or the per-archive budget), io errors.
  std::vector<std::byte> read(std::string_view name) const;
  /// Same for one entry of records() (reaches every entry, also shadowed duplicates in lenient
  /// mode). `info` must come from this reader.
  std::vector<std::byte> read(const RecordInfo& info) const;
  /// Same as read() into caller memory of exactly `info.size` bytes (`getRecord(name, dst, n)`).
  void read_into(const RecordInfo& info, std::span<std::byte> out) const;

  /// One record to read whole into caller memory of exactly `record->size` bytes (read_many_into).
  struct RecordRead {
    const RecordInfo* record = nullptr;  ///< from this reader's records()
    std::span<std::byte> out;
  };
  /// read_into() for each of `reads`, with the same checks, CRC-32s and errors, but the stored
  /// records fetched in one batch (io::ReadAdapter::read_many: one io_uring submission per few
  /// hundred reads where the adapter has it, else one read each): loading thousands of small
  /// storages costs one system call per batch instead of one each. Checks every entry before it
  /// reads any; the first failing entry (in order) throws, and `out` spans of the entries are
  /// then unspecified. The spans must not overlap.
  void read_many_into(std::span<const RecordRead> reads) const;

  /// Zero-copy bytes of a STORED record when the adapter supports views (mapped file, memory):
  /// O(1), no copy and no CRC check; the ByteView keeps the mapping alive after the reader is
  /// gone. Otherwise (deflated record, or istream/callback adapter) the record is read as by
  /// read() into a ByteView that owns the copy. Errors as read().
  io::ByteView view(std::string_view name) const;
  /// Same for one entry of records(); `info` must come from this reader.
  io::ByteView view(const RecordInfo& info) const;
  /// True when view(name) is zero-copy.
  bool can_view(std::string_view name) const;
  /// True when view(info) is zero-copy; `info` must come from this reader.
  bool can_view(const RecordInfo& info) const noexcept;

  /// Streams the record's uncompressed bytes to `sink` in pieces of at most `chunk_size` bytes
  /// (the spans are valid only during the call), checking the CRC-32 at the end unless
  /// `verify_crc` is off: a CRC error is thrown after the data was delivered. The record is never
  /// held whole: a stored record is read piecewise, a deflated one inflated piecewise (zlib), so
  /// memory stays O(chunk_size); max_inflated_size and max_inflate_ratio still bound a deflated
  /// record (they bound the work: inflating a GB of zeros costs seconds); it is not charged
  /// against the per-archive budget (nothing is held). Errors as read().
  void read_chunks(std::string_view name,
                   const std::function<void(std::span<const std::byte>)>& sink,
                   std::size_t chunk_size = std::size_t{1} << 20) const;
  /// Copies `n` bytes starting `offset` bytes into a STORED record to `buf` (no CRC check).
  /// Throws Error(kIoOutOfBounds) when [offset, offset+n) leaves the record,
  /// Error(kZipUnsupportedMethod) for a deflated record, Error(kZipRecordNotFound).
  void read_at(std::string_view name, std::uint64_t offset, void* buf, std::size_t n) const;

  /// The first `n` uncompressed bytes of the record (`n` <= its size) in a new vector: what a
  /// storage needs of a longer record. A stored record is copied; a deflated one is inflated only
  /// that far (the rest of its stream is not read), with max_inflated_size and max_inflate_ratio
  /// checked for `n` bytes (not the declared size), and `n` bytes charged against the per-archive
  /// budget, before anything is allocated. No CRC check
  /// unless `n` is the whole record (then exactly read()), since the CRC covers bytes not read.
  /// Errors: kIoOutOfBounds (`n` beyond the record), kZipInflateFailed, kZipSizeMismatch (the
  /// stream ends early, or declares more than 1032:1), kLimitExceeded, and as read().
  std::vector<std::byte> read_prefix(const RecordInfo& info, std::uint64_t n) const;

  /// Computes the CRC-32 of the record's data (reads it all), whatever `verify_crc` says. A
  /// deflated record is inflated piecewise in constant memory, within the bounds read() checks
  /// (kLimitExceeded before anything is inflated; they bound the work). Not charged against the
  /// per-archive budget.
  std::uint32_t compute_crc32(const RecordInfo& info) const;

  /// The per-archive inflate budget in bytes (Limits::max_inflated_total, or the value derived
  /// from the archive when that is 0; UINT64_MAX when off): the most the deflated records read
  /// into memory through this reader may inflate to together.
  std::uint64_t inflate_budget() const noexcept { return inflate_budget_; }
  /// Bytes charged against inflate_budget() so far (each deflated record counted once, for the
  /// most of it inflated into memory). Thread-safe.
  std::uint64_t inflated_total() const;

  /// The adapter the reader reads from.
  const io::ReadAdapter& adapter() const noexcept { return *in_; }
  const ReaderOptions& options() const noexcept { return options_; }

 private:
  struct InflateLedger;
  void open();
  void init_inflate_budget();
  // Before the first `n` bytes of deflated `r` are inflated into memory: checks the per-record
  // bounds (max_inflated_size, max_inflate_ratio) for them and charges them against the
  // per-archive budget (no charge when that much of `r` was charged before). Streaming reads,
  // which hold nothing, check the per-record bounds only. Error(kLimitExceeded).
  void admit_inflate(const RecordInfo& r, std::uint64_t n) const;

  std::shared_ptr<const io::ReadAdapter> in_;
  ReaderOptions options_;
  std::string prefix_;
  std::uint64_t shift_ = 0;
  std::vector<RecordInfo> records_;
  // Open-addressing hash index over RecordInfo::name: records_ index + 1, 0 = empty slot; a
  // power-of-two size at least twice the record count.
  std::vector<std::uint32_t> index_;
  std::uint64_t inflate_budget_ = ~std::uint64_t{0};
  // What has been inflated into memory (shared by the const readers on several threads; shared_ptr
  // so the reader stays movable with the type defined in the .cpp).
  std::shared_ptr<InflateLedger> ledger_;
};

}  // namespace ptio::zip
