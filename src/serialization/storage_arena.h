// Memory for the storages a copying load reads: slices of shared blocks instead of one zeroed
// vector each (a 20,000-tensor state_dict otherwise pays a malloc, a memset and the page faults
// of 20,000 separate buffers).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace ptio::detail {

/// Hands out uninitialised, 64-byte aligned slices for storage bytes. Small requests are cut from
/// blocks that grow geometrically (256 KiB doubling up to 8 MiB, so the memory held beyond what
/// was asked for stays below about as much again); requests of 1 MiB or more get a block of
/// their own, freed with their storage. Blocks of 2 MiB or more are aligned to 2 MiB and advised
/// for transparent huge pages, which cuts the page faults of filling them ~500-fold. A block
/// lives as long as any storage made from it (Storage::from_block).
class StorageArena {
 public:
  struct Slice {
    std::span<std::byte> bytes;
    std::shared_ptr<const void> block;
  };
  /// `n` bytes (n > 0). Throws std::bad_alloc.
  Slice allocate(std::size_t n);

 private:
  std::shared_ptr<std::byte> block_;
  std::size_t size_ = 0;  // bytes in block_
  std::size_t used_ = 0;  // bytes handed out from block_
  std::size_t next_block_ = std::size_t{256} << 10;
};

}  // namespace ptio::detail
