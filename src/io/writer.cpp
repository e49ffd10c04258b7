// Writer implementations: temp-file-and-rename file output, memory buffer, callback, ostream.
#include "ptio/io/writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <cstdio>
#include <cstring>
#include <ostream>

#include "ptio/error.h"
#include "ptio/io/temp_cleanup.h"

namespace ptio::io {

using detail::concat;

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

FileWriter::FileWriter(std::filesystem::path path) : path_(std::move(path)) {
  // A symlink target is written through (the link's file is replaced, the link kept); an existing
  // non-regular file (a device, FIFO, socket, directory) is refused: renaming a new file over it
  // would replace the node itself (`ptio convert a.pt /dev/null` as root).
  std::error_code ec;
  if (std::filesystem::is_symlink(path_, ec)) path_ = std::filesystem::weakly_canonical(path_, ec);
  struct stat existing {};
  const bool exists = ::stat(path_.c_str(), &existing) == 0;
  if (exists && !S_ISREG(existing.st_mode))
    throw Error(ErrorCode::kIoOpenFailed,
                "not a regular file: ptio writes a temporary file and renames it into place, "
                "which would replace it; write to a regular file path instead",
                path_.string());
  std::string tmpl = temp_template(path_);
  {
    // Create and register the temporary with the cleanup signals blocked, so a signal cannot
    // land between the two and leave it behind.
    sigset_t block, old;
    sigemptyset(&block);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
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
  buffer_.resize(kFileBufferSize);
  pieces_.reserve(kMaxPieces);
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed()) ::unlink(temp_path_.c_str());
  temp_registry::unregister_temp_file(cleanup_slot_);
}

void FileWriter::throw_write_failed(int err) const {
  // Stable and large writes go straight from the caller's memory, often a zero-copy view of a
  // mapped input: EFAULT means those pages no longer exist (the input was truncated meanwhile), a
  // failure to read the input, not to write the output.
  if (err == EFAULT)
    throw Error(ErrorCode::kIoReadFailed,
                "write failed: the bytes to write are unreadable (EFAULT): an input file "
                "mapped into memory was truncated or changed while it was read",
                path_.string(), {}, position());
  throw Error(ErrorCode::kIoWriteFailed, concat("write failed: ", std::strerror(err)),
              path_.string(), {}, position());
}

// Adds `n` bytes at `data` to the pending pieces (merging with the previous piece when they are
// adjacent, as consecutive buffer runs are); a full piece list is written out.
void FileWriter::queue(const std::byte* data, std::size_t n) {
  if (!pieces_.empty() && pieces_.back().first + pieces_.back().second == data) {
    pieces_.back().second += n;
    return;
  }
  pieces_.emplace_back(data, n);
  if (pieces_.size() == kMaxPieces) flush_buffer();
}

// Writes every pending piece with writev(2), resuming after partial writes.
void FileWriter::flush_buffer() {
  std::size_t i = 0;
  while (i < pieces_.size()) {
    const std::size_t count = std::min(pieces_.size() - i, kMaxPieces);
    const ssize_t k = ::writev(fd_, reinterpret_cast<const iovec*>(pieces_.data() + i),
                               static_cast<int>(count));
    if (k < 0) {
      if (errno == EINTR) continue;
      throw_write_failed(errno);
    }
    if (k == 0) throw_write_failed(ENOSPC);
    auto done = static_cast<std::size_t>(k);
    while (done && i < pieces_.size()) {
      auto& [p, len] = pieces_[i];
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
  pieces_.clear();
  buffered_ = 0;
}

void FileWriter::do_write(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  if (n >= buffer_.size()) {
    // Too big to buffer: written now, after what is pending (it is not stable past this call).
    flush_buffer();
    while (n) {
      const ssize_t k = ::write(fd_, p, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw_write_failed(errno);
      }
      if (k == 0) throw_write_failed(ENOSPC);
      p += k;
      n -= static_cast<std::size_t>(k);
    }
    return;
  }
  if (buffered_ + n > buffer_.size()) flush_buffer();
  std::byte* at = buffer_.data() + buffered_;
  std::memcpy(at, p, n);
  buffered_ += n;
  queue(at, n);
}

void FileWriter::do_write_stable(const void* data, std::size_t n) {
  if (n < kStableMinBytes) return do_write(data, n);
  queue(static_cast<const std::byte*>(data), n);
}

void FileWriter::do_commit() {
  flush_buffer();
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error(ErrorCode::kIoWriteFailed, concat("close failed: ", std::strerror(errno)),
                path_.string());
  }
  fd_ = -1;
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw Error(ErrorCode::kIoRenameFailed,
                concat("cannot rename ", temp_path_.string(), " into place: ", std::strerror(errno)),
                path_.string());
  temp_registry::unregister_temp_file(cleanup_slot_);  // renamed: nothing left to remove on a signal
  cleanup_slot_ = -1;
}

// ---- memory, callback, ostream ---------------------------------------------------------------

void MemoryWriter::do_write(const void* data, std::size_t n) {
  const auto* p = static_cast<const std::byte*>(data);
  bytes_.insert(bytes_.end(), p, p + n);
}

CallbackWriter::CallbackWriter(WriteFn fn) : fn_(std::move(fn)) {
  if (!fn_) throw Error(ErrorCode::kIoInvalidArgument, "empty write callback");
}

void CallbackWriter::do_write(const void* data, std::size_t n) {
  const std::size_t took = fn_(data, n);
  if (took != n)
    throw Error(ErrorCode::kIoShortWrite,
                concat("write callback took ", took, " of ", n, " bytes"), "<callback>", {},
                position());
}

OStreamWriter::OStreamWriter(std::ostream& out) : out_(out) {}

void OStreamWriter::do_write(const void* data, std::size_t n) {
  out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out_) throw Error(ErrorCode::kIoWriteFailed, "stream write failed", "<ostream>", {}, position());
}

void OStreamWriter::do_commit() {
  out_.flush();
  if (!out_) throw Error(ErrorCode::kIoWriteFailed, "stream flush failed", "<ostream>");
}

}  // namespace ptio::io
