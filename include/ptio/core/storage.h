// Storage: reference-counted bytes shared by every tensor that views them (c10::Storage's role).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ptio/core/device.h"
#include "ptio/core/scalar_type.h"
#include "ptio/export.h"
#include "ptio/io/read_adapter.h"

namespace ptio {

/// Mirrors `c10::Storage` / `torch.UntypedStorage`: a byte buffer plus the device it was saved on.
///
/// A Storage is a handle: copies share one buffer, exactly as views of one storage in a file share
/// one key. The bytes are owned (a vector), a zero-copy view into a mapped file (the mapping stays
/// alive as long as any handle does), or borrowed user memory (the caller keeps it alive).
/// Bytes are always in this machine's (little-endian) order: loaders swap big-endian files.
class PTIO_API Storage {
 public:
  /// An undefined storage (meta tensors have none).
  Storage() = default;
  /// Owns `bytes`.
  static Storage from_bytes(std::vector<std::byte> bytes, Device device = {});
  /// Shares `view` and its owner (e.g. a mapped file); no copy.
  static Storage from_view(io::ByteView view, Device device = {});
  /// Shares `view` and its owner like from_view(), and records `crc32` as the CRC-32 of exactly
  /// these bytes: the CRC-32 a stored zip record declares, for a zero-copy load of that whole
  /// record. ptio::save and jit::save then write the storage with it instead of reading the bytes
  /// again for a checksum (as a copy of the file would keep a wrong CRC-32, a wrong `crc32` is
  /// written as given; load with LoadOptions::verify_crc to check it first).
  static Storage from_record_view(io::ByteView view, std::uint32_t crc32, Device device = {});
  /// Borrows user memory; the caller keeps it alive and unchanged while any handle lives.
  static Storage borrowed(std::span<const std::byte> bytes, Device device = {});
  /// Owns `bytes`, a slice of `block` that no other storage uses (a loader's arena: several
  /// storages share one allocation, which lives as long as any of them). Writable and not a
  /// view, like from_bytes.
  static Storage from_block(std::span<std::byte> bytes, std::shared_ptr<const void> block,
                            Device device = {});

  bool defined() const noexcept { return impl_ != nullptr; }
  /// Size in bytes (not elements).
  std::size_t nbytes() const noexcept;
  /// The bytes (nullptr / empty for an undefined storage). Valid while any handle to this storage
  /// lives, so not available on a temporary Storage (`Storage::from_bytes(v).data()` would point
  /// into a buffer freed at the end of the statement): keep the Storage in a variable first.
  const std::byte* data() const& noexcept;
  const std::byte* data() const&& = delete;
  std::span<const std::byte> bytes() const& noexcept;
  std::span<const std::byte> bytes() const&& = delete;
  /// Writable bytes; only for owned storages. Throws Error(kBadStorage) for views and borrowed.
  /// Forgets source_crc32() (the bytes may change through the returned pointer). Not available
  /// on a temporary, as data().
  std::byte* mutable_data() &;
  std::byte* mutable_data() && = delete;
  /// True when the bytes point into a mapped file or borrowed memory (not owned by the storage).
  bool is_view() const noexcept;
  /// For a storage viewing a mapped file: drops its pages wholly inside [offset, offset+n) (bytes)
  /// from the resident set, the bytes staying valid and unchanged (io::ByteView::release_pages).
  /// No-op for owned and borrowed storages. For streaming through huge mapped tensors.
  void release_pages(std::size_t offset, std::size_t n) const noexcept;
  /// The CRC-32 of bytes() recorded by from_record_view() (the bytes of a view never change) or
  /// set_source_crc32() (until mutable_data() is called), or nullopt.
  std::optional<std::uint32_t> source_crc32() const noexcept;
  /// Records `crc32` as the CRC-32 of bytes() as they are now: what a copying load does for bytes
  /// it copied whole and unchanged from a zip record (the CRC-32 the record declares), so that
  /// ptio::save and jit::save write the storage without a checksum pass, as they do for mapped
  /// records. The value is trusted as given (load with LoadOptions::verify_crc to check it) and
  /// forgotten at the next mutable_data(). Throws Error(kBadStorage) for an undefined storage.
  void set_source_crc32(std::uint32_t crc32);

  /// The device recorded in the file (after map_location). Throws Error(kBadStorage) if undefined.
  const Device& device() const;
  void set_device(Device d);
  /// The dtype of the typed storage it was saved as (`FloatStorage` → float32); empty for
  /// `UntypedStorage`.
  std::optional<ScalarType> dtype() const;
  void set_dtype(std::optional<ScalarType> t);
  /// The record key in the file (`data/<key>`), when it came from one.
  const std::string& key() const;
  void set_key(std::string key);

  /// Identity: true when both handles share one buffer.
  bool is_same(const Storage& other) const noexcept { return impl_ == other.impl_; }
  const void* id() const noexcept { return impl_.get(); }
  /// Handles sharing this buffer (c10's `use_count()`; 0 for an empty handle). 1 means no other
  /// Storage, and so no other tensor or view, refers to it.
  long use_count() const noexcept { return impl_.use_count(); }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ptio
