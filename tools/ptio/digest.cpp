// SHA-256 for the CLI via nettle (linked into the CLI only, not the library).
#include "digest.h"

#include <nettle/sha2.h>

#include "ptio/error.h"

namespace ptio::cli {

std::string sha256_hex(std::span<const std::byte> bytes) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const std::uint8_t*>(bytes.data()));
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (auto b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string tensor_sha256(const Tensor& t) {
  if (!t.defined() || t.is_meta() || t.is_sparse()) return {};
  try {
    if (t.is_contiguous()) return sha256_hex({t.data_ptr(), t.nbytes()});
    const auto bytes = t.contiguous_bytes();
    return sha256_hex(bytes);
  } catch (const Error&) {
    return {};
  }
}

}  // namespace ptio::cli
