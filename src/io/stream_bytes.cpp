// StreamBlocks and read_stream: a std::istream read into memory within a byte limit.
#include "io/stream_bytes.h"

#include <algorithm>
#include <cstring>
#include <istream>

#include "ptio/error.h"

namespace ptio::io::detail {

namespace {

[[noreturn]] void too_long(std::uint64_t max_bytes, const std::string& name) {
  throw Error(ErrorCode::kLimitExceeded,
              "the stream holds more than " + std::to_string(max_bytes) +
                  " bytes (Limits::io.max_stream_bytes): a stream is read whole into memory; "
                  "give the file by path (it is then mapped, not copied), or raise the limit if "
                  "you trust the stream",
              name, {}, max_bytes);
}

}  // namespace

bool seekable(std::istream& in) {
  const auto start = in.tellg();
  if (start < 0 || !in) return false;
  in.seekg(0, std::ios::end);
  const bool ok = static_cast<bool>(in) && in.tellg() >= start;
  in.clear(in.rdstate() & ~(std::ios::failbit | std::ios::eofbit));
  in.seekg(start);
  return ok && static_cast<bool>(in);
}

StreamBlocks::StreamBlocks(std::istream& in, std::uint64_t max_bytes, const std::string& name) {
  std::size_t chunk = std::size_t{64} << 10;
  while (true) {
    // At most one byte past the limit is asked for: enough to tell that the stream is longer.
    // (Saturating: with the limit lifted to UINT64_MAX, `+ 1` wrapped to 0 and nothing was read,
    // forever.)
    const std::uint64_t left = max_bytes - size_;
    const std::uint64_t room = left == UINT64_MAX ? left : left + 1;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, room));
    std::vector<std::byte>& b = blocks_.emplace_back(want);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(want));
    const auto got = static_cast<std::size_t>(in.gcount());
    b.resize(got);
    size_ += got;
    if (in.bad())
      throw Error(ErrorCode::kIoReadFailed,
                  "the stream failed (badbit) after " + std::to_string(size_) +
                      " bytes; nothing was loaded",
                  name, {}, size_);
    if (size_ > max_bytes) too_long(max_bytes, name);
    if (got < want) break;  // end of stream (eofbit) or a stream that stopped delivering
    chunk = std::min<std::size_t>(chunk * 2, std::size_t{64} << 20);
  }
  if (!blocks_.empty() && blocks_.back().empty()) blocks_.pop_back();
}

std::size_t StreamBlocks::read(std::uint64_t pos, void* buf, std::size_t n) const {
  auto* out = static_cast<std::byte*>(buf);
  std::size_t done = 0;
  for (const auto& b : blocks_) {
    if (done == n) break;
    if (pos >= b.size()) {
      pos -= b.size();
      continue;
    }
    const std::size_t k = std::min<std::size_t>(n - done, b.size() - pos);
    std::memcpy(out + done, b.data() + pos, k);
    done += k;
    pos = 0;
  }
  return done;
}

std::vector<std::byte> StreamBlocks::take_contiguous() {
  std::vector<std::byte> out;
  out.reserve(static_cast<std::size_t>(size_));
  for (auto& b : blocks_) {
    out.insert(out.end(), b.begin(), b.end());
    std::vector<std::byte>().swap(b);
  }
  blocks_.clear();
  size_ = 0;
  return out;
}

std::vector<std::byte> read_stream(std::istream& in, std::uint64_t max_bytes,
                                   const std::string& name) {
  if (!seekable(in)) return StreamBlocks(in, max_bytes, name).take_contiguous();
  const auto start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  in.seekg(start);
  const auto size = static_cast<std::uint64_t>(end - start);
  if (size > max_bytes) too_long(max_bytes, name);
  std::vector<std::byte> out(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  const auto got = static_cast<std::uint64_t>(in.gcount());
  if (in.bad() || got != size)
    throw Error(ErrorCode::kIoReadFailed,
                "the stream gave " + std::to_string(got) + " of its " + std::to_string(size) +
                    " bytes" + (in.bad() ? " (badbit)" : ""),
                name, {}, got);
  return out;
}

}  // namespace ptio::io::detail
