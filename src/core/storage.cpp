// Storage: owned, mapped-view or borrowed bytes behind a shared handle.
#include "ptio/core/storage.h"

#include "ptio/error.h"

namespace ptio {

struct Storage::Impl {
  std::vector<std::byte> owned;
  io::ByteView view;  // used when not owned (mapped file or borrowed memory) or in a block
  bool is_owned = false;
  bool in_block = false;  // owned bytes in `view` (from_block), not in `owned`
  Device device;
  std::optional<ScalarType> dtype;
  std::string key;
  std::optional<std::uint32_t> source_crc32;  // from_record_view or set_source_crc32
};

Storage Storage::from_bytes(std::vector<std::byte> bytes, Device device) {
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->owned = std::move(bytes);
  s.impl_->is_owned = true;
  s.impl_->device = std::move(device);
  return s;
}

Storage Storage::from_view(io::ByteView view, Device device) {
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->view = std::move(view);
  s.impl_->device = std::move(device);
  return s;
}

Storage Storage::from_record_view(io::ByteView view, std::uint32_t crc32, Device device) {
  Storage s = from_view(std::move(view), std::move(device));
  s.impl_->source_crc32 = crc32;
  return s;
}

Storage Storage::from_block(std::span<std::byte> bytes, std::shared_ptr<const void> block,
                            Device device) {
  Storage s = from_view(io::ByteView(bytes, std::move(block)), std::move(device));
  s.impl_->is_owned = true;
  s.impl_->in_block = true;
  return s;
}

Storage Storage::borrowed(std::span<const std::byte> bytes, Device device) {
  return from_view(io::ByteView(bytes, nullptr), std::move(device));
}

std::size_t Storage::nbytes() const noexcept {
  if (!impl_) return 0;
  return impl_->is_owned && !impl_->in_block ? impl_->owned.size() : impl_->view.size();
}

const std::byte* Storage::data() const& noexcept {
  if (!impl_) return nullptr;
  return impl_->is_owned && !impl_->in_block ? impl_->owned.data() : impl_->view.data();
}

std::span<const std::byte> Storage::bytes() const& noexcept {
  return {data(), nbytes()};
}

std::byte* Storage::mutable_data() & {
  PTIO_CHECK(impl_ && impl_->is_owned, ErrorCode::kBadStorage,
             "storage is a read-only view; copy it before writing");
  impl_->source_crc32.reset();  // the caller may change the bytes
  // A block slice is this storage's own memory (from_block), handed out writable.
  if (impl_->in_block) return const_cast<std::byte*>(impl_->view.data());
  return impl_->owned.data();
}

std::optional<std::uint32_t> Storage::source_crc32() const noexcept {
  return impl_ ? impl_->source_crc32 : std::nullopt;
}

void Storage::set_source_crc32(std::uint32_t crc32) {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  impl_->source_crc32 = crc32;
}

bool Storage::is_view() const noexcept {
  return impl_ && !impl_->is_owned;
}

void Storage::release_pages(std::size_t offset, std::size_t n) const noexcept {
  if (impl_ && !impl_->is_owned) impl_->view.release_pages(offset, n);
}

const Device& Storage::device() const {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  return impl_->device;
}
void Storage::set_device(Device d) {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  impl_->device = std::move(d);
}
std::optional<ScalarType> Storage::dtype() const {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  return impl_->dtype;
}
void Storage::set_dtype(std::optional<ScalarType> t) {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  impl_->dtype = t;
}
const std::string& Storage::key() const {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  return impl_->key;
}
void Storage::set_key(std::string key) {
  PTIO_CHECK(impl_, ErrorCode::kBadStorage, "undefined storage");
  impl_->key = std::move(key);
}

}  // namespace ptio
