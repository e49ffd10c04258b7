// io::Limits: bounds the io layer enforces when it must hold untrusted input in memory.
#pragma once

#include <cstdint>

namespace ptio::io {

/// The io layer's part of ptio::Limits (see ptio/limits.h).
struct Limits {
  /// Most bytes of a stream read whole into memory, in bytes: ptio::load(std::istream&) of a
  /// stream that cannot seek (a pipe, a socket: the readers need random access, so its bytes are
  /// held until the load returns) and jit::load(std::istream&) (the Module keeps the archive's
  /// bytes: Module::archive_info().source). Beyond it: Error(kLimitExceeded) naming the stream,
  /// the bytes read and this field, raised after reading at most one byte more than the limit
  /// (the stream's rest is not read). A seekable stream's size is checked before anything is
  /// read. Default 4 GiB: a file bigger than that is better given by path (it is then mapped,
  /// not copied). Paths, ReadAdapters, memory spans and ptio::load of a seekable stream (read in
  /// place) are not bounded by it.
  std::uint64_t max_stream_bytes = std::uint64_t{4} << 30;
};

}  // namespace ptio::io
