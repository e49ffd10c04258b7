// SHA-256 via Debian's nettle.
#include "sha256.h"

#include <nettle/sha2.h>

namespace ptio::cli {

std::string sha256_hex(std::span<const std::byte> bytes) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  // nettle takes size_t lengths; feed in 1 GiB pieces to stay clear of any platform limits.
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {
    const std::size_t n = left < (std::size_t{1} << 30) ? left : (std::size_t{1} << 30);
    sha256_update(&ctx, n, p);
    p += n;
    left -= n;
  }
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_SIZE);
  for (std::uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace ptio::cli
