// Removal of FileWriter temporaries when the process is killed by a terminating signal, or
// faults (SIGBUS) on a memory-mapped input that was truncated while it was read.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

#include "ptio/export.h"

namespace ptio::io {

/// Installs handlers for SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ, SIGQUIT, SIGABRT, SIGUSR1,
/// SIGUSR2, SIGALRM, SIGVTALRM and SIGPROF (the signals whose default action ends the process
/// without a core dump, a file-size limit, Ctrl-\ and abort(); the last three still dump core
/// after the cleanup when the system does) that unlink the temporary file
/// (`<path>.tmp.XXXXXX`) of every live FileWriter, then re-raise the signal with its default
/// action, so the process still dies of that signal (a shell sees status 128 + signal number) and
/// the targets of the interrupted writes are left untouched. PyTorch has no counterpart
/// (torch.save writes in place).
///
/// Opt-in: the library never installs a handler on its own; a program (the ptio CLI does) calls
/// this once, early, before starting threads. A signal whose disposition is SIG_IGN when this is
/// called (e.g. SIGHUP under nohup) is left ignored; handlers installed later by the program
/// replace these. Calling it again is a no-op. The handler is async-signal-safe: it only reads a
/// fixed table of pre-built C strings and calls unlink(2), sigaction(2) and raise(3).
///
/// FileWriter registers its temporary in that table whether or not the handlers are installed
/// (signals are blocked while it creates and registers it, so there is no window in which a
/// temporary exists unregistered). The table has kMaxCleanupTempFiles slots; temporaries beyond
/// that, or with paths of kMaxCleanupPathBytes bytes or more, are not registered (still removed
/// on normal exit and on exceptions, only not on a signal). Throws nothing; returns false when
/// sigaction(2) failed for a signal.
PTIO_API bool install_temp_file_cleanup_handlers() noexcept;

/// Installs a handler for SIGBUS, the signal a read of a memory-mapped input raises when the
/// file was truncated (or its storage failed) after it was mapped: the MmapReadAdapter's bytes
/// then no longer exist. The handler unlinks every registered temporary (as above), writes
/// `message` (copied, at most kMaxCleanupPathBytes - 1 bytes; a newline is added) to standard
/// error and ends the process with `_exit(exit_code)`: a clear error instead of a crash, and no
/// `<out>.tmp.XXXXXX` left behind. PyTorch has no counterpart (a truncated mmap'd file crashes
/// it too).
///
/// Opt-in like install_temp_file_cleanup_handlers() (the ptio CLI installs it with exit code 2);
/// calling it again only replaces the message and exit code (e.g. to name the input file once
/// it is known). When the faulting address lies in a live MappedFile, a second line names that
/// file and the byte offset of the failed read: `  (the read at byte offset N (0xN) of FILE)`.
/// Async-signal-safe (unlink(2), write(2), _exit(2)). A SIGBUS raised for any other reason ends
/// the process the same way. Throws nothing; returns false when sigaction(2) failed.
PTIO_API bool install_mapped_input_fault_handler(const char* message, int exit_code) noexcept;

/// Slots of the live-temporary table (FileWriters open at the same time).
inline constexpr std::size_t kMaxCleanupTempFiles = 64;
/// Longest registrable temporary path, in bytes including the terminating NUL.
inline constexpr std::size_t kMaxCleanupPathBytes = 4096;

namespace temp_registry {
/// Blocks the signals install_temp_file_cleanup_handlers() handles in the calling thread (the
/// previous mask goes to `old`): FileWriter creates and registers its temporary, and renames it
/// into place and unregisters it, with them blocked, so a signal cannot split either pair.
void block_cleanup_signals(sigset_t* old) noexcept;
/// Registers `path` (a NUL-terminated temporary path) for removal on a signal; returns its slot,
/// or -1 when the table is full or the path too long. Called by FileWriter with signals blocked.
int register_temp_file(const char* path) noexcept;
/// Forgets slot `slot` (from register_temp_file; -1 is ignored).
void unregister_temp_file(int slot) noexcept;
/// Number of temporaries currently registered (tests).
PTIO_API std::size_t registered_temp_files() noexcept;
/// Registers a live read-only mapping of `size` bytes at `base` of the file `path` (borrowed:
/// NUL-terminated, alive until unregistered) for the SIGBUS handler's message; returns its slot,
/// or -1 when the kMaxCleanupTempFiles slots are taken (the handler then gives no offset).
int register_mapped_input(const void* base, std::uint64_t size, const char* path) noexcept;
/// Forgets slot `slot` (from register_mapped_input; -1 is ignored), before the mapping goes.
void unregister_mapped_input(int slot) noexcept;
}  // namespace temp_registry

}  // namespace ptio::io
