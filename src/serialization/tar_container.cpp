// Tar member table: 512-byte headers, octal sizes, PAX/GNU long names (spec-torch-save.md section
// 7).
#include "serialization/tar_container.h"

#include <array>
#include <string_view>

#include "ptio/error.h"

namespace ptio::detail {

namespace {

constexpr std::uint64_t kBlock = 512;

std::string_view field(const std::array<char, 512>& h, std::size_t off, std::size_t len) {
  std::string_view s(h.data() + off, len);
  const auto nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

std::uint64_t parse_octal(std::string_view s, const std::string& file, std::uint64_t at) {
  std::uint64_t v = 0;
  bool any = false;
  for (char c : s) {
    if (c == ' ' || c == '\0') {
      if (any) break;
      continue;
    }
    PTIO_CHECK(c >= '0' && c <= '7', ErrorCode::kTarFormat, "tar header at ", at,
               ": size field is not octal");
    PTIO_CHECK(v < (std::uint64_t{1} << 60), ErrorCode::kTarFormat, "tar header at ", at,
               ": size field overflows");
    v = v * 8 + static_cast<std::uint64_t>(c - '0');
    any = true;
  }
  (void)file;
  return v;
}

// PAX extended header records: "<len> key=value\n"; returns the `path` value if present.
std::string pax_path(std::string_view recs) {
  std::string path;
  while (!recs.empty()) {
    const auto sp = recs.find(' ');
    if (sp == std::string_view::npos) break;
    std::size_t len = 0;
    for (char c : recs.substr(0, sp)) {
      if (c < '0' || c > '9') return path;
      len = len * 10 + static_cast<std::size_t>(c - '0');
      if (len > recs.size()) return path;
    }
    if (len <= sp + 1 || len > recs.size()) break;
    std::string_view rec = recs.substr(sp + 1, len - sp - 1);
    if (!rec.empty() && rec.back() == '\n') rec.remove_suffix(1);
    if (rec.starts_with("path=")) path = std::string(rec.substr(5));
    recs.remove_prefix(len);
  }
  return path;
}

}  // namespace

std::map<std::string, TarMember> read_tar_members(const io::ReadAdapter& in) {
  std::map<std::string, TarMember> members;
  const std::uint64_t size = in.size();
  std::uint64_t pos = 0;
  std::string next_name;  // from a PAX or GNU long-name entry
  std::array<char, 512> h{};
  int guard = 0;
  while (pos + kBlock <= size) {
    PTIO_CHECK(++guard < 1'000'000, ErrorCode::kTarFormat, "tar archive has too many entries");
    in.read(pos, h.data(), kBlock);
    bool zero = true;
    for (char c : h) zero = zero && c == '\0';
    if (zero) break;  // end-of-archive marker
    // Checksum: sum of header bytes with the checksum field counted as spaces.
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kBlock; ++i)
      sum += (i >= 148 && i < 156) ? 0x20u : static_cast<unsigned char>(h[i]);
    const std::uint64_t recorded = parse_octal(field(h, 148, 8), in.name(), pos);
    PTIO_CHECK(sum == recorded, ErrorCode::kTarFormat, "tar header at ", pos, ": checksum ",
               recorded, " does not match the header bytes (", sum, ")");
    const std::uint64_t msize = parse_octal(field(h, 124, 12), in.name(), pos);
    const char type = h[156];
    const std::uint64_t data = pos + kBlock;
    PTIO_CHECK(msize <= size - data, ErrorCode::kTarFormat, "tar member at ", pos, " declares ",
               msize, " bytes but only ", size - data,
               " remain: the file is truncated (an incomplete download or save?)");
    std::string name(field(h, 0, 100));
    if (field(h, 257, 5) == "ustar") {
      const std::string_view prefix = field(h, 345, 155);
      if (!prefix.empty()) name = std::string(prefix) + "/" + name;
    }
    if (type == 'x' || type == 'L') {
      PTIO_CHECK(msize <= (1u << 20), ErrorCode::kTarFormat, "tar extended header at ", pos, " is ",
                 msize, " bytes long");
      const auto bytes = in.read_vector(data, static_cast<std::size_t>(msize));
      std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (type == 'x') {
        next_name = pax_path(text);
      } else {
        const auto nul = text.find('\0');
        next_name = std::string(nul == std::string_view::npos ? text : text.substr(0, nul));
      }
    } else if (type == '0' || type == '\0' || type == '7') {
      if (!next_name.empty()) name = next_name;
      members[name] = TarMember{data, msize};
      next_name.clear();
    } else {
      next_name.clear();
    }
    const std::uint64_t padded = (msize + kBlock - 1) / kBlock * kBlock;
    pos = data + padded;
  }
  return members;
}

}  // namespace ptio::detail
