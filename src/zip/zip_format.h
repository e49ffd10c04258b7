// Internal constants and helpers of the zip layer shared by the reader and the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace ptio::zip::detail {

// Signatures and fixed header sizes (PKWARE APPNOTE 4.3; spec-torch-save 2.4/2.5).
inline constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
inline constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
inline constexpr std::uint32_t kEocdSig = 0x06054b50;
inline constexpr std::uint32_t kZip64EocdSig = 0x06064b50;
inline constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
inline constexpr std::uint32_t kDataDescriptorSig = 0x08074b50;
inline constexpr std::size_t kLocalHeaderSize = 30;
inline constexpr std::size_t kCentralHeaderSize = 46;
inline constexpr std::size_t kEocdSize = 22;
inline constexpr std::size_t kZip64EocdSize = 56;
inline constexpr std::size_t kZip64LocatorSize = 20;
inline constexpr std::size_t kMaxCommentSize = 0xFFFF;
inline constexpr std::uint16_t kZip64ExtraId = 0x0001;
inline constexpr std::uint16_t kPaddingExtraId = 0x4246;  // "FB"
inline constexpr std::uint32_t kU32Max = 0xFFFFFFFF;
inline constexpr std::uint16_t kFlagEncrypted = 0x0001;
inline constexpr std::uint16_t kFlagDataDescriptor = 0x0008;
inline constexpr std::uint16_t kFlagPatchedData = 0x0020;
inline constexpr std::uint16_t kFlagStrongEncryption = 0x0040;
inline constexpr std::uint16_t kFlagUtf8 = 0x0800;
// Deflate cannot expand data by more than 1032:1 (a 258-byte match per ~2 bits).
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

/// a + b, or nullopt on overflow.
inline std::optional<std::uint64_t> add(std::uint64_t a, std::uint64_t b) {
  if (a > std::numeric_limits<std::uint64_t>::max() - b) return std::nullopt;
  return a + b;
}

/// Why a record name is unsafe (absolute, drive letter, `..` component, backslash, NUL), or
/// nullptr when it is fine. Names are otherwise taken verbatim, as PyTorch does.
inline const char* unsafe_name_reason(std::string_view name) {
  if (name.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (name.find('\\') != std::string_view::npos) return "contains a backslash";
  if (!name.empty() && name.front() == '/') return "is an absolute path";
  if (name.size() >= 2 && name[1] == ':') return "starts with a drive letter";
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return "has a '..' component";
    start = end + 1;
  }
  return nullptr;
}

}  // namespace ptio::zip::detail
