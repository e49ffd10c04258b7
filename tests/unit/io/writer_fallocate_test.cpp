// FileWriter::expect() when fallocate(2) fails partway, as ext4's does on a disk that fills while
// it allocates (ENOSPC after raising the file's size over the extents it got). This binary
// defines fallocate() itself (it links libptio statically, so the writer calls this one): it
// forwards to the system call unless a test asks for that failure.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <string>

#include "ptio/io/writer.h"
#include "test_support.h"

namespace {
std::atomic<bool> g_fill_disk_midway{false};
}  // namespace

// glibc's fallocate(), or ext4 on a disk that fills midway: half the range allocated (the size
// raised to its end), then ENOSPC.
extern "C" int fallocate(int fd, int mode, off_t offset, off_t len) {
  if (!g_fill_disk_midway.load())
    return static_cast<int>(::syscall(SYS_fallocate, fd, mode, offset, len));
  if (::syscall(SYS_fallocate, fd, mode, offset, len / 2) != 0) return -1;
  errno = ENOSPC;
  return -1;
}

namespace ptio::io {
namespace {

// The bound given to expect() overestimates (512 bytes per record for a save): a disk with room
// for the archive but not for the bound. The output was the data followed by zeros up to where
// the allocation stopped (`ptio convert` of 10,000 one-element tensors to an ext4 with 3.4 MB
// free: 3,902,464 bytes for a 2,663,107-byte archive, which torch.load refuses: "failed finding
// central directory"); it is now exactly what was written.
TEST(Writer, FileWriterExpectFailingPartwayLeavesNoTrailingBytes) {
  test::TempDir dir;
  if (!test::fallocate_supported(dir.path()))
    GTEST_SKIP() << "no fallocate(2) on the test folder's file system";
  const std::string head = "head";
  const std::string body(std::size_t{1} << 20, 'B');
  g_fill_disk_midway = true;
  {
    FileWriter w(dir / "out.bin");
    w.write(head.data(), head.size());
    w.expect(std::uint64_t{8} << 20);
    w.write_stable(body.data(), body.size());
    w.write("tail", 4);
    w.commit();
  }
  g_fill_disk_midway = false;
  EXPECT_EQ(std::filesystem::file_size(dir / "out.bin"), head.size() + body.size() + 4);
  EXPECT_TRUE(test::read_text(dir / "out.bin") == head + body + "tail");  // no dump of 1 MiB
}

// With a file-size limit (RLIMIT_FSIZE) below the bound given to expect() but above what is
// written, the file is written: fallocate past the limit raises SIGXFSZ, which ends a program
// that keeps its default action (every library user but the CLI, which ignores it), so a save
// that fits the limit was killed. Run in a child process (the limit is process-wide).
TEST(Writer, FileWriterExpectStaysUnderTheFileSizeLimit) {
  test::TempDir dir;
  const auto target = dir / "limited.bin";
  constexpr std::size_t kLimit = 3 << 20;
  const std::string body(std::size_t{1} << 20, 'B');
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_DFL);
    rlimit lim{kLimit, kLimit};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(90);
    try {
      FileWriter w(target);
      w.expect(std::uint64_t{8} << 20);
      w.write_stable(body.data(), body.size());
      w.commit();
    } catch (const Error&) {
      ::_exit(91);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(std::filesystem::file_size(target), body.size());
}

}  // namespace
}  // namespace ptio::io
