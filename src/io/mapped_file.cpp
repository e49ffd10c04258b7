// MappedFile and MmapReadAdapter: read-only mmap of a whole file, shared by zero-copy views.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/uring_read.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/temp_cleanup.h"

namespace ptio::io {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  return open_impl(path, nullptr, false);
}

std::shared_ptr<const MappedFile> MappedFile::open_impl(const std::filesystem::path& path,
                                                        int* fd_out, bool allow_unmapped) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below as not a regular
  // file); it has no effect on reads of regular files.
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw Error(ErrorCode::kIoOpenFailed, detail::concat("cannot open: ", std::strerror(errno)),
                name);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int err = errno;
    ::close(fd);
    throw Error(ErrorCode::kIoOpenFailed,
                S_ISREG(st.st_mode) ? detail::concat("cannot stat: ", std::strerror(err))
                                    : std::string("not a regular file"),
                name);
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = name;
  f->size_ = static_cast<std::uint64_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED && errno == ENOMEM && allow_unmapped && fd_out) {
      // No address space for it (`ulimit -v`, a 32-bit process): the caller reads with pread.
      *fd_out = fd;
      return f;
    }
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kIoMmapFailed, detail::concat("mmap failed: ", std::strerror(err)),
                  name);
    }
    f->data_ = static_cast<const std::byte*>(p);
    f->fault_slot_ = temp_registry::register_mapped_input(p, f->size_, f->path_.c_str());
  }
  if (fd_out)
    *fd_out = fd;
  else
    ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  temp_registry::unregister_mapped_input(fault_slot_);
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

namespace {
struct FdCloser {
  void operator()(const int* fd) const {
    ::close(*fd);
    delete fd;
  }
};
}  // namespace

MmapReadAdapter::MmapReadAdapter(const std::filesystem::path& path) : ReadAdapter(path.string()) {
  int fd = -1;
  file_ = MappedFile::open_impl(path, &fd, true);
  try {
    fd_ = std::shared_ptr<const int>(new int(fd), FdCloser{});
  } catch (...) {
    ::close(fd);
    throw;
  }
}

MmapReadAdapter::MmapReadAdapter(std::shared_ptr<const MappedFile> file)
    : ReadAdapter(file ? file->path() : std::string("<null>")), file_(std::move(file)) {
  if (!file_) throw Error(ErrorCode::kIoInvalidArgument, "null MappedFile");
}

bool MmapReadAdapter::supports_view() const {
  return file_->data() != nullptr || file_->size() == 0;
}

void MmapReadAdapter::do_read(std::uint64_t pos, void* buf, std::size_t n) const {
  if (!fd_) {
    std::memcpy(buf, file_->data() + pos, n);
    return;
  }
  auto* out = static_cast<char*>(buf);
  while (n) {
    const ssize_t k = ::pread(*fd_, out, n, static_cast<off_t>(pos));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      throw Error(ErrorCode::kIoReadFailed,
                  k < 0 ? detail::concat("read failed: ", std::strerror(errno))
                        : detail::concat("the file ends before byte ", pos + n,
                                         " (it shrank after it was opened)"),
                  name(), {}, pos);
    out += k;
    pos += static_cast<std::uint64_t>(k);
    n -= static_cast<std::size_t>(k);
  }
}

void MmapReadAdapter::read_many(std::span<ReadRequest> requests) const noexcept {
  // Through the descriptor only (an adapter over a MappedFile copies from the mapping, which a
  // batch would not make cheaper); and only batches that are all inside the file, worth a ring
  // (its set-up costs about as much as a few dozen preads).
  if (!fd_ || requests.size() < 64) return;
  const std::uint64_t size = file_->size();
  for (const ReadRequest& r : requests)
    if (r.n > size || r.pos > size - r.n) return;
  (void)uring_read_many(*fd_, requests);
}

ByteView MmapReadAdapter::view(std::uint64_t pos, std::size_t n) const {
  check_range(pos, n);
  if (n == 0) return ByteView(std::span<const std::byte>(), file_);
  if (!file_->data()) return ByteView();  // not mapped: the caller reads a copy
  ByteView v(std::span<const std::byte>(file_->data() + pos, n), file_);
  v.mapped_ = true;
  return v;
}

}  // namespace ptio::io
