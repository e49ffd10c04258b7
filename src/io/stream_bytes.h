// Reading a std::istream into memory within io::Limits::max_stream_bytes (ptio::load of a
// non-seekable stream, jit::load of any stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace ptio::io::detail {

/// Whether `in` can seek: tellg() and a seek to the end and back work. Leaves the stream at its
/// position and in its state when it can; clears the failure a refused seek sets when it cannot.
bool seekable(std::istream& in);

/// The rest of a stream, from its position to its end, read into blocks of 64 KiB doubling up
/// to 64 MiB: memory is the bytes read plus at most one block's slack, with no reallocation
/// copies (one growing vector would hold up to three times the size while it moves). More than
/// `max_bytes` (io::Limits::max_stream_bytes) is Error(kLimitExceeded) naming `name`, the limit
/// and the field, raised after at most max_bytes + 1 bytes were read; a stream that fails
/// (badbit) is Error(kIoReadFailed) naming the bytes it gave.
class StreamBlocks {
 public:
  StreamBlocks(std::istream& in, std::uint64_t max_bytes, const std::string& name);
  std::uint64_t size() const noexcept { return size_; }
  /// Copies [pos, pos + n) out of the blocks (for a CallbackReadAdapter); returns the bytes
  /// copied (fewer at the end).
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n) const;
  /// The bytes in one buffer; the blocks are moved into it one by one and freed as they go, so
  /// the peak is the size plus one block (the buffer is reserved, not touched, up front). Leaves
  /// this empty.
  std::vector<std::byte> take_contiguous();

 private:
  std::vector<std::vector<std::byte>> blocks_;
  std::uint64_t size_ = 0;
};

/// The rest of `in` in one buffer, within `max_bytes` as StreamBlocks: a seekable stream's size
/// is checked before anything is read, and its bytes read straight into the buffer.
std::vector<std::byte> read_stream(std::istream& in, std::uint64_t max_bytes,
                                   const std::string& name);

}  // namespace ptio::io::detail
