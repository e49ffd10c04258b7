// io_uring batch of small reads (raw system calls: the ring is set up, used once, torn down).
#include "io/uring_read.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#if defined(__linux__) && __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#define PTIO_HAVE_IO_URING 1
#endif

namespace ptio::io {

#ifdef PTIO_HAVE_IO_URING

namespace {

std::atomic<bool> g_unavailable{false};

// The three mappings and the descriptor of one ring; unmapped and closed on destruction.
struct Ring {
  int fd = -1;
  io_uring_params p{};
  void* sq = MAP_FAILED;
  void* cq = MAP_FAILED;
  std::size_t sq_bytes = 0, cq_bytes = 0, sqe_bytes = 0;
  io_uring_sqe* sqes = static_cast<io_uring_sqe*>(MAP_FAILED);

  bool open(unsigned entries) {
    fd = static_cast<int>(syscall(__NR_io_uring_setup, entries, &p));
    if (fd < 0) return false;
    sq_bytes = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    cq_bytes = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single) sq_bytes = cq_bytes = sq_bytes > cq_bytes ? sq_bytes : cq_bytes;
    sq = mmap(nullptr, sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
              IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) return false;
    if (single) {
      cq = sq;
    } else {
      cq = mmap(nullptr, cq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                IORING_OFF_CQ_RING);
      if (cq == MAP_FAILED) return false;
    }
    sqe_bytes = p.sq_entries * sizeof(io_uring_sqe);
    void* s = mmap(nullptr, sqe_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQES);
    if (s == MAP_FAILED) return false;
    sqes = static_cast<io_uring_sqe*>(s);
    return true;
  }
  ~Ring() {
    if (sqes != MAP_FAILED) munmap(sqes, sqe_bytes);
    if (cq != MAP_FAILED && cq != sq) munmap(cq, cq_bytes);
    if (sq != MAP_FAILED) munmap(sq, sq_bytes);
    if (fd >= 0) close(fd);
  }
  template <typename T>
  T* sq_field(unsigned off) const {
    return reinterpret_cast<T*>(static_cast<char*>(sq) + off);
  }
  template <typename T>
  T* cq_field(unsigned off) const {
    return reinterpret_cast<T*>(static_cast<char*>(cq) + off);
  }
};

int enter(int fd, unsigned to_submit, unsigned min_complete) {
  for (;;) {
    const long r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, IORING_ENTER_GETEVENTS,
                           nullptr, 0);
    if (r >= 0 || (errno != EINTR && errno != EAGAIN && errno != EBUSY)) return static_cast<int>(r);
  }
}

}  // namespace

bool uring_read_many(int fd, std::span<ReadRequest> requests) noexcept {
  if (requests.empty() || g_unavailable.load(std::memory_order_relaxed)) return false;
  Ring ring;
  if (!ring.open(256)) {
    if (ring.fd < 0 && (errno == ENOSYS || errno == EPERM || errno == EACCES))
      g_unavailable.store(true, std::memory_order_relaxed);
    return false;
  }
  auto* sq_tail = ring.sq_field<std::atomic<unsigned>>(ring.p.sq_off.tail);
  const unsigned sq_mask = *ring.sq_field<unsigned>(ring.p.sq_off.ring_mask);
  auto* sq_array = ring.sq_field<unsigned>(ring.p.sq_off.array);
  auto* cq_head = ring.cq_field<std::atomic<unsigned>>(ring.p.cq_off.head);
  auto* cq_tail = ring.cq_field<std::atomic<unsigned>>(ring.p.cq_off.tail);
  const unsigned cq_mask = *ring.cq_field<unsigned>(ring.p.cq_off.ring_mask);
  auto* cqes = ring.cq_field<io_uring_cqe>(ring.p.cq_off.cqes);
  // At most as many in flight as the completion ring holds (twice the submission ring).
  const unsigned batch = ring.p.sq_entries;

  std::size_t next = 0;
  bool ok = true;
  while (next < requests.size() && ok) {
    unsigned n = 0;
    const unsigned tail = sq_tail->load(std::memory_order_relaxed);
    for (; n < batch && next + n < requests.size(); ++n) {
      const ReadRequest& rq = requests[next + n];
      const unsigned idx = (tail + n) & sq_mask;
      io_uring_sqe* s = &ring.sqes[idx];
      std::memset(s, 0, sizeof *s);
      s->opcode = IORING_OP_READ;
      s->fd = fd;
      s->addr = reinterpret_cast<std::uint64_t>(rq.buf);
      // (Over 1 GiB: a 0-byte read that leaves the request undone.)
      s->len = rq.n <= (std::size_t{1} << 30) ? static_cast<std::uint32_t>(rq.n) : 0;
      s->off = rq.pos;
      s->user_data = next + n;
      sq_array[idx] = idx;
    }
    sq_tail->store(tail + n, std::memory_order_release);
    // Submit and wait for all of them; then wait for any the kernel took but has not finished.
    const int submitted = enter(ring.fd, n, n);
    unsigned taken = submitted > 0 ? static_cast<unsigned>(submitted) : 0;
    unsigned completed = 0;
    for (;;) {
      unsigned head = cq_head->load(std::memory_order_relaxed);
      const unsigned ctail = cq_tail->load(std::memory_order_acquire);
      for (; head != ctail; ++head) {
        const io_uring_cqe& c = cqes[head & cq_mask];
        if (c.user_data < requests.size()) {
          ReadRequest& rq = requests[static_cast<std::size_t>(c.user_data)];
          rq.done = c.res >= 0 && static_cast<std::size_t>(c.res) == rq.n;
        }
        ++completed;
      }
      cq_head->store(head, std::memory_order_release);
      if (completed >= taken) break;
      if (enter(ring.fd, 0, taken - completed) < 0) {
        // Cannot wait (should not happen): keep polling the completion ring; the reads of a
        // cached file finish on their own.
        continue;
      }
    }
    // The kernel took fewer than submitted (or failed): stop; the rest stay undone.
    if (submitted < 0 || taken < n) ok = false;
    next += n;
  }
  return true;
}

#else

bool uring_read_many(int, std::span<ReadRequest>) noexcept {
  return false;
}

#endif

}  // namespace ptio::io
