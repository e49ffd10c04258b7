// ReadAdapter implementations: memory, istream and callback sources, and ByteView.
#include "ptio/io/read_adapter.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <istream>

#include "ptio/error.h"

namespace ptio::io {

using detail::concat;
using detail::hex;

ByteView::ByteView(std::vector<std::byte> bytes) {
  auto owned = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
  bytes_ = std::span<const std::byte>(owned->data(), owned->size());
  owner_ = std::move(owned);
}

ByteView ByteView::subview(std::size_t offset, std::size_t n) const {
  if (offset > bytes_.size() || n > bytes_.size() - offset)
    throw Error(ErrorCode::kIoOutOfBounds, concat("sub-view [", offset, ", +", n,
                                                  ") leaves a view of ", bytes_.size(), " bytes"));
  ByteView v(bytes_.subspan(offset, n), owner_);
  v.mapped_ = mapped_;
  return v;
}

void ByteView::release_pages(std::size_t offset, std::size_t n) const noexcept {
  if (!mapped_ || offset > bytes_.size() || n > bytes_.size() - offset || n == 0) return;
  const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto b = reinterpret_cast<std::uintptr_t>(bytes_.data() + offset);
  const std::uintptr_t first = (b + page - 1) / page * page, last = (b + n) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), static_cast<std::size_t>(last - first),
              MADV_DONTNEED);
}

ReadAdapter::~ReadAdapter() = default;

void ReadAdapter::check_range(std::uint64_t pos, std::size_t n) const {
  const std::uint64_t total = size();
  if (pos > total || n > total - pos) [[unlikely]]
    throw Error(ErrorCode::kIoOutOfBounds,
                concat("read of ", n, " bytes at ", hex(pos), " passes the end of the source (",
                       total, " bytes)"),
                name_, {}, pos);
}

void ReadAdapter::read(std::uint64_t pos, void* buf, std::size_t n) const {
  check_range(pos, n);
  if (n == 0) return;
  do_read(pos, buf, n);
}

std::vector<std::byte> ReadAdapter::read_vector(std::uint64_t pos, std::size_t n) const {
  check_range(pos, n);  // before allocating: n comes from file data
  std::vector<std::byte> out(n);
  if (n) do_read(pos, out.data(), n);
  return out;
}

void ReadAdapter::read_many(std::span<ReadRequest>) const noexcept {}

ByteView ReadAdapter::view(std::uint64_t pos, std::size_t n) const {
  check_range(pos, n);
  return {};
}

// ---- memory --------------------------------------------------------------------------------

MemoryReadAdapter::MemoryReadAdapter(std::span<const std::byte> bytes, std::string name)
    : ReadAdapter(std::move(name)), bytes_(bytes) {}

MemoryReadAdapter::MemoryReadAdapter(std::vector<std::byte> bytes, std::string name)
    : ReadAdapter(std::move(name)),
      owned_(std::make_shared<const std::vector<std::byte>>(std::move(bytes))),
      bytes_(owned_->data(), owned_->size()) {}

MemoryReadAdapter MemoryReadAdapter::copy_of(std::string_view bytes, std::string name) {
  const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
  return MemoryReadAdapter(std::vector<std::byte>(p, p + bytes.size()), std::move(name));
}

void MemoryReadAdapter::do_read(std::uint64_t pos, void* buf, std::size_t n) const {
  std::memcpy(buf, bytes_.data() + pos, n);
}

ByteView MemoryReadAdapter::view(std::uint64_t pos, std::size_t n) const {
  check_range(pos, n);
  return ByteView(bytes_.subspan(static_cast<std::size_t>(pos), n), owned_);
}

// ---- istream -------------------------------------------------------------------------------

IStreamReadAdapter::IStreamReadAdapter(std::istream& in, std::string name)
    : ReadAdapter(std::move(name)), in_(in) {
  const auto start = in_.tellg();
  if (start < 0 || !in_)
    throw Error(ErrorCode::kIoReadFailed, "stream is not seekable", this->name());
  in_.seekg(0, std::ios::end);
  const auto end = in_.tellg();
  if (end < 0 || !in_)
    throw Error(ErrorCode::kIoReadFailed, "stream is not seekable", this->name());
  in_.seekg(start);
  start_ = static_cast<std::uint64_t>(start);
  size_ = static_cast<std::uint64_t>(end) - start_;
}

void IStreamReadAdapter::do_read(std::uint64_t pos, void* buf, std::size_t n) const {
  std::lock_guard lock(mutex_);
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(start_ + pos));
  in_.read(static_cast<char*>(buf), static_cast<std::streamsize>(n));
  if (static_cast<std::size_t>(in_.gcount()) != n)
    throw Error(ErrorCode::kIoReadFailed, concat("stream gave ", in_.gcount(), " of ", n, " bytes"),
                name(), {}, pos);
}

// ---- callback ------------------------------------------------------------------------------

CallbackReadAdapter::CallbackReadAdapter(std::uint64_t size, ReadFn read, std::string name)
    : ReadAdapter(std::move(name)), size_(size), read_(std::move(read)) {
  if (!read_) throw Error(ErrorCode::kIoInvalidArgument, "empty read callback");
}

void CallbackReadAdapter::do_read(std::uint64_t pos, void* buf, std::size_t n) const {
  const std::size_t got = read_(pos, buf, n);
  if (got != n)
    throw Error(ErrorCode::kIoReadFailed, concat("read callback gave ", got, " of ", n, " bytes"),
                name(), {}, pos);
}

// ---- whole file ----------------------------------------------------------------------------

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIoOpenFailed, "cannot open file for reading", path.string());
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end < 0) throw Error(ErrorCode::kIoReadFailed, "cannot determine file size", path.string());
  in.seekg(0);
  std::vector<std::byte> out(static_cast<std::size_t>(end));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (static_cast<std::size_t>(in.gcount()) != out.size())
    throw Error(ErrorCode::kIoReadFailed, "short read", path.string());
  return out;
}

}  // namespace ptio::io
