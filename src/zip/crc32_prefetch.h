// Crc32Prefetch: CRC-32s of byte ranges computed in order on one background thread, so an
// ArchiveWriter's checksumming overlaps its writes on a second core.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace ptio::zip::detail {

class Crc32Prefetch {
 public:
  /// Starts the thread over `ranges` (borrowed: they must stay alive until the destructor, which
  /// stops and joins it). Throws nothing: when no thread can be started, take() computes inline.
  explicit Crc32Prefetch(std::vector<std::span<const std::byte>> ranges);
  ~Crc32Prefetch();
  Crc32Prefetch(const Crc32Prefetch&) = delete;
  Crc32Prefetch& operator=(const Crc32Prefetch&) = delete;

  /// The CRC-32 of `bytes` when they are (same address and size) the next range not yet taken,
  /// waiting for the thread to reach it; nullopt otherwise (the caller computes it inline).
  std::optional<std::uint32_t> take(std::span<const std::byte> bytes);

 private:
  void run();
  std::vector<std::span<const std::byte>> ranges_;
  std::vector<std::uint32_t> crcs_;
  std::atomic<std::size_t> done_{0};  // ranges_[0, done_) have their crcs_
  std::atomic<bool> stop_{false};
  std::size_t next_ = 0;  // first range take() may still match
  std::thread thread_;
};

}  // namespace ptio::zip::detail
