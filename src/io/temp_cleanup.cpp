// The table of live FileWriter temporaries and the opt-in signal handlers that unlink them.
#include "ptio/io/temp_cleanup.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ptio::io {
namespace {

// A slot is free (0), being filled or emptied by its owner (1), or holds a live path (2). The
// handler only reads paths of slots in state 2; the paths are pre-built, so it never allocates.
enum : int { kFree = 0, kBusy = 1, kLive = 2 };

struct Slot {
  std::atomic<int> state{kFree};
  char path[kMaxCleanupPathBytes];
};

Slot g_slots[kMaxCleanupTempFiles];
std::atomic<bool> g_installed{false};
// Every signal whose default action ends the process without a core dump, SIGXFSZ (a file-size
// limit hit while writing the temporary), SIGQUIT (Ctrl-\) and SIGABRT (abort()): the last three
// dump core by default, which they still do after the cleanup.
constexpr int kSignals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGPIPE,   SIGXFSZ, SIGQUIT,
                            SIGABRT, SIGUSR1, SIGUSR2, SIGALRM,   SIGVTALRM, SIGPROF};

extern "C" void ptio_temp_cleanup_handler(int sig) {
  const int saved_errno = errno;
  for (Slot& s : g_slots)
    if (s.state.load(std::memory_order_acquire) == kLive) ::unlink(s.path);
  // Die of the signal itself: default action, then re-raise. The three signals are blocked while
  // the handler runs (sa_mask), so the raised one is delivered, with SIG_DFL, as it returns.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
  errno = saved_errno;
}

// Live input mappings (MappedFile), for the SIGBUS handler to name the file and offset of a
// fault. A slot's fields are set while it is kBusy and read by the handler only when kLive.
struct MappingSlot {
  std::atomic<int> state{kFree};
  std::uintptr_t base = 0;
  std::uint64_t size = 0;
  const char* path = nullptr;
};
MappingSlot g_mappings[kMaxCleanupTempFiles];

void write_all(const char* p, std::size_t n) {
  for (std::size_t done = 0; done < n;) {
    const ssize_t w = ::write(STDERR_FILENO, p + done, n - done);
    if (w <= 0) return;
    done += static_cast<std::size_t>(w);
  }
}

// `n` in base 10 or 16 into the end of `buf`; returns the first digit (async-signal-safe).
char* format_number(std::uint64_t n, unsigned base, char* end) {
  char* p = end;
  do {
    *--p = "0123456789abcdef"[n % base];
    n /= base;
  } while (n);
  return p;
}

// "  (the read at byte offset N (0xN) of FILE)\n" when `addr` lies in a live mapping.
void write_fault_location(const void* addr) {
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  for (const MappingSlot& m : g_mappings) {
    if (m.state.load(std::memory_order_acquire) != kLive) continue;
    if (a < m.base || a - m.base >= m.size) continue;
    const std::uint64_t offset = a - m.base;
    char dec[24], hex[24];
    char* d = format_number(offset, 10, dec + sizeof dec);
    char* h = format_number(offset, 16, hex + sizeof hex);
    write_all("  (the read at byte offset ", 27);
    write_all(d, static_cast<std::size_t>(dec + sizeof dec - d));
    write_all(" (0x", 4);
    write_all(h, static_cast<std::size_t>(hex + sizeof hex - h));
    write_all(") of ", 5);
    write_all(m.path, std::strlen(m.path));
    write_all(")\n", 2);
    return;
  }
}

// The SIGBUS message and exit status (install_mapped_input_fault_handler).
char g_fault_message[kMaxCleanupPathBytes];
std::atomic<std::size_t> g_fault_message_len{0};
std::atomic<int> g_fault_exit_code{2};
std::atomic<bool> g_fault_installed{false};

extern "C" void ptio_mapped_input_fault_handler(int, siginfo_t* info, void*) {
  for (Slot& s : g_slots)
    if (s.state.load(std::memory_order_acquire) == kLive) ::unlink(s.path);
  write_all(g_fault_message, g_fault_message_len.load(std::memory_order_acquire));
  if (info) write_fault_location(info->si_addr);
  ::_exit(g_fault_exit_code.load(std::memory_order_acquire));
}

}  // namespace

bool install_mapped_input_fault_handler(const char* message, int exit_code) noexcept {
  std::size_t n = message ? std::strlen(message) : 0;
  if (n > kMaxCleanupPathBytes - 2) n = kMaxCleanupPathBytes - 2;
  g_fault_message_len.store(0, std::memory_order_release);  // no half-written message is printed
  if (n) std::memcpy(g_fault_message, message, n);
  g_fault_message[n] = '\n';
  g_fault_exit_code.store(exit_code, std::memory_order_release);
  g_fault_message_len.store(n + 1, std::memory_order_release);
  if (g_fault_installed.exchange(true)) return true;
  struct sigaction sa {};
  sa.sa_sigaction = ptio_mapped_input_fault_handler;
  sigemptyset(&sa.sa_mask);
  for (const int other : kSignals) sigaddset(&sa.sa_mask, other);
  sa.sa_flags = SA_SIGINFO;
  return ::sigaction(SIGBUS, &sa, nullptr) == 0;
}

bool install_temp_file_cleanup_handlers() noexcept {
  if (g_installed.exchange(true)) return true;
  bool ok = true;
  for (const int sig : kSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) {
      ok = false;
      continue;
    }
    if (old.sa_handler == SIG_IGN) continue;  // e.g. SIGHUP under nohup: stay ignored
    struct sigaction sa {};
    sa.sa_handler = ptio_temp_cleanup_handler;
    sigemptyset(&sa.sa_mask);
    for (const int other : kSignals) sigaddset(&sa.sa_mask, other);  // one cleanup at a time
    sa.sa_flags = 0;
    if (::sigaction(sig, &sa, nullptr) != 0) ok = false;
  }
  return ok;
}

namespace temp_registry {

void block_cleanup_signals(sigset_t* old) noexcept {
  sigset_t block;
  sigemptyset(&block);
  for (const int sig : kSignals) sigaddset(&block, sig);
  ::pthread_sigmask(SIG_BLOCK, &block, old);
}

int register_temp_file(const char* path) noexcept {
  const std::size_t n = std::strlen(path);
  if (n >= kMaxCleanupPathBytes) return -1;
  for (std::size_t i = 0; i < kMaxCleanupTempFiles; ++i) {
    int expected = kFree;
    if (g_slots[i].state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel)) {
      std::memcpy(g_slots[i].path, path, n + 1);
      g_slots[i].state.store(kLive, std::memory_order_release);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void unregister_temp_file(int slot) noexcept {
  if (slot < 0 || static_cast<std::size_t>(slot) >= kMaxCleanupTempFiles) return;
  g_slots[slot].state.store(kFree, std::memory_order_release);
}

std::size_t registered_temp_files() noexcept {
  std::size_t n = 0;
  for (const Slot& s : g_slots) n += s.state.load(std::memory_order_acquire) == kLive;
  return n;
}

int register_mapped_input(const void* base, std::uint64_t size, const char* path) noexcept {
  for (std::size_t i = 0; i < kMaxCleanupTempFiles; ++i) {
    int expected = kFree;
    MappingSlot& m = g_mappings[i];
    if (m.state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel)) {
      m.base = reinterpret_cast<std::uintptr_t>(base);
      m.size = size;
      m.path = path;
      m.state.store(kLive, std::memory_order_release);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void unregister_mapped_input(int slot) noexcept {
  if (slot < 0 || static_cast<std::size_t>(slot) >= kMaxCleanupTempFiles) return;
  g_mappings[slot].state.store(kFree, std::memory_order_release);
}

}  // namespace temp_registry
}  // namespace ptio::io
