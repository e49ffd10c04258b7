// identify_magic: classify a file from its first bytes (and its end, for prefixed zips).
#include "ptio/io/magic.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string_view>

namespace ptio::io {

namespace {

std::string_view as_chars(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// The legacy format's first pickle is the magic number 0x1950a86a20f9469cfc6c as LONG1.
constexpr std::array<unsigned char, 12> kLegacyMagic = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                                        0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

}  // namespace

std::string_view file_magic_name(FileMagic m) noexcept {
  switch (m) {
    case FileMagic::kUnknown: return "unknown";
    case FileMagic::kEmpty: return "empty file";
    case FileMagic::kZeroFilled: return "zero-filled file";
    case FileMagic::kZip: return "zip archive";
    case FileMagic::kZipWithPrefix: return "zip archive with leading bytes";
    case FileMagic::kPickle: return "pickle";
    case FileMagic::kLegacyTorchSave: return "legacy torch.save stream";
    case FileMagic::kTar: return "tar archive";
    case FileMagic::kFlatbuffer: return "mobile flatbuffer module";
    case FileMagic::kGitLfsPointer: return "Git LFS pointer";
    case FileMagic::kHtml: return "HTML page";
    case FileMagic::kPreviewFormat: return "PyTorch preview-release archive";
    case FileMagic::kText: return "text file";
  }
  return "unknown";
}

std::string_view file_magic_advice(FileMagic m) noexcept {
  switch (m) {
    case FileMagic::kEmpty: return "the file is empty; the download or save did not complete";
    case FileMagic::kZeroFilled:
      return "the file holds only zero bytes; the download or save did not complete";
    case FileMagic::kGitLfsPointer:
      return "this is a Git LFS pointer, not the checkpoint; run `git lfs pull` to fetch the file";
    case FileMagic::kHtml:
      return "this is an HTML page, not a checkpoint; the download probably saved an error or "
             "login page";
    case FileMagic::kPreviewFormat:
      return "this is PyTorch's pre-1.0 preview archive format, which no PyTorch release reads";
    case FileMagic::kText: return "this is a text file, not a PyTorch file";
    default: return {};
  }
}

FileMagic identify_magic(std::span<const std::byte> head, std::uint64_t total_size) {
  if (total_size == 0 || head.empty()) return FileMagic::kEmpty;
  const std::string_view s = as_chars(head);
  if (s.size() >= 4 && s.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return FileMagic::kZip;
  if (s.size() >= 8 && s.substr(0, 8) == "PYTORCH1") return FileMagic::kPreviewFormat;
  if (s.starts_with("version https://git-lfs.github.com/spec/")) return FileMagic::kGitLfsPointer;
  if (s.size() >= 8 && s.substr(4, 4) == "PTMF") return FileMagic::kFlatbuffer;
  if (s.size() >= 262 && s.substr(257, 5) == "ustar") return FileMagic::kTar;
  if (static_cast<unsigned char>(s[0]) == 0x80) {
    const auto it = std::search(head.begin(), head.begin() + std::min<std::size_t>(head.size(), 32),
                                kLegacyMagic.begin(), kLegacyMagic.end(),
                                [](std::byte a, unsigned char b) {
                                  return static_cast<unsigned char>(a) == b;
                                });
    if (it != head.begin() + std::min<std::size_t>(head.size(), 32)) return FileMagic::kLegacyTorchSave;
    return FileMagic::kPickle;
  }
  // Protocols 0 and 1 write the magic number as text (LONG): "L119547037146038801333356L\n.".
  if (s.starts_with("L119547037146038801333356L\n.")) return FileMagic::kLegacyTorchSave;
  if (std::all_of(head.begin(), head.end(), [](std::byte b) { return b == std::byte{0}; }))
    return FileMagic::kZeroFilled;
  // Text: skip a UTF-8 BOM and leading white space, then look for HTML.
  std::string_view t = s;
  if (t.starts_with("\xEF\xBB\xBF")) t.remove_prefix(3);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  if (starts_with_ci(t, "<!doctype html") || starts_with_ci(t, "<html") ||
      starts_with_ci(t, "<head") || starts_with_ci(t, "<?xml") || starts_with_ci(t, "<!--"))
    return FileMagic::kHtml;
  const bool printable = std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || u == '\n' || u == '\r' || u == '\t';
  });
  if (printable) return FileMagic::kText;
  return FileMagic::kUnknown;
}

FileMagic identify_magic(const ReadAdapter& in) {
  const std::uint64_t size = in.size();
  std::array<std::byte, 512> head{};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, head.size()));
  in.read(0, head.data(), n);
  FileMagic m = identify_magic(std::span<const std::byte>(head.data(), n), size);
  if (m == FileMagic::kUnknown || m == FileMagic::kText) {
    // A zip with bytes before it (self-extracting stub, junk): look for the EOCD at the end.
    constexpr std::size_t kTail = 22 + 0xFFFF;
    const std::uint64_t start = size > kTail ? size - kTail : 0;
    const std::vector<std::byte> tail = in.read_vector(start, static_cast<std::size_t>(size - start));
    for (std::size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;) {
      if (std::memcmp(tail.data() + i, "PK\x05\x06", 4) == 0) return FileMagic::kZipWithPrefix;
    }
  }
  return m;
}

}  // namespace ptio::io
