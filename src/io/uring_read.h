// Many small preads in one system call: io_uring (Linux >= 5.6) for ReadAdapter::read_many.
#pragma once

#include <span>

#include "ptio/io/read_adapter.h"

namespace ptio::io {

/// Reads every request of `requests` from `fd` (a regular file) through one io_uring made for
/// the call (IORING_OP_READ, a few hundred per io_uring_enter), and sets `done` on each request
/// that was read in full. Returns false, with nothing done, when io_uring is not available (old
/// kernel, seccomp, io_uring_disabled); after the first such failure it is not tried again in
/// this process. Requests not done (short or failed reads) are left to the caller's pread, which
/// reports their errors. Every submitted read has completed when it returns (the buffers are not
/// written afterwards). Never throws.
bool uring_read_many(int fd, std::span<ReadRequest> requests) noexcept;

}  // namespace ptio::io
