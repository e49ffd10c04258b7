// Writer implementations: temp-file-and-rename file output, memory buffer, callback, ostream.
#include "ptio/io/writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "io/huge_pages.h"
#include "ptio/error.h"
#include "ptio/io/temp_cleanup.h"

namespace ptio::io {

using ptio::detail::concat;

Writer::~Writer() = default;

void Writer::write(const void* data, std::size_t n) {
  put(data, n, false);
}

void Writer::write_stable(const void* data, std::size_t n) {
  put(data, n, true);
}

void Writer::put(const void* data, std::size_t n, bool stable) {
  if (committed_ || failed_)
    throw Error(ErrorCode::kIoWriterClosed,
                committed_ ? "write after commit()" : "write after an earlier write failed");
  if (n == 0) return;
  try {
    if (stable)
      do_write_stable(data, n);
    else
      do_write(data, n);
  } catch (...) {
    failed_ = true;
    throw;
  }
  position_ += n;
}

void Writer::write_fill(std::byte byte, std::size_t n) {
  std::byte chunk[256];
  std::memset(chunk, static_cast<int>(byte), sizeof chunk);
  while (n) {
    const std::size_t k = n < sizeof chunk ? n : sizeof chunk;
    write(chunk, k);
    n -= k;
  }
}

void Writer::expect(std::uint64_t n) {
  if (committed_ || failed_) return;
  do_expect(n);
}

void Writer::commit() {
  if (committed_) return;
  if (failed_) throw Error(ErrorCode::kIoWriterClosed, "commit() after a failed write");
  try {
    do_commit();
  } catch (...) {
    failed_ = true;
    throw;
  }
  committed_ = true;
}

// ---- file ----------------------------------------------------------------------------------

namespace {
constexpr std::size_t kFileBufferSize = 1 << 20;
// Stable writes below this are copied into the buffer (cheaper than one more iovec).
constexpr std::size_t kStableMinBytes = 4096;
// Pieces per writev(2) (Linux IOV_MAX).
constexpr std::size_t kMaxPieces = 1024;
// Pieces per batch (written with several writev calls): few hand-offs between the threads, since
// each may wait for the other thread to be scheduled on a busy machine.
constexpr std::size_t kBatchPieces = 8 * kMaxPieces;
// Bytes per batch (pieces of stable memory included): a batch holding this much is handed off at
// once, so a large record starts being written as soon as it is queued (a whole 1 GiB archive of
// a few records had waited in one batch until commit()).
constexpr std::size_t kBatchBytes = std::size_t{32} << 20;
static_assert(sizeof(std::pair<const std::byte*, std::size_t>) == sizeof(iovec));

// The mkstemp template of the temporary for `path`: `<path>.tmp.XXXXXX` in the same folder (so the
// rename stays on one file system). When that file name would exceed the folder's NAME_MAX (a
// 250-byte OUT is valid, its temporary would not be), the base name is cut to fit and followed by
// `~` and 8 hex digits of its FNV-1a hash, so temporaries of long names sharing a prefix differ:
// `<first bytes of the name>~1a2b3c4d.tmp.XXXXXX`. The cut never splits a UTF-8 sequence.
std::string temp_template(const std::filesystem::path& path) {
  constexpr std::string_view kSuffix = ".tmp.XXXXXX";
  const std::string name = path.filename().string();
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  if (name_max <= 0) name_max = 255;  // unknown (or the folder is missing: mkstemp reports it)
  const std::size_t limit = static_cast<std::size_t>(name_max);
  if (name.size() + kSuffix.size() <= limit) return path.string() + std::string(kSuffix);
  std::uint32_t h = 2166136261u;
  for (const unsigned char c : name) h = (h ^ c) * 16777619u;
  char tag[10];
  std::snprintf(tag, sizeof tag, "~%08x", static_cast<unsigned>(h));
  std::size_t keep = limit > kSuffix.size() + 9 ? limit - kSuffix.size() - 9 : 0;
  keep = std::min(keep, name.size());
  while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
  std::filesystem::path tmp = path;
  tmp.replace_filename(name.substr(0, keep) + tag + std::string(kSuffix));
  return tmp.string();
}
}  // namespace

// One batch: a 1 MiB buffer and the pieces to write from it and from stable caller bytes, in file
// order (pointer, length pairs: struct iovec's layout).
struct FileWriter::Batch {
  std::byte* buffer = nullptr;  // kFileBufferSize bytes of the writer's block
  std::size_t buffered = 0;
  std::size_t queued = 0;  // bytes of all pieces (buffered and stable)
  std::vector<std::pair<const std::byte*, std::size_t>> pieces;
};

// The flush thread and what it shares with the writer's thread (under `m`).
struct FileWriter::Flusher {
  std::thread thread;
  std::mutex m;
  std::condition_variable cv;
  bool pending[2] = {false, false};  // handed off and not yet written
  bool stop = false;
  int error = 0;  // errno of the first failed write; later batches are dropped
  std::uint64_t error_offset = 0;
};

FileWriter::FileWriter(std::filesystem::path path) : path_(std::move(path)) {
  // Both batches' buffers in one block (huge pages advised: one fault instead of 512), allocated
  // before the temporary exists.
  block_.reset(static_cast<std::byte*>(detail::allocate_huge_advised(2 * kFileBufferSize)));
  for (int i = 0; i < 2; ++i) {
    batches_[i] = std::make_unique<Batch>();
    batches_[i]->buffer = block_.get() + i * kFileBufferSize;
    batches_[i]->pieces.reserve(kBatchPieces);
  }
  // A symlink target is written through (the link's file is replaced, the link kept); an existing
  // non-regular file (a device, FIFO, socket, directory) is refused: renaming a new file over it
  // would replace the node itself (`ptio convert a.pt /dev/null` as root).
  // stat(2) follows the links, so a link to a pipe or terminal (/dev/stdout, /proc/self/fd/N,
  // whose target "pipe:[N]" is no path) is refused here, before its target is made a path.
  struct stat existing {};
  const bool exists = ::stat(path_.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode))
    throw Error(ErrorCode::kIoOpenFailed,
                "not a regular file: ptio writes a temporary file and renames it into place, "
                "which would replace it; write to a regular file path instead",
                path_.string());
  std::error_code ec;
  if (std::filesystem::is_symlink(path_, ec)) path_ = std::filesystem::weakly_canonical(path_, ec);
  std::string tmpl = temp_template(path_);
  {
    // Create and register the temporary with the cleanup signals blocked, so a signal cannot
    // land between the two and leave it behind.
    sigset_t old;
    temp_registry::block_cleanup_signals(&old);
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ >= 0) cleanup_slot_ = temp_registry::register_temp_file(tmpl.c_str());
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  if (fd_ < 0)
    throw Error(ErrorCode::kIoOpenFailed,
                concat("cannot create temporary file ", tmpl, ": ", std::strerror(errno)),
                path_.string());
  temp_path_ = tmpl;
  // mkstemp creates 0600; give the result the mode of the file it replaces, else the mode a
  // plain open() would (0666 & ~umask).
  if (exists) {
    ::fchmod(fd_, existing.st_mode & 07777);
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, 0666 & ~mask);
  }
}

namespace {
// Writes `pieces` with writev(2) from `offset` on, resuming after partial writes and EINTR.
// Returns 0, or the errno of the failure with `offset` where it happened.
int write_pieces(int fd, std::vector<std::pair<const std::byte*, std::size_t>>& pieces,
                 std::uint64_t& offset) {
  std::size_t i = 0;
  while (i < pieces.size()) {
    const std::size_t count = std::min(pieces.size() - i, kMaxPieces);
    const ssize_t k =
        ::writev(fd, reinterpret_cast<const iovec*>(pieces.data() + i), static_cast<int>(count));
    if (k < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (k == 0) return ENOSPC;
    auto done = static_cast<std::size_t>(k);
    offset += done;
    while (done && i < pieces.size()) {
      auto& [p, len] = pieces[i];
      if (done >= len) {
        done -= len;
        ++i;
      } else {
        p += done;
        len -= done;
        done = 0;
      }
    }
  }
  return 0;
}
}  // namespace

void FileWriter::BlockDeleter::operator()(std::byte* p) const noexcept {
  std::free(p);
}

FileWriter::~FileWriter() {
  stop_flusher();
  if (fd_ >= 0) ::close(fd_);
  if (!committed()) ::unlink(temp_path_.c_str());
  temp_registry::unregister_temp_file(cleanup_slot_);
}

void FileWriter::stop_flusher() noexcept {
  if (!flusher_ || !flusher_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(flusher_->m);
    flusher_->stop = true;
  }
  flusher_->cv.notify_all();
  flusher_->thread.join();
}

void FileWriter::throw_write_failed(int err, std::uint64_t offset) const {
  // Stable and large writes go straight from the caller's memory, often a zero-copy view of a
  // mapped input: EFAULT means those pages no longer exist (the input was truncated meanwhile), a
  // failure to read the input, not to write the output.
  if (err == EFAULT)
    throw Error(ErrorCode::kIoReadFailed,
                "write failed: the bytes to write are unreadable (EFAULT): an input file "
                "mapped into memory was truncated or changed while it was read",
                path_.string(), {}, offset);
  throw Error(ErrorCode::kIoWriteFailed, concat("write failed: ", std::strerror(err)),
              path_.string(), {}, offset);
}

// Adds `n` bytes at `data` to the current batch (merging with the previous piece when they are
// adjacent, as consecutive buffer runs are); a full piece list is handed off.
void FileWriter::queue(const std::byte* data, std::size_t n) {
  Batch& b = *batches_[current_];
  auto& pieces = b.pieces;
  b.queued += n;
  if (!pieces.empty() && pieces.back().first + pieces.back().second == data) {
    pieces.back().second += n;
  } else {
    pieces.emplace_back(data, n);
    // The first batch is handed off early (the flush thread starts writing sooner), later ones
    // full.
    if (pieces.size() == (flusher_ ? kBatchPieces : kMaxPieces)) return hand_off();
  }
  if (b.queued >= kBatchBytes) hand_off();
}

bool FileWriter::start_flusher() {
  if (threadless_) return false;
  flusher_ = std::make_unique<Flusher>();
  // Blocks every signal in the flush thread (inherited mask), so the temp-file cleanup and the
  // CLI's handlers run on the caller's thread as they did before.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    flusher_->thread = std::thread([this] {
      Flusher& f = *flusher_;
      int next = 0;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(f.m);
          f.cv.wait(lock, [&] { return f.stop || f.pending[next]; });
          if (f.stop) {
            // commit() drains before it stops the thread: a batch still pending here belongs
            // to a writer destroyed without commit(), whose temporary is removed.
            f.pending[0] = f.pending[1] = false;
            f.cv.notify_all();
            return;
          }
        }
        Batch& b = *batches_[next];
        int err = 0;
        std::uint64_t offset = 0;  // where this batch starts (large writes happen in between)
        {
          std::lock_guard<std::mutex> lock(f.m);
          err = f.error;
          offset = written_;
        }
        if (!err) err = write_pieces(fd_, b.pieces, offset);
        b.pieces.clear();
        b.buffered = 0;
        b.queued = 0;
        {
          std::lock_guard<std::mutex> lock(f.m);
          if (err && !f.error) {
            f.error = err;
            f.error_offset = offset;
          }
          f.pending[next] = false;
          written_ = offset;
        }
        f.cv.notify_all();
        next ^= 1;
      }
    });
  } catch (const std::system_error&) {
    // No thread to be had (a resource limit): this writer writes on the caller's thread.
    flusher_.reset();
    threadless_ = true;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return flusher_ != nullptr;
}

void FileWriter::hand_off() {
  if (batches_[current_]->pieces.empty()) return;
  if (!flusher_ && !start_flusher()) return write_current_here();
  Flusher& f = *flusher_;
  const int other = current_ ^ 1;
  {
    std::unique_lock<std::mutex> lock(f.m);
    f.pending[current_] = true;
    f.cv.notify_all();
    f.cv.wait(lock, [&] { return !f.pending[other]; });
    if (f.error) throw_write_failed(f.error, f.error_offset);
  }
  current_ = other;
}

void FileWriter::write_current_here() {
  Batch& b = *batches_[current_];
  std::uint64_t offset = written_;
  const int err = write_pieces(fd_, b.pieces, offset);
  written_ = offset;
  b.pieces.clear();
  b.buffered = 0;
  b.queued = 0;
  if (err) throw_write_failed(err, offset);
}

void FileWriter::drain() {
  if (!flusher_) return write_current_here();  // never started (or could not be)
  hand_off();
  Flusher& f = *flusher_;
  std::unique_lock<std::mutex> lock(f.m);
  f.cv.wait(lock, [&] { return !f.pending[0] && !f.pending[1]; });
  if (f.error) throw_write_failed(f.error, f.error_offset);
}

void FileWriter::do_write(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  if (n >= kFileBufferSize) {
    // Too big to buffer: written now, after what is pending (it is not stable past this call).
    drain();
    std::uint64_t offset = written_;
    while (n) {
      const ssize_t k = ::write(fd_, p, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw_write_failed(errno, offset);
      }
      if (k == 0) throw_write_failed(ENOSPC, offset);
      p += k;
      n -= static_cast<std::size_t>(k);
      offset += static_cast<std::uint64_t>(k);
      written_ = offset;
    }
    return;
  }
  if (batches_[current_]->buffered + n > kFileBufferSize) hand_off();
  Batch& b = *batches_[current_];
  std::byte* at = b.buffer + b.buffered;
  std::memcpy(at, p, n);
  b.buffered += n;
  queue(at, n);
}

void FileWriter::do_write_stable(const void* data, std::size_t n) {
  if (n < kStableMinBytes) return do_write(data, n);
  queue(static_cast<const std::byte*>(data), n);
}

void FileWriter::do_expect(std::uint64_t n) {
  // Advice only: a file system without fallocate(2) (EOPNOTSUPP), a full disk (the bound may
  // overestimate) or any other failure leaves the writes to allocate as they go. Not
  // posix_fallocate(), which emulates the call by writing zeros where it is missing.
  std::uint64_t end = position() + n;
  // Never past the file-size limit (RLIMIT_FSIZE): there fallocate raises SIGXFSZ, whose default
  // action ends the process, for bytes the bound may overestimate and that may never be written.
  rlimit fsize{};
  if (::getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY)
    end = std::min<std::uint64_t>(end, fsize.rlim_cur);
  if (fd_ < 0 || end <= allocated_ || end > static_cast<std::uint64_t>(INT64_MAX)) return;
  if (::fallocate(fd_, 0, 0, static_cast<off_t>(end)) == 0 ||
      (errno != EOPNOTSUPP && errno != ENOSYS))
    // A failure can still have grown the file: ext4 raises the size with each extent it
    // allocates, so a disk that fills midway (ENOSPC) leaves it longer than written, with zeros
    // past the data. commit() then cuts it back as after a success.
    allocated_ = end;
}

void FileWriter::do_commit() {
  drain();
  stop_flusher();
  // The size expect() gave the file, cut back to what was written (which frees the blocks past
  // it).
  if (allocated_ > written_ && ::ftruncate(fd_, static_cast<off_t>(written_)) != 0)
    throw_write_failed(errno, written_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error(ErrorCode::kIoWriteFailed, concat("close failed: ", std::strerror(errno)),
                path_.string());
  }
  fd_ = -1;
  // The rename can take a while (ext4 starts writing a file renamed over another back first): a
  // signal arriving meanwhile is held until the new file is in place and no longer registered,
  // so OUT is then the complete new file, never a removed temporary under a reported success or
  // a replaced OUT under a cleanup that believes it was left alone.
  sigset_t old;
  temp_registry::block_cleanup_signals(&old);
  const int renamed = std::rename(temp_path_.c_str(), path_.c_str());
  const int err = errno;
  if (renamed == 0) {
    temp_registry::unregister_temp_file(cleanup_slot_);  // nothing left to remove on a signal
    cleanup_slot_ = -1;
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (renamed != 0)
    throw Error(ErrorCode::kIoRenameFailed,
                concat("cannot rename ", temp_path_.string(), " into place: ", std::strerror(err)),
                path_.string());
}

// ---- memory, callback, ostream ---------------------------------------------------------------

namespace {
// Advises huge pages for the 2 MiB-aligned interior of a fresh (untouched) buffer.
void advise_huge_interior(std::byte* p, std::size_t n) {
#ifdef MADV_HUGEPAGE
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (begin + detail::kHugePageBytes - 1) & ~(detail::kHugePageBytes - 1);
  const std::uintptr_t last = (begin + n) & ~(detail::kHugePageBytes - 1);
  if (last > first)
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);  // advice only
#else
  (void)p;
  (void)n;
#endif
}
}  // namespace

void MemoryWriter::grow(std::size_t capacity) {
  // A fresh buffer whose huge pages are advised before its first byte is written: std::vector's
  // own growth faults the new buffer in 4 KiB pages (tens of microseconds each in a VM: a 200 MB
  // save to memory took 3 s).
  std::vector<std::byte> bigger;
  bigger.reserve(capacity);
  advise_huge_interior(bigger.data(), bigger.capacity());
  bigger.insert(bigger.end(), bytes_.begin(), bytes_.end());
  bytes_.swap(bigger);
}

void MemoryWriter::do_expect(std::uint64_t n) {
  const std::size_t size = bytes_.size();
  if (n <= bytes_.capacity() - size || n > bytes_.max_size() - size) return;
  grow(size + static_cast<std::size_t>(n));
}

void MemoryWriter::do_write(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  const std::size_t size = bytes_.size();
  if (n > bytes_.capacity() - size && size + n >= detail::kHugePageMinBytes) {
    if (n > bytes_.max_size() - size) throw std::bad_alloc();
    grow(std::max(size + n, std::min(bytes_.max_size() / 2, size) * 2));  // doubling
  }
  bytes_.insert(bytes_.end(), p, p + n);
}

CallbackWriter::CallbackWriter(WriteFn fn) : fn_(std::move(fn)) {
  if (!fn_) throw Error(ErrorCode::kIoInvalidArgument, "empty write callback");
}

void CallbackWriter::do_write(const void* data, std::size_t n) {
  const std::size_t took = fn_(data, n);
  if (took != n)
    throw Error(ErrorCode::kIoShortWrite, concat("write callback took ", took, " of ", n, " bytes"),
                "<callback>", {}, position());
}

OStreamWriter::OStreamWriter(std::ostream& out) : out_(out) {}

void OStreamWriter::do_write(const void* data, std::size_t n) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out_)
    throw Error(ErrorCode::kIoWriteFailed, "stream write failed", "<ostream>", {}, position());
}

void OStreamWriter::do_commit() {
  out_.flush();
  if (!out_) throw Error(ErrorCode::kIoWriteFailed, "stream flush failed", "<ostream>");
}

}  // namespace ptio::io
