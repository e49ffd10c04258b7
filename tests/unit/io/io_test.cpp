// Unit tests of the byte I/O layer: adapters, writers, Cursor and magic sniffing.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "ptio/io/cursor.h"
#include "ptio/io/magic.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/temp_cleanup.h"
#include "ptio/io/writer.h"
#include "test_support.h"

namespace ptio::io {
namespace {

using test::bytes_of;
using test::string_of;

TEST(ReadAdapter, MemoryReadsAndBounds) {
  auto a = MemoryReadAdapter::copy_of("hello world", "mem");
  EXPECT_EQ(a.size(), 11u);
  char buf[5];
  a.read(6, buf, 5);
  EXPECT_EQ(std::string_view(buf, 5), "world");
  EXPECT_PTIO_ERROR(a.read(7, buf, 5), ErrorCode::kIoOutOfBounds);
  EXPECT_PTIO_ERROR(a.read(~0ull, buf, 2), ErrorCode::kIoOutOfBounds);
  EXPECT_PTIO_ERROR((void)a.read_vector(0, std::size_t(1) << 62), ErrorCode::kIoOutOfBounds);
  try {
    a.read(10, buf, 2);
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "mem");
    EXPECT_EQ(e.offset(), 10u);
  }
}

TEST(ReadAdapter, MemoryViewOwnedOutlivesAdapter) {
  ByteView v;
  {
    MemoryReadAdapter a(bytes_of("abcdef"));
    ASSERT_TRUE(a.supports_view());
    v = a.view(2, 3);
  }
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()), "cde");
  EXPECT_EQ(v.subview(1, 2).size(), 2u);
  EXPECT_PTIO_ERROR((void)v.subview(2, 2), ErrorCode::kIoOutOfBounds);
}

TEST(ReadAdapter, IStreamStartsAtCurrentPosition) {
  std::istringstream in("XXXpayload");
  in.seekg(3);
  IStreamReadAdapter a(in);
  EXPECT_EQ(a.size(), 7u);
  char buf[7];
  a.read(0, buf, 7);
  EXPECT_EQ(std::string_view(buf, 7), "payload");
  EXPECT_FALSE(a.supports_view());
  EXPECT_PTIO_ERROR(a.read(5, buf, 3), ErrorCode::kIoOutOfBounds);
}

TEST(ReadAdapter, CallbackShortReadIsAnError) {
  std::string data = "0123456789";
  CallbackReadAdapter good(data.size(), [&](std::uint64_t pos, void* buf, std::size_t n) {
    std::memcpy(buf, data.data() + pos, n);
    return n;
  });
  char buf[4];
  good.read(3, buf, 4);
  EXPECT_EQ(std::string_view(buf, 4), "3456");
  CallbackReadAdapter bad(data.size(), [](std::uint64_t, void*, std::size_t n) { return n - 1; });
  EXPECT_PTIO_ERROR(bad.read(0, buf, 4), ErrorCode::kIoReadFailed);
}

TEST(ReadAdapter, MmapViewIsZeroCopyAndKeepsMappingAlive) {
  test::TempDir dir;
  test::write_file(dir / "f.bin", "mapped bytes");
  ByteView v;
  const std::byte* base = nullptr;
  {
    MmapReadAdapter a(dir / "f.bin");
    EXPECT_EQ(a.size(), 12u);
    v = a.view(7, 5);
    base = a.file()->data();
    EXPECT_EQ(v.data(), base + 7);  // a pointer into the mapping, not a copy
  }
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()), "bytes");
  EXPECT_PTIO_ERROR(MmapReadAdapter(dir / "missing"), ErrorCode::kIoOpenFailed);
  EXPECT_PTIO_ERROR(MmapReadAdapter(dir.path()), ErrorCode::kIoOpenFailed);
  test::write_file(dir / "empty", "");
  MmapReadAdapter e(dir / "empty");
  EXPECT_EQ(e.size(), 0u);
}

TEST(ReadAdapter, MmapReadCopiesAndAFileThatShrankIsAnErrorNotACrash) {
  test::TempDir dir;
  std::string content(3 * 4096 + 100, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 1);
  test::write_file(dir / "f.bin", content);
  MmapReadAdapter a(dir / "f.bin");
  std::string buf(content.size(), '\0');
  a.read(0, buf.data(), buf.size());
  EXPECT_EQ(buf, content);
  char two[2];
  a.read(4095, two, 2);  // across a page boundary
  EXPECT_EQ(std::string(two, 2), content.substr(4095, 2));
  EXPECT_PTIO_ERROR(a.read(content.size() - 1, two, 2), ErrorCode::kIoOutOfBounds);
  // Truncate the file under the mapping: reads through a mapping would die of SIGBUS here.
  std::filesystem::resize_file(dir / "f.bin", 100);
  try {
    a.read(2 * 4096, two, 2);
    ADD_FAILURE() << "read past the shrunken end";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIoReadFailed) << e.what();
    EXPECT_EQ(e.offset(), std::optional<std::uint64_t>(2 * 4096));
    EXPECT_EQ(e.file(), (dir / "f.bin").string());
  }
  a.read(10, two, 2);  // what is still there reads fine
  EXPECT_EQ(std::string(two, 2), content.substr(10, 2));
  // Copies of the adapter share the descriptor; it stays open while one copy lives.
  auto b = std::make_unique<MmapReadAdapter>(a);
  MmapReadAdapter c = *b;
  b.reset();
  c.read(20, two, 2);
  EXPECT_EQ(std::string(two, 2), content.substr(20, 2));
}

TEST(Writer, FileWriterRenamesOnCommitOnly) {
  test::TempDir dir;
  const auto target = dir / "out.bin";
  test::write_file(target, "original");
  {
    FileWriter w(target);
    w.write("new content", 11);
    EXPECT_EQ(test::read_text(target), "original");  // untouched until commit
    EXPECT_TRUE(std::filesystem::exists(w.temp_path()));
  }  // destroyed without commit: temp removed, target untouched
  EXPECT_EQ(test::read_text(target), "original");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  {
    FileWriter w(target);
    std::string big(3 << 20, 'x');  // larger than the internal buffer
    w.write("head", 4);
    w.write(big.data(), big.size());
    w.write_fill(std::byte{'Z'}, 3);
    EXPECT_EQ(w.position(), 4 + big.size() + 3);
    w.commit();
    EXPECT_PTIO_ERROR(w.write("x", 1), ErrorCode::kIoWriterClosed);
  }
  const std::string got = test::read_text(target);
  EXPECT_EQ(got.size(), 4 + (3u << 20) + 3);
  EXPECT_EQ(got.substr(0, 5), "headx");
  EXPECT_EQ(got.substr(got.size() - 3), "ZZZ");
  EXPECT_PTIO_ERROR(FileWriter(dir / "no-such-dir" / "f"), ErrorCode::kIoOpenFailed);
}

// A target name near NAME_MAX (255 on Linux file systems) is valid, but `<name>.tmp.XXXXXX` would
// not be: the temporary's base name is cut and tagged with a hash so it fits, and the write lands
// under the full name. Two long names differing only at the end get different temporaries.
TEST(Writer, FileWriterLongNameTemporaryFitsNameMax) {
  test::TempDir dir;
  for (const std::size_t len : {244u, 245u, 253u, 255u}) {
    const std::string name(len, 'n');
    const auto target = dir / name;
    {
      FileWriter w(target);
      const std::string tmp = w.temp_path().filename().string();
      EXPECT_LE(tmp.size(), 255u) << len;
      EXPECT_TRUE(tmp.ends_with(".tmp." + tmp.substr(tmp.size() - 6))) << tmp;
      if (len + 11 > 255) {
        EXPECT_NE(tmp.find('~'), std::string::npos) << tmp;
      }
      w.write("abc", 3);
      w.commit();
    }
    EXPECT_EQ(test::read_text(target), "abc") << len;
  }
  const std::string a(250, 'a'), b = std::string(249, 'a') + "b";
  FileWriter wa(dir / a), wb(dir / b);
  const std::string ta = wa.temp_path().filename().string();
  const std::string tb = wb.temp_path().filename().string();
  EXPECT_NE(ta.substr(0, ta.size() - 6), tb.substr(0, tb.size() - 6));
  // A UTF-8 name is cut between characters, never inside one ("é" is 2 bytes).
  std::string u;
  while (u.size() < 250) u += "\xc3\xa9";
  FileWriter wu(dir / u);
  const std::string tu = wu.temp_path().filename().string();
  const std::size_t tilde = tu.find('~');
  ASSERT_NE(tilde, std::string::npos);
  EXPECT_EQ(tilde % 2, 0u) << tu;
}

// write_stable() pieces are queued by address and written with the buffered bytes by writev(2):
// interleaved small, stable (above and below the 4 KiB threshold, adjacent in memory or not),
// oversized and filled writes, far more pieces than one writev takes (1024) and more bytes than
// the buffer (1 MiB), must give the same file as one contiguous write of the same bytes.
TEST(Writer, FileWriterGathersStableWritesInOrder) {
  test::TempDir dir;
  std::string expected;
  std::vector<std::string> keep;  // the stable bytes stay alive until commit()
  std::string arena(64 << 10, '\0');
  for (std::size_t i = 0; i < arena.size(); ++i) arena[i] = static_cast<char>('a' + i % 23);
  FileWriter w(dir / "gather.bin");
  for (int i = 0; i < 3000; ++i) {
    const std::string head = "h" + std::to_string(i);
    w.write(head.data(), head.size());
    expected += head;
    if (i % 3 == 0) {
      keep.push_back(std::string(5000 + i, static_cast<char>('A' + i % 26)));
      w.write_stable(keep.back().data(), keep.back().size());
      expected += keep.back();
    } else if (i % 3 == 1) {
      // Two adjacent slices of one block (merged into one piece), then a small stable slice
      // (copied).
      const std::size_t off = (i * 97) % (arena.size() - 20000);
      w.write_stable(arena.data() + off, 8192);
      w.write_stable(arena.data() + off + 8192, 4096);
      w.write_stable(arena.data() + off + 12288, 100);
      expected.append(arena, off, 12388);
    } else {
      w.write_fill(std::byte{'F'}, 7);
      expected.append(7, 'F');
    }
    if (i == 1500) {
      std::string big((1 << 20) + 5, 'B');  // unbuffered, not stable: written at once, in order
      w.write(big.data(), big.size());
      expected += big;
    }
  }
  EXPECT_EQ(w.position(), expected.size());
  w.commit();
  const std::string got = test::read_text(dir / "gather.bin");
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  EXPECT_PTIO_ERROR(w.write_stable(arena.data(), 5000), ErrorCode::kIoWriterClosed);

  // Other writers take stable bytes as plain writes.
  MemoryWriter m;
  m.write("ab", 2);
  m.write_stable(arena.data(), 5000);
  EXPECT_EQ(m.bytes().size(), 5002u);
  EXPECT_EQ(std::memcmp(m.bytes().data() + 2, arena.data(), 5000), 0);
}

// A batch holding 32 MiB or more is handed to the flush thread when it is queued: a large record
// is being written while the caller goes on (checksums it, queues the next one), not at commit()
// (a 1 GiB archive of 8 records had waited in one batch, so its save took the checksums' time
// plus the write's). The temporary reaches the record's size with the writer still open.
TEST(Writer, FileWriterHandsOffALargeStableWriteBeforeCommit) {
  test::TempDir dir;
  const std::string head = "head";
  const std::string big(std::size_t{48} << 20, 'L');
  FileWriter w(dir / "large.bin");
  w.write(head.data(), head.size());
  w.write_stable(big.data(), big.size());
  const auto expected = static_cast<std::uintmax_t>(head.size() + big.size());
  std::error_code ec;
  // Written by the flush thread meanwhile: wait for it (bounded), then commit.
  for (int i = 0; i < 2000 && std::filesystem::file_size(w.temp_path(), ec) < expected; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(std::filesystem::file_size(w.temp_path(), ec), expected);
  EXPECT_FALSE(std::filesystem::exists(dir / "large.bin"));
  w.commit();
  EXPECT_EQ(std::filesystem::file_size(dir / "large.bin"), expected);
}

// expect() gives the temporary its blocks at once (fallocate(2), where the file system has it:
// ext4 then takes ~30% less time to write), and commit() cuts the file back to the bytes written,
// freeing the blocks past them; writing more than announced just grows the file.
TEST(Writer, FileWriterExpectAllocatesTheTemporaryAndCommitCutsItBack) {
  test::TempDir dir;
  if (!test::fallocate_supported(dir.path()))
    GTEST_SKIP() << "no fallocate(2) on the test folder's file system";
  auto blocks_bytes = [](const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
  };
  const std::string head = "head";
  const std::string body(std::size_t{3} << 20, 'B');
  constexpr std::uint64_t kAnnounced = std::uint64_t{16} << 20;
  {
    FileWriter w(dir / "fewer.bin");
    w.write(head.data(), head.size());
    w.expect(kAnnounced);
    // The temporary holds the announced bytes (after what was written) before any is written.
    EXPECT_EQ(std::filesystem::file_size(w.temp_path()), head.size() + kAnnounced);
    EXPECT_GE(blocks_bytes(w.temp_path()), kAnnounced);
    w.write_stable(body.data(), body.size());
    w.write("tail", 4);
    w.commit();
  }
  const std::string expected = head + body + "tail";
  EXPECT_EQ(test::read_text(dir / "fewer.bin"), expected);
  EXPECT_LT(blocks_bytes(dir / "fewer.bin"), std::uint64_t{4} << 20);  // the rest was freed
  {
    FileWriter w(dir / "more.bin");
    w.expect(1000);
    w.write_stable(body.data(), body.size());
    w.commit();
  }
  EXPECT_EQ(test::read_text(dir / "more.bin"), body);
  {
    FileWriter w(dir / "none.bin");  // announced, nothing written
    w.expect(kAnnounced);
    w.commit();
  }
  EXPECT_EQ(std::filesystem::file_size(dir / "none.bin"), 0u);
}

// Past the first full batch a FileWriter writes on a second thread while the caller fills the
// next batch. A write failure there (here the file-size limit: EFBIG, SIGXFSZ being ignored) is
// thrown by a later call with the offset where it happened, and the temporary is removed; a writer
// dropped without commit() while batches are in flight removes its temporary and leaves the
// target alone. Run in a child process (the limit is process-wide).
TEST(Writer, FileWriterFlushThreadErrorsAndAbandonedWriters) {
  test::TempDir dir;
  const auto target = dir / "limited.bin";
  test::write_file(target, "original");
  constexpr std::size_t kLimit = 3 << 20;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{kLimit, kLimit};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(90);
    const std::string piece(64 << 10, 'p');
    try {
      FileWriter w(target);
      for (int i = 0; i < 2000; ++i) {  // ~128 MiB in 4000 pieces: the flush thread writes
        w.write("h", 1);
        w.write_stable(piece.data(), piece.size());
      }
      w.commit();
      ::_exit(91);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kIoWriteFailed) ::_exit(92);
      if (e.offset() != std::optional<std::uint64_t>(kLimit)) ::_exit(93);
      if (std::string(e.what()).find("File too large") == std::string::npos) ::_exit(94);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(test::read_text(target), "original");
  EXPECT_EQ(test::temporaries_in(dir.path()), 0u);

  // Abandoned with batches in flight: no temporary, no new target.
  const std::string piece(64 << 10, 'q');
  {
    FileWriter w(dir / "abandoned.bin");
    for (int i = 0; i < 3000; ++i) {
      w.write("h", 1);
      w.write_stable(piece.data(), piece.size());
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "abandoned.bin"));
  EXPECT_EQ(test::temporaries_in(dir.path()), 0u);
}

// When no thread can be started (a resource limit), a FileWriter writes every batch on the
// caller's thread: the same file. Run in a child process denied new threads.
TEST(Writer, FileWriterWithoutAThreadWritesOnTheCallersThread) {
  test::TempDir dir;
  const auto target = dir / "threadless.bin";
  std::vector<std::byte> arena(8 << 20);
  for (std::size_t i = 0; i < arena.size(); ++i)
    arena[i] = static_cast<std::byte>(i * 7 + i / 4099);
  const int status = test::run_without_threads([&] {
    try {
      std::thread t([] {});
      t.join();
      return 90;  // the filter did not stop thread creation
    } catch (const std::system_error&) {
    }
    try {
      FileWriter w(target);
      // 8 MiB in 2,048 stable pieces of 4 KiB with a 1-byte write between: several batches.
      for (std::size_t at = 0; at < arena.size(); at += 4096) {
        w.write("h", 1);
        w.write_stable(arena.data() + at, 4096);
      }
      w.commit();
    } catch (const Error&) {
      return 91;
    }
    return 0;
  });
  if (status == test::kNoSeccomp) GTEST_SKIP() << "seccomp filters are not available here";
  ASSERT_EQ(status, 0);
  const std::string got = test::read_text(target);
  ASSERT_EQ(got.size(), arena.size() + arena.size() / 4096);
  for (std::size_t k = 0, at = 0; at < arena.size(); at += 4096, k += 4097) {
    ASSERT_EQ(got[k], 'h') << "at " << k;
    ASSERT_EQ(std::memcmp(got.data() + k + 1, arena.data() + at, 4096), 0) << "piece at " << at;
  }
  EXPECT_EQ(test::temporaries_in(dir.path()), 0u);
}

// Killed by a signal mid-write, a process that opted in to install_temp_file_cleanup_handlers()
// leaves no `<out>.tmp.XXXXXX` behind, does not touch the target and still dies of that signal
// (exit status 128 + signal in a shell). Without the opt-in the temporary stays (no handler is
// installed behind the program's back); an ignored signal stays ignored.
int run_child_writer(const std::filesystem::path& target, bool install, int sig, bool ignore) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (ignore) ::signal(sig, SIG_IGN);
    if (install && !install_temp_file_cleanup_handlers()) ::_exit(90);
    {
      FileWriter w(target);
      std::string chunk(3 << 20, 'x');  // past the buffer: bytes reach the temporary
      w.write(chunk.data(), chunk.size());
      if (temp_registry::registered_temp_files() != 1) ::_exit(91);
      ::raise(sig);
      ::_exit(92);  // an ignored signal: leave without running the destructor (temp kept)
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(Writer, SignalCleanupRemovesTemporariesAndDiesOfTheSignal) {
  test::TempDir dir;
  const auto target = dir / "out.bin";
  test::write_file(target, "original");
  for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ, SIGQUIT, SIGABRT, SIGUSR1}) {
    const int status = run_child_writer(target, true, sig, false);
    ASSERT_TRUE(WIFSIGNALED(status)) << "signal " << sig << ": status " << status;
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_EQ(test::temporaries_in(dir.path()), 0u) << "signal " << sig;
    EXPECT_EQ(test::read_text(target), "original");
  }
  // No opt-in: the default action kills the process before any cleanup (the old behaviour).
  const int status = run_child_writer(target, false, SIGTERM, false);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(test::temporaries_in(dir.path()), 1u);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().filename() != "out.bin") std::filesystem::remove(e.path());
  // A signal ignored before the opt-in stays ignored: the writer carries on.
  const int ignored = run_child_writer(target, true, SIGHUP, true);
  ASSERT_TRUE(WIFEXITED(ignored));
  EXPECT_EQ(WEXITSTATUS(ignored), 92);
  EXPECT_EQ(test::read_text(target), "original");
}

TEST(Writer, SignalCleanupTableFollowsWritersLifetimes) {
  test::TempDir dir;
  const std::size_t before = temp_registry::registered_temp_files();
  {
    FileWriter a(dir / "a.bin");
    FileWriter b(dir / "b.bin");
    EXPECT_EQ(temp_registry::registered_temp_files(), before + 2);
    a.write("x", 1);
    a.commit();  // renamed: forgotten at once
    EXPECT_EQ(temp_registry::registered_temp_files(), before + 1);
  }
  EXPECT_EQ(temp_registry::registered_temp_files(), before);
  // More writers than slots: the extra ones work, only without signal cleanup.
  std::vector<std::unique_ptr<FileWriter>> many;
  for (std::size_t i = 0; i < kMaxCleanupTempFiles + 3; ++i)
    many.push_back(std::make_unique<FileWriter>(dir / ("m" + std::to_string(i))));
  EXPECT_EQ(temp_registry::registered_temp_files(), kMaxCleanupTempFiles);
  many.back()->write("y", 1);
  many.back()->commit();
  many.clear();
  EXPECT_EQ(temp_registry::registered_temp_files(), before);
}

// A FileWriter renames a new file over its target: a device, FIFO or directory there would be
// replaced (`ptio convert a.pt /dev/null` as root), so those are refused; a symlink is written
// through and the replaced file keeps its mode. A FIFO input is refused without waiting for a
// writer (it hung in open()).
TEST(Writer, FileWriterRefusesNonRegularTargetsAndWritesThroughSymlinks) {
  test::TempDir dir;
  const auto fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_PTIO_ERROR(FileWriter{fifo}, ErrorCode::kIoOpenFailed);
  EXPECT_PTIO_ERROR(FileWriter{dir.path()}, ErrorCode::kIoOpenFailed);
  EXPECT_PTIO_ERROR(MmapReadAdapter{fifo}, ErrorCode::kIoOpenFailed);  // no hang
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  // A link whose target is no path (/dev/stdout onto a pipe: /proc/self/fd/N -> "pipe:[N]") is
  // refused as what it points to; it had made a temporary in the working folder and then failed
  // to rename it to "".
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string pipe_link = "/proc/self/fd/" + std::to_string(fds[1]);
  try {
    FileWriter w{pipe_link};
    ADD_FAILURE() << "a link to a pipe was taken as an output file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIoOpenFailed);
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), pipe_link);  // the path as given, not its unresolvable target
  }
  ::close(fds[0]);
  ::close(fds[1]);

  const auto real = dir / "real.bin";
  test::write_file(real, "old");
  ::chmod(real.c_str(), 0640);
  const auto link = dir / "link.bin";
  std::filesystem::create_symlink(real, link);
  {
    FileWriter w(link);
    w.write("new", 3);
    w.commit();
  }
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(test::read_text(real), "new");
  struct stat st {};
  ASSERT_EQ(::stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(Writer, MemoryAndCallback) {
  MemoryWriter m;
  m.write("abc", 3);
  m.commit();
  EXPECT_EQ(string_of(m.bytes()), "abc");

  std::string sink;
  CallbackWriter ok([&](const void* p, std::size_t n) {
    sink.append(static_cast<const char*>(p), n);
    return n;
  });
  ok.write("xyz", 3);
  EXPECT_EQ(sink, "xyz");

  CallbackWriter shortw([](const void*, std::size_t n) { return n / 2; });
  EXPECT_PTIO_ERROR(shortw.write("abcd", 4), ErrorCode::kIoShortWrite);
  EXPECT_PTIO_ERROR(shortw.write("abcd", 4), ErrorCode::kIoWriterClosed);
  EXPECT_PTIO_ERROR(shortw.commit(), ErrorCode::kIoWriterClosed);

  std::ostringstream os;
  OStreamWriter sw(os);
  sw.write("stream", 6);
  sw.commit();
  EXPECT_EQ(os.str(), "stream");
}

// MemoryWriter's own growth past 1 MiB (a fresh buffer, huge pages advised, then the old bytes
// copied) and expect() keep every byte in order.
TEST(Writer, MemoryWriterGrowsAndReservesKeepingBytes) {
  std::vector<std::byte> expected;
  MemoryWriter m;
  std::uint32_t x = 12345;
  for (std::size_t piece : {1u, 4095u, 700000u, 3u, 1500000u, 65536u, 2u, 4200000u}) {
    std::vector<std::byte> b(piece);
    for (auto& c : b) c = static_cast<std::byte>((x = x * 1103515245u + 12345u) >> 24);
    m.write(b.data(), b.size());
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_GE(m.bytes().capacity(), m.bytes().size());
  }
  EXPECT_TRUE(m.bytes() == expected);

  // expect(): one reservation, then writes up to it do not reallocate.
  MemoryWriter r;
  r.write("head", 4);
  r.expect(5u << 20);
  EXPECT_GE(r.bytes().capacity(), 4u + (5u << 20));
  const std::byte* at = r.bytes().data();
  std::vector<std::byte> chunk(1u << 20, std::byte{0x5A});
  for (int i = 0; i < 5; ++i) r.write(chunk.data(), chunk.size());
  EXPECT_EQ(r.bytes().data(), at);
  EXPECT_EQ(r.bytes().size(), 4u + (5u << 20));
  EXPECT_EQ(string_of(std::vector<std::byte>(r.bytes().begin(), r.bytes().begin() + 4)), "head");
  EXPECT_EQ(r.bytes().back(), std::byte{0x5A});
  // Writing past the hint still grows; a hint after commit() is ignored.
  r.write("tail", 4);
  r.commit();
  r.expect(std::uint64_t{1} << 40);
  EXPECT_EQ(r.bytes().size(), 8u + (5u << 20));
  // A hint no buffer can hold is ignored (the writes would fail on their own).
  MemoryWriter huge;
  huge.expect(~std::uint64_t{0});
  huge.write("ok", 2);
  EXPECT_EQ(string_of(huge.bytes()), "ok");
}

TEST(Cursor, EndianReadsAndOffsetsInErrors) {
  const auto data = bytes_of(std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9));
  Cursor c(data, 0x100, "f.pt", "archive/data.pkl");
  EXPECT_EQ(c.u16le(), 0x0201);
  EXPECT_EQ(c.u16be(), 0x0304);
  EXPECT_EQ(c.u32le(), 0x08070605u);
  EXPECT_EQ(c.offset(), 0x108u);
  try {
    (void)c.u32le();
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIoOutOfBounds);
    EXPECT_EQ(e.file(), "f.pt");
    EXPECT_EQ(e.record(), "archive/data.pkl");
    EXPECT_EQ(e.offset(), 0x108u);
    EXPECT_NE(std::string(e.what()).find("f.pt: archive/data.pkl @ 0x108"), std::string::npos);
  }
  EXPECT_EQ(c.pos(), 8u);  // a failed read does not move
  EXPECT_EQ(c.u8(), 9);
  EXPECT_TRUE(c.at_end());
  Cursor d(data);
  EXPECT_EQ(d.u64be(), 0x0102030405060708ull);
  Cursor z(data, 0, {}, {}, ErrorCode::kZipTruncated);
  EXPECT_PTIO_ERROR(z.skip(10), ErrorCode::kZipTruncated);
}

TEST(Magic, ClassifiesKnownKinds) {
  auto id = [](std::string_view s) {
    auto b = bytes_of(s);
    return identify_magic(b, b.size());
  };
  EXPECT_EQ(id(""), FileMagic::kEmpty);
  EXPECT_EQ(id(std::string(100, '\0')), FileMagic::kZeroFilled);
  EXPECT_EQ(id("PK\x03\x04rest"), FileMagic::kZip);
  EXPECT_EQ(id("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"),
            FileMagic::kGitLfsPointer);
  EXPECT_EQ(id("  <!DOCTYPE html><html></html>"), FileMagic::kHtml);
  EXPECT_EQ(id("<HTML><body>404</body>"), FileMagic::kHtml);
  EXPECT_EQ(id("PYTORCH1xxxxxxxx"), FileMagic::kPreviewFormat);
  EXPECT_EQ(id(std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15)),
            FileMagic::kLegacyTorchSave);
  EXPECT_EQ(id(std::string("\x80\x02}q\x00.", 6)), FileMagic::kPickle);
  EXPECT_EQ(id(std::string("\x1c\x00\x00\x00PTMF", 8)), FileMagic::kFlatbuffer);
  EXPECT_EQ(id("just some words\n"), FileMagic::kText);
  EXPECT_FALSE(file_magic_advice(FileMagic::kGitLfsPointer).empty());
}

TEST(ErrorTest, WhatJoinsContext) {
  Error e(ErrorCode::kPickleBadMemo, "BINGET memo index 17 is not defined");
  EXPECT_EQ(std::string(e.what()), "BINGET memo index 17 is not defined");
  e.add_context("model.pt", "archive/data.pkl", 0x1a3);
  EXPECT_EQ(std::string(e.what()),
            "model.pt: archive/data.pkl @ 0x1a3: BINGET memo index 17 is not defined");
  e.add_context("other.pt", "x", 1);  // known context is kept
  EXPECT_EQ(e.file(), "model.pt");
  EXPECT_EQ(error_code_name(ErrorCode::kZipCrcMismatch), "ZipCrcMismatch");
}

// Session-6 trial: an error of a file being written (a file and an offset, no record) printed
// an empty record slot, `out.pt: @ 0x10000: write failed`.
TEST(ErrorTest, WhatLeavesNoSlotForAnUnknownPart) {
  EXPECT_EQ(std::string(Error(ErrorCode::kIoWriteFailed, "write failed: File too large", "out.pt",
                              {}, 0x10000)
                            .what()),
            "out.pt @ 0x10000: write failed: File too large");
  EXPECT_EQ(std::string(Error(ErrorCode::kIoOutOfBounds, "m", {}, "data.pkl", 0x2).what()),
            "data.pkl @ 0x2: m");
  EXPECT_EQ(std::string(Error(ErrorCode::kIoOutOfBounds, "m", {}, {}, 0x2).what()), "@ 0x2: m");
  EXPECT_EQ(std::string(Error(ErrorCode::kIoOutOfBounds, "m", "f.pt", "r").what()), "f.pt: r: m");
  EXPECT_EQ(std::string(Error(ErrorCode::kIoOutOfBounds, "m", "f.pt").what()), "f.pt: m");
  Error late(ErrorCode::kIoWriteFailed, "write failed");
  late.add_context("out.pt", {}, 0);
  EXPECT_EQ(std::string(late.what()), "out.pt @ 0x0: write failed");
}

}  // namespace
}  // namespace ptio::io
