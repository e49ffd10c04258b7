// A mapped input truncated while it is read: the opt-in SIGBUS handler removes the temporaries
// of live FileWriters and exits with the given status and message
// (install_mapped_input_fault_handler); FileWriter reports EFAULT (a write straight from the
// vanished mapping) as a clear error. ByteView::release_pages drops resident mapped pages. A file
// the process has no address space to map is read with pread.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/temp_cleanup.h"
#include "ptio/io/writer.h"
#include "test_support.h"

namespace ptio::io {
namespace {

TEST(MappedInputFault, TruncatedMappingExitsWithTheMessageAndRemovesTemporaries) {
  test::TempDir dir;
  const auto input = dir / "in.bin";
  const auto target = dir / "out.bin";
  test::write_file(input, std::string(1 << 20, 'i'));
  test::write_file(target, "original");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    if (!install_mapped_input_fault_handler("first message", 7)) ::_exit(90);
    if (!install_mapped_input_fault_handler("ptio: error: in.bin changed while it was read", 3))
      ::_exit(91);  // a second call replaces the message and status
    MmapReadAdapter in(input);
    const ByteView v = in.view(0, 1 << 20);
    FileWriter w(target);
    std::string chunk(3 << 20, 'x');  // past the buffer: bytes reach the temporary
    w.write(chunk.data(), chunk.size());
    if (::truncate(input.c_str(), 0) != 0) ::_exit(92);
    volatile char sink = static_cast<char>(v.data()[(1 << 20) - 1]);  // SIGBUS
    (void)sink;
    ::_exit(93);  // not reached
  }
  ::close(fds[1]);
  std::string err;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(err, "ptio: error: in.bin changed while it was read\n"
                 "  (the read at byte offset 1048575 (0xfffff) of " + input.string() + ")\n");
  EXPECT_EQ(test::temporaries_in(dir.path()), 0u);
  EXPECT_EQ(test::read_text(target), "original");
}

TEST(MappedInputFault, WriteFromATruncatedMappingIsAClearError) {
  test::TempDir dir;
  const auto input = dir / "in.bin";
  test::write_file(input, std::string(4 << 20, 'i'));
  MmapReadAdapter in(input);
  const ByteView v = in.view(0, 4 << 20);
  ASSERT_EQ(::truncate(input.c_str(), 0), 0);
  const auto target = dir / "out.bin";
  // Large writes go straight from the mapping to write(2), stable ones (a save's storages) to
  // writev(2) at the next flush: either way a failure to read the input (kIoReadFailed, which the
  // CLI reports as an unreadable input, exit 2), not to write the output.
  // The third way: many stable pieces, written by the FileWriter's flush thread.
  for (const int mode : {0, 1, 2}) {
    const bool stable = mode > 0;
    try {
      FileWriter w(target);
      if (mode == 1) {
        w.write("head", 4);
        w.write_stable(v.data(), 64 << 10);
      } else if (mode == 2) {
        for (std::size_t i = 0; i < 3000; ++i) {
          w.write("h", 1);
          w.write_stable(v.data() + (i % 1000) * 4096, 4096);
        }
      } else {
        w.write(v.data(), v.size());
      }
      w.commit();
      ADD_FAILURE() << "writing vanished mapped bytes succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIoReadFailed) << stable;
      EXPECT_NE(std::string(e.what()).find("truncated or changed while it was read"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_EQ(test::temporaries_in(dir.path()), 0u);
}

std::size_t resident_bytes() {
  std::size_t size = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%zu %zu", &size, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(ByteViewReleasePages, DropsResidentPagesOfAMappingAndKeepsTheBytes) {
  test::TempDir dir;
  const auto input = dir / "in.bin";
  std::string data(64 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096 % 251);
  test::write_file(input, data);
  MmapReadAdapter in(input);
  const ByteView v = in.view(0, data.size());
  ASSERT_TRUE(v.is_file_mapping());
  EXPECT_TRUE(v.subview(4096, 10).is_file_mapping());
  const std::size_t before = resident_bytes();
  unsigned sum = 0;
  for (std::size_t i = 0; i < v.size(); i += 4096) sum += static_cast<unsigned char>(v.data()[i]);
  const std::size_t touched = resident_bytes();
  EXPECT_GE(touched, before + (60u << 20));
  v.release_pages(0, v.size());
  EXPECT_LE(resident_bytes(), touched - (60u << 20));
  unsigned again = 0;
  for (std::size_t i = 0; i < v.size(); i += 4096) again += static_cast<unsigned char>(v.data()[i]);
  EXPECT_EQ(sum, again);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v.data()), v.size()), data);
  // Owned (not mapped) bytes: a no-op, the bytes stay.
  const ByteView owned(std::vector<std::byte>(1 << 20, std::byte{5}));
  EXPECT_FALSE(owned.is_file_mapping());
  owned.release_pages(0, owned.size());
  EXPECT_EQ(owned.data()[12345], std::byte{5});
}

#if defined(__SANITIZE_ADDRESS__)
#define PTIO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTIO_TEST_ASAN 1
#endif
#endif

// Under an address-space limit (`ulimit -v`) smaller than the file, mmap fails with ENOMEM: the
// adapter then reads with pread (no views) instead of failing. A 1 GiB sparse file and 256 MiB
// of headroom, in a forked child (the limit cannot be lifted again).
TEST(MmapReadAdapter, WithoutAddressSpaceForTheFileReadsWithPread) {
#ifdef PTIO_TEST_ASAN
  GTEST_SKIP() << "ASan's allocator needs address space an RLIMIT_AS would deny";
#else
  test::TempDir dir;
  const auto path = dir / "sparse.bin";
  constexpr std::uint64_t kSize = std::uint64_t{1} << 30;
  {
    std::ofstream f(path, std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kSize - 5));
    f.write("hello", 5);
  }
  ASSERT_EQ(std::filesystem::file_size(path), kSize);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    if (!(statm >> pages)) ::_exit(90);
    const rlim_t limit = pages * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (rlim_t{256} << 20);
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(91);
    try {
      EXPECT_PTIO_ERROR((void)MappedFile::open(path), ErrorCode::kIoMmapFailed);
      const MmapReadAdapter in(path);
      if (in.size() != kSize) ::_exit(92);
      if (in.supports_view()) ::_exit(93);
      if (!in.view(0, 16).empty()) ::_exit(94);
      char buf[8] = {};
      in.read(kSize - 5, buf, 5);
      if (std::memcmp(buf, "hello", 5) != 0) ::_exit(95);
      in.read(0, buf, 8);
      if (std::memcmp(buf, "\0\0\0\0\0\0\0\0", 8) != 0) ::_exit(96);
      bool out_of_bounds = false;
      try {
        in.read(kSize - 2, buf, 4);
      } catch (const Error& e) {
        out_of_bounds = e.code() == ErrorCode::kIoOutOfBounds;
      }
      if (!out_of_bounds) ::_exit(97);
    } catch (...) {
      ::_exit(98);
    }
    ::_exit(::testing::Test::HasFailure() ? 99 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
#endif
}

}  // namespace
}  // namespace ptio::io
