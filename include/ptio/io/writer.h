// Writer: sequential output to a file (temp + rename), a growable memory buffer, or a callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ptio/export.h"

namespace ptio::io {

/// Sequential byte sink, the role of PyTorchStreamWriter's `writer_func`.
///
/// Call write() any number of times, then commit() once. A Writer that is destroyed without
/// commit() (because an exception unwound past it) discards what it wrote where it can: a file
/// target is left untouched. After a failed write every further call throws Error(kIoWriterClosed).
class PTIO_API Writer {
 public:
  virtual ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Appends `n` bytes. Throws Error(kIoWriteFailed) / Error(kIoShortWrite) on failure,
  /// Error(kIoWriterClosed) after commit() or a failure.
  void write(const void* data, std::size_t n);
  void write(std::span<const std::byte> bytes) { write(bytes.data(), bytes.size()); }
  /// Appends `n` bytes that the caller keeps alive and unchanged until commit() returns or the
  /// Writer is destroyed ("stable" bytes, e.g. tensor storages being saved). A FileWriter then
  /// hands large runs of them to writev(2) at its next flush instead of copying them into its
  /// buffer first; the other writers copy or forward them at once, as write() does. Same bytes
  /// and errors as write().
  void write_stable(const void* data, std::size_t n);
  void write_stable(std::span<const std::byte> bytes) { write_stable(bytes.data(), bytes.size()); }
  /// Appends `n` copies of `byte`.
  void write_fill(std::byte byte, std::size_t n);

  /// A hint that about `n` more bytes follow (ptio::save gives the size of the archive it is
  /// about to write). A MemoryWriter reserves room for them at once, with huge pages advised for a
  /// large buffer, instead of growing by doubling; a FileWriter allocates the temporary's blocks
  /// for them (fallocate(2)), so the writes that follow skip the file system's block allocation;
  /// the other writers ignore it. Writing more or fewer bytes than announced is allowed. Throws
  /// std::bad_alloc when a MemoryWriter cannot reserve the room; nothing otherwise, and nothing
  /// after commit().
  void expect(std::uint64_t n);

  /// Bytes written so far.
  std::uint64_t position() const noexcept { return position_; }

  /// Makes the output final (flushes; for files: fsync-free rename into place). Throws as write()
  /// and Error(kIoRenameFailed). Calling it twice is a no-op.
  void commit();
  bool committed() const noexcept { return committed_; }

 protected:
  Writer() = default;
  virtual void do_write(const void* data, std::size_t n) = 0;
  /// write_stable()'s hook; the default copies/forwards like do_write().
  virtual void do_write_stable(const void* data, std::size_t n) { do_write(data, n); }
  virtual void do_commit() {}
  /// expect()'s hook; the default ignores the hint.
  virtual void do_expect(std::uint64_t /*n*/) {}

 private:
  // write() and write_stable(): the state checks, then do_write()/do_write_stable().
  void put(const void* data, std::size_t n, bool stable);
  std::uint64_t position_ = 0;
  bool committed_ = false;
  bool failed_ = false;
};

/// Writes `path` through a temporary sibling (`<path>.tmp.<random>`) that commit() renames into
/// place; without commit() the temporary is removed and `path` is never touched. When that name
/// would exceed the folder's NAME_MAX (a base name over 244 bytes on most file systems), the
/// temporary is `<base name cut to fit>~<8 hex digits hashing the whole name>.tmp.<random>`.
/// A symlink `path` is written through (its target file is replaced, the link kept); the result
/// keeps the mode of the file it replaces. Throws Error(kIoOpenFailed) when the temporary cannot
/// be created (e.g. the folder is missing) or `path` exists and is not a regular file (a device,
/// FIFO, socket or directory, which the rename would replace). The temporary is registered for
/// removal on SIGINT/SIGTERM/SIGHUP once the program opts in with
/// install_temp_file_cleanup_handlers() (temp_cleanup.h).
///
/// Small writes are gathered in a 1 MiB buffer; stable writes (write_stable()) of 4 KiB or more are
/// queued by address and written with the buffered bytes by writev(2) (1024 pieces a call), so a
/// storage's bytes go from its memory (or mapping) to the kernel with one copy. When a first batch
/// fills (1024 pieces or 1 MiB of buffered bytes), a second thread starts and writes the batches
/// (later ones up to 8192 pieces) while the caller fills the next one (two 1 MiB buffers in turn):
/// building what comes next (zip headers, say) overlaps the kernel's copy. A write error there is
/// thrown by the next call that waits for it (write, write_stable, commit) with the file offset
/// where it happened. Outputs that never fill a batch (a few large pieces, or small files) are
/// written on the caller's thread. expect() allocates the temporary's blocks up front where the
/// file system can (fallocate(2); ext4 then writes ~1.5x faster: the block allocation the writes
/// would do happens once; never past the process's file-size limit, RLIMIT_FSIZE), and commit()
/// cuts the file back to the bytes written (also after an allocation that failed partway, as
/// ext4's does on a disk that fills).
class PTIO_API FileWriter final : public Writer {
 public:
  explicit FileWriter(std::filesystem::path path);
  ~FileWriter() override;
  const std::filesystem::path& path() const noexcept { return path_; }
  const std::filesystem::path& temp_path() const noexcept { return temp_path_; }

 private:
  void do_write(const void* data, std::size_t n) override;
  void do_write_stable(const void* data, std::size_t n) override;
  void do_commit() override;
  void do_expect(std::uint64_t n) override;
  struct Batch;
  struct Flusher;
  void queue(const std::byte* data, std::size_t n);
  // Hands the current batch to the flush thread (started on first use) and waits until the other
  // batch is free; throws the flush thread's error, if any.
  void hand_off();
  // Waits until everything handed off or pending is written; throws the flush thread's error.
  void drain();
  void stop_flusher() noexcept;
  // Starts the flush thread; false when none can be started (then batches are written here).
  bool start_flusher();
  // Writes the current batch on the caller's thread.
  void write_current_here();
  [[noreturn]] void throw_write_failed(int err, std::uint64_t offset) const;
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  struct BlockDeleter {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, BlockDeleter> block_;  // both batches' buffers
  std::unique_ptr<Batch> batches_[2];
  int current_ = 0;  // the batch being filled
  std::unique_ptr<Flusher> flusher_;
  bool threadless_ = false;    // a thread could not be started: write on the caller's thread
  std::uint64_t written_ = 0;  // bytes in the file (updated by the thread writing)
  // The size do_expect() may have extended the file to (0: never; a failed fallocate can have
  // grown it partway); commit() cuts it back to written_.
  std::uint64_t allocated_ = 0;
  int cleanup_slot_ = -1;  // slot in the signal-cleanup table (temp_cleanup.h), -1 for none
};

/// Appends to a growable in-memory buffer that the writer owns; take it with release() or read it
/// with bytes().
class PTIO_API MemoryWriter final : public Writer {
 public:
  MemoryWriter() = default;
  const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
  /// Moves the buffer out; the writer is empty afterwards.
  std::vector<std::byte> release() noexcept { return std::move(bytes_); }

 private:
  void do_write(const void* data, std::size_t n) override;
  void do_expect(std::uint64_t n) override;
  // Grows the buffer to at least `capacity` bytes, advising huge pages before it is touched.
  void grow(std::size_t capacity);
  std::vector<std::byte> bytes_;
};

/// Forwards to a user callback of the shape of `save_jit_module_to_write_func`'s writer:
/// `size_t(const void* data, size_t n)`, returning how many bytes it took. A return below n is
/// Error(kIoShortWrite).
class PTIO_API CallbackWriter final : public Writer {
 public:
  using WriteFn = std::function<std::size_t(const void* data, std::size_t n)>;
  explicit CallbackWriter(WriteFn fn);

 private:
  void do_write(const void* data, std::size_t n) override;
  WriteFn fn_;
};

/// Forwards to a borrowed std::ostream; a stream in a failed state after a write is
/// Error(kIoWriteFailed). commit() flushes.
class PTIO_API OStreamWriter final : public Writer {
 public:
  explicit OStreamWriter(std::ostream& out);

 private:
  void do_write(const void* data, std::size_t n) override;
  void do_commit() override;
  std::ostream& out_;
};

}  // namespace ptio::io
