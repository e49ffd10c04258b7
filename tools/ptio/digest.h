// SHA-256 for the CLI (nettle): tensor digests in `ptio show --json`.
#pragma once

#include <span>
#include <string>

#include "ptio/core/tensor.h"

namespace ptio::cli {

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::span<const std::byte> bytes);

/// SHA-256 of a tensor's elements in row-major order (little-endian element bytes, as
/// `tensor.contiguous().numpy().tobytes()` on a little-endian machine), streamed through
/// for_each_chunk (elements.h): O(chunk) memory whatever the tensor's size. Throws the errors of
/// reading the tensor (kBadStorage...).
std::string elements_sha256(const Tensor& t);

/// elements_sha256, or "" for tensors without data (meta, sparse, undefined) and on any error.
std::string tensor_sha256(const Tensor& t);

}  // namespace ptio::cli
