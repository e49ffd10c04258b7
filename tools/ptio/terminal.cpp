// Terminal output of the ptio commands: colour on terminals, the stderr progress bar and the
// Writer that advances it (see common.h).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common.h"

namespace ptio::cli {

bool color_enabled(int fd) {
  const char* no = std::getenv("NO_COLOR");
  if (no && *no) return false;
  const char* term = std::getenv("TERM");
  if (term && std::string_view(term) == "dumb") return false;
  return ::isatty(fd) == 1;
}

std::string paint(std::string_view s, const char* sgr, bool on) {
  if (!on) return std::string(s);
  return std::string("\x1b[") + sgr + "m" + std::string(s) + "\x1b[0m";
}

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(2) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < std::chrono::milliseconds(1000)) return;
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  draw();
}

void Progress::draw() {
  constexpr int kWidth = 30;
  const double frac =
      total_ ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 0.0;
  const int fill = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<std::size_t>(fill), '#');
  bar.append(static_cast<std::size_t>(kWidth - fill), '-');
  std::fprintf(stderr, "\r%s [%s] %3d%% %s / %s", label_.c_str(), bar.c_str(),
               static_cast<int>(frac * 100), human_size(done_).c_str(), human_size(total_).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\x1b[2K");
    std::fflush(stderr);
    drawn_ = false;
  }
  tty_ = false;
}

void ProgressWriter::do_write(const void* data, std::size_t n) {
  inner_.write(data, n);
  progress_.advance(n);
}

void ProgressWriter::do_write_stable(const void* data, std::size_t n) {
  inner_.write_stable(data, n);
  progress_.advance(n);
}

void ProgressWriter::do_expect(std::uint64_t n) {
  inner_.expect(n);
}

void ProgressWriter::do_commit() {
  inner_.commit();
  progress_.finish();
}

}  // namespace ptio::cli
