// Crc32Prefetch: one thread walks the ranges in order; take() waits on its progress counter.
#include "zip/crc32_prefetch.h"

#include <libdeflate.h>

#include <algorithm>
#include <system_error>

namespace ptio::zip::detail {

namespace {
// Long ranges are checksummed in slices so a stop request is seen within ~1 ms.
constexpr std::size_t kSliceBytes = std::size_t{8} << 20;
}  // namespace

Crc32Prefetch::Crc32Prefetch(std::vector<std::span<const std::byte>> ranges)
    : ranges_(std::move(ranges)), crcs_(ranges_.size(), 0) {
  if (ranges_.empty()) return;
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error&) {
    // No thread (resource limits): take() finds nothing ready and the caller computes inline.
    ranges_.clear();
  }
}

Crc32Prefetch::~Crc32Prefetch() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

void Crc32Prefetch::run() {
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    const std::span<const std::byte> r = ranges_[i];
    std::uint32_t crc = 0;
    for (std::size_t at = 0; at < r.size(); at += kSliceBytes) {
      if (stop_.load(std::memory_order_relaxed)) return;  // the owner is in its destructor
      const std::size_t n = std::min(kSliceBytes, r.size() - at);
      crc = static_cast<std::uint32_t>(libdeflate_crc32(crc, r.data() + at, n));
    }
    crcs_[i] = crc;
    done_.store(i + 1, std::memory_order_release);
    done_.notify_all();
  }
}

std::optional<std::uint32_t> Crc32Prefetch::take(std::span<const std::byte> bytes) {
  const std::size_t j = next_;
  if (j >= ranges_.size() || ranges_[j].data() != bytes.data() || ranges_[j].size() != bytes.size())
    return std::nullopt;
  next_ = j + 1;
  for (std::size_t d = done_.load(std::memory_order_acquire); d <= j;
       d = done_.load(std::memory_order_acquire))
    done_.wait(d, std::memory_order_acquire);
  return crcs_[j];
}

}  // namespace ptio::zip::detail
