// Shared helpers for ptio's GoogleTest tests: paths, temporary folders, byte helpers, error
// asserts.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/error.h"

namespace ptio::test {

/// The checkout's root, the `../shared` folder, and the system Python with PyTorch.
std::filesystem::path source_dir();
std::filesystem::path shared_dir();
std::string python();

/// A fresh empty folder under the build tree, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::vector<std::byte> bytes_of(std::string_view s);
std::string string_of(const std::vector<std::byte>& b);
void write_file(const std::filesystem::path& p, std::string_view content);
std::string read_text(const std::filesystem::path& p);
// FileWriter temporaries (`*.tmp.*`) directly in `dir`.
std::size_t temporaries_in(const std::filesystem::path& dir);
// Whether fallocate(2) allocates files in `dir` (a 1 MiB probe file, removed afterwards).
bool fallocate_supported(const std::filesystem::path& dir);

/// Makes every later thread (and process) creation of the calling process fail as under a
/// resource limit (clone3: ENOSYS, clone: EAGAIN), with a seccomp filter that cannot be undone:
/// call it only in a forked child. False when seccomp filters are not available here.
bool deny_new_threads();

/// Runs `body` in a forked child denied new threads (deny_new_threads()) and returns the child's
/// exit status: body's return value, or kNoSeccomp when filters are not available (the caller
/// skips), or -1 when the child did not exit normally. `body` must not throw.
inline constexpr int kNoSeccomp = 77;
int run_without_threads(const std::function<int()>& body);

/// Runs a shell command; returns its exit status and puts stdout in `out`.
int run(const std::string& command, std::string* out = nullptr);

}  // namespace ptio::test

/// Asserts that `stmt` throws ptio::Error with `expected_code`.
#define EXPECT_PTIO_ERROR(stmt, expected_code)                                           \
  do {                                                                                   \
    try {                                                                                \
      stmt;                                                                              \
      ADD_FAILURE() << "expected ptio::Error " << ::ptio::error_code_name(expected_code) \
                    << " but nothing was thrown";                                        \
    } catch (const ::ptio::Error& e_) {                                                  \
      EXPECT_EQ(e_.code(), expected_code)                                                \
          << "got " << ::ptio::error_code_name(e_.code()) << ": " << e_.what();          \
    }                                                                                    \
  } while (0)
