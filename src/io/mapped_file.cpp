// MappedFile and MmapReadAdapter: read-only mmap of a whole file, shared by zero-copy views.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"

namespace ptio::io {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(ErrorCode::kIoOpenFailed, detail::concat("cannot open: ", std::strerror(errno)), name);
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
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kIoMmapFailed, detail::concat("mmap failed: ", std::strerror(err)), name);
    }
    f->data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

MmapReadAdapter::MmapReadAdapter(const std::filesystem::path& path)
    : MmapReadAdapter(MappedFile::open(path)) {}

MmapReadAdapter::MmapReadAdapter(std::shared_ptr<const MappedFile> file)
    : ReadAdapter(file ? file->path() : std::string("<null>")), file_(std::move(file)) {
  if (!file_) throw Error(ErrorCode::kIoInvalidArgument, "null MappedFile");
}

void MmapReadAdapter::do_read(std::uint64_t pos, void* buf, std::size_t n) const {
  std::memcpy(buf, file_->data() + pos, n);
}

ByteView MmapReadAdapter::view(std::uint64_t pos, std::size_t n) const {
  check_range(pos, n);
  if (n == 0) return ByteView(std::span<const std::byte>(), file_);
  return ByteView(std::span<const std::byte>(file_->data() + pos, n), file_);
}

}  // namespace ptio::io
