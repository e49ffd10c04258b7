// SHA-256 for the CLI via nettle (linked into the CLI only, not the library).
#include "digest.h"

#include <nettle/sha2.h>

#include "elements.h"
#include "ptio/error.h"

namespace ptio::cli {

namespace {
std::string hex_digest(sha256_ctx& ctx) {
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
}  // namespace

std::string sha256_hex(std::span<const std::byte> bytes) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const std::uint8_t*>(bytes.data()));
  return hex_digest(ctx);
}

std::string elements_sha256(const Tensor& t) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  for_each_chunk(t, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t) {
    sha256_update(&ctx, piece.size(), reinterpret_cast<const std::uint8_t*>(piece.data()));
  });
  return hex_digest(ctx);
}

std::string tensor_sha256(const Tensor& t) {
  if (!t.defined() || t.is_meta() || t.is_sparse()) return {};
  try {
    return elements_sha256(t);
  } catch (const Error&) {
    return {};
  }
}

}  // namespace ptio::cli
