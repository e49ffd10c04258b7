// ReadAdapter: positional, bounds-checked reads from a mapped file, memory, a std::istream or a
// callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "ptio/export.h"

namespace ptio::io {

/// A contiguous run of bytes plus the owner that keeps them alive.
///
/// `data()` stays valid for as long as any copy of the ByteView (or of `owner()`) lives, even after
/// the ReadAdapter it came from is destroyed. Used for zero-copy records from mapped files.
class PTIO_API ByteView {
 public:
  ByteView() = default;
  ByteView(std::span<const std::byte> bytes, std::shared_ptr<const void> owner)
      : bytes_(bytes), owner_(std::move(owner)) {}
  /// Takes ownership of `bytes`.
  explicit ByteView(std::vector<std::byte> bytes);

  const std::byte* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::span<const std::byte> span() const noexcept { return bytes_; }
  const std::shared_ptr<const void>& owner() const noexcept { return owner_; }
  /// A sub-range [offset, offset+n); throws Error(kIoOutOfBounds) when it leaves this view.
  ByteView subview(std::size_t offset, std::size_t n) const;
  /// True for a view of a read-only file mapping (MmapReadAdapter::view and its subviews).
  bool is_file_mapping() const noexcept { return mapped_; }
  /// For a file-mapping view: drops the pages lying wholly inside [offset, offset+n) of the view
  /// from the process's resident set (madvise(MADV_DONTNEED) on the read-only private mapping,
  /// which is never written). The bytes stay valid and unchanged: the next access maps them again
  /// from the page cache. Lets a reader stream through a huge mapped storage in O(chunk) resident
  /// memory. No-op for other views, for empty or out-of-range ranges, and when madvise fails.
  void release_pages(std::size_t offset, std::size_t n) const noexcept;

 private:
  friend class MmapReadAdapter;
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> owner_;
  bool mapped_ = false;
};

/// One read of a batch (ReadAdapter::read_many): `n` bytes at offset `pos` into `buf`; `done` is
/// set when the bytes were read in full.
struct ReadRequest {
  std::uint64_t pos = 0;
  void* buf = nullptr;
  std::size_t n = 0;
  bool done = false;
};

/// Random-access input, the role of `caffe2::serialize::ReadAdapterInterface`.
///
/// Offsets and sizes are in bytes from the start of the source (for an istream: from the stream's
/// position when the adapter was made, as `torch::jit::load(istream&)` does). Implementations are
/// safe to call from several threads at once.
class PTIO_API ReadAdapter {
 public:
  virtual ~ReadAdapter();

  /// Total size of the source in bytes.
  virtual std::uint64_t size() const = 0;

  /// Copies `n` bytes starting at `pos` into `buf`.
  /// Throws Error(kIoOutOfBounds) when [pos, pos+n) is not inside [0, size()), naming `name()` and
  /// `pos`; Error(kIoReadFailed) when the OS or stream fails.
  void read(std::uint64_t pos, void* buf, std::size_t n) const;

  /// Reads [pos, pos+n) into a new vector; same errors as read().
  std::vector<std::byte> read_vector(std::uint64_t pos, std::size_t n) const;

  /// Best effort for many small reads at once (e.g. the local headers of a zip with thousands of
  /// records): fills the buffers of the requests the source can serve together and sets their
  /// `done`. An adapter reading a file descriptor (MmapReadAdapter made from a path) submits
  /// them through one io_uring when the kernel offers it (one system call per few hundred reads
  /// instead of one each); the others do nothing. Requests left undone (out of range, short,
  /// failed, or no batching) are for read(), which reports their errors. Never throws.
  virtual void read_many(std::span<ReadRequest> requests) const noexcept;

  /// Zero-copy view of [pos, pos+n) when the source is in memory or mapped; an empty ByteView with
  /// no owner otherwise (callers then copy with read()). Throws Error(kIoOutOfBounds) as read().
  virtual ByteView view(std::uint64_t pos, std::size_t n) const;

  /// True when view() returns the bytes without copying.
  virtual bool supports_view() const { return false; }

  /// A name for error messages: the path, or "<memory>", "<istream>", "<callback>".
  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 protected:
  explicit ReadAdapter(std::string name) : name_(std::move(name)) {}
  /// Reads exactly n bytes at pos, already bounds-checked by read().
  virtual void do_read(std::uint64_t pos, void* buf, std::size_t n) const = 0;
  void check_range(std::uint64_t pos, std::size_t n) const;

 private:
  std::string name_;
};

/// A read-only memory mapping of a whole file. Shared by every view handed out from it.
class PTIO_API MappedFile {
 public:
  /// Maps `path` read-only. Throws Error(kIoOpenFailed) when it cannot be opened or is not a
  /// regular file, Error(kIoMmapFailed) when mmap fails. An empty file maps to size() == 0.
  /// The file descriptor is closed once the mapping exists (a mapping holds no descriptor).
  /// While it lives, the mapping is known to install_mapped_input_fault_handler()'s handler,
  /// which then names the file and byte offset of a read that faulted in it.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const noexcept { return data_; }
  std::uint64_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  friend class MmapReadAdapter;
  /// open(), and when `fd_out` is given the still-open descriptor of the mapped file is returned
  /// there (the caller closes it) instead of being closed. With `allow_unmapped` and `fd_out`, a
  /// file mmap refuses for lack of address space (ENOMEM) is returned unmapped (data() null).
  static std::shared_ptr<const MappedFile> open_impl(const std::filesystem::path& path,
                                                     int* fd_out, bool allow_unmapped);
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::string path_;
  int fault_slot_ = -1;  // temp_registry::register_mapped_input's slot, or -1
};

/// ReadAdapter over a MappedFile; view() is zero-copy and keeps the mapping alive.
///
/// read() copies. An adapter made from a path keeps the file's descriptor open for its own
/// lifetime (not for the views', which hold only the mapping) and copies with pread(2): bytes that
/// are only copied (zip headers, copied records) then cost no page faults and no page-table
/// entries in the mapping, which matters when an archive has thousands of records (one header per
/// page). A file that shrank under the mapping is Error(kIoReadFailed) instead of SIGBUS. An
/// adapter made from a MappedFile copies from the mapping.
///
/// A file the process has no address space to map (mmap fails with ENOMEM, e.g. under
/// `ulimit -v`) is read with pread alone: supports_view() is then false and view() returns an
/// empty ByteView, so loads copy its storages instead of failing.
class PTIO_API MmapReadAdapter final : public ReadAdapter {
 public:
  /// Maps `path` (or, for lack of address space, only opens it: see above); errors as
  /// MappedFile::open otherwise.
  explicit MmapReadAdapter(const std::filesystem::path& path);
  /// Reads `file` through its mapping (no descriptor). Throws Error(kIoInvalidArgument) for null.
  explicit MmapReadAdapter(std::shared_ptr<const MappedFile> file);
  std::uint64_t size() const override { return file_->size(); }
  ByteView view(std::uint64_t pos, std::size_t n) const override;
  /// True unless the file could not be mapped (see above).
  bool supports_view() const override;
  /// With a descriptor (path constructor): io_uring reads, see ReadAdapter::read_many.
  void read_many(std::span<ReadRequest> requests) const noexcept override;
  /// The mapping; its data() is null when the file could not be mapped (see above).
  const std::shared_ptr<const MappedFile>& file() const noexcept { return file_; }

 private:
  void do_read(std::uint64_t pos, void* buf, std::size_t n) const override;
  std::shared_ptr<const MappedFile> file_;
  std::shared_ptr<const int>
      fd_;  // descriptor of the mapped file (path constructor), shared by copies
};

/// ReadAdapter over bytes in memory, either borrowed (the caller keeps them alive for the adapter's
/// lifetime and that of every view) or owned (moved in; views keep them alive).
class PTIO_API MemoryReadAdapter final : public ReadAdapter {
 public:
  /// Borrows `bytes`; they must outlive the adapter and every ByteView it hands out.
  explicit MemoryReadAdapter(std::span<const std::byte> bytes, std::string name = "<memory>");
  /// Owns `bytes`.
  explicit MemoryReadAdapter(std::vector<std::byte> bytes, std::string name = "<memory>");
  /// Owns a copy of `bytes` (convenience for strings from tests and callers).
  static MemoryReadAdapter copy_of(std::string_view bytes, std::string name = "<memory>");
  std::uint64_t size() const override { return bytes_.size(); }
  ByteView view(std::uint64_t pos, std::size_t n) const override;
  bool supports_view() const override { return true; }

 private:
  void do_read(std::uint64_t pos, void* buf, std::size_t n) const override;
  std::shared_ptr<const std::vector<std::byte>> owned_;
  std::span<const std::byte> bytes_;
};

/// ReadAdapter over a seekable std::istream, as `caffe2::serialize::IStreamAdapter`: byte 0 is the
/// stream's position at construction. The stream is borrowed and must outlive the adapter.
/// Throws Error(kIoReadFailed) at construction when the stream cannot seek.
class PTIO_API IStreamReadAdapter final : public ReadAdapter {
 public:
  explicit IStreamReadAdapter(std::istream& in, std::string name = "<istream>");
  std::uint64_t size() const override { return size_; }

 private:
  void do_read(std::uint64_t pos, void* buf, std::size_t n) const override;
  std::istream& in_;
  std::uint64_t start_ = 0;
  std::uint64_t size_ = 0;
  mutable std::mutex mutex_;
};

/// ReadAdapter over a user callback. `read(pos, buf, n)` must fill `buf` with n bytes at `pos` and
/// return how many it wrote; fewer than n is reported as Error(kIoReadFailed).
class PTIO_API CallbackReadAdapter final : public ReadAdapter {
 public:
  using ReadFn = std::function<std::size_t(std::uint64_t pos, void* buf, std::size_t n)>;
  CallbackReadAdapter(std::uint64_t size, ReadFn read, std::string name = "<callback>");
  std::uint64_t size() const override { return size_; }

 private:
  void do_read(std::uint64_t pos, void* buf, std::size_t n) const override;
  std::uint64_t size_;
  ReadFn read_;
};

/// Reads a whole file into memory (for small inputs and tests). Throws Error(kIoOpenFailed) or
/// Error(kIoReadFailed).
PTIO_API std::vector<std::byte> read_file(const std::filesystem::path& path);

}  // namespace ptio::io
