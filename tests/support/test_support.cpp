// Shared helpers for ptio's GoogleTest tests.
#include "test_support.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace ptio::test {

std::filesystem::path source_dir() { return PTIO_SOURCE_DIR; }
std::filesystem::path shared_dir() { return PTIO_SHARED_DIR; }
std::string python() { return PTIO_PYTHON; }

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::path(PTIO_TEST_BINARY_DIR) / "tmp" /
          (std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

std::string string_of(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void write_file(const std::filesystem::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t temporaries_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

int run(const std::string& command, std::string* out) {
  FILE* f = ::popen(command.c_str(), "r");
  if (!f) return -1;
  std::array<char, 4096> buf{};
  std::string result;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) result.append(buf.data(), n);
  const int status = ::pclose(f);
  if (out) *out = std::move(result);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ptio::test
