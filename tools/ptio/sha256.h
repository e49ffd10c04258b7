// SHA-256 of byte ranges for the CLI's tensor listings (nettle; linked into the CLI only).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace ptio::cli {

/// Lower-case hex SHA-256 of `bytes` (the `sha256` field of `ptio tensors --json`).
std::string sha256_hex(std::span<const std::byte> bytes);

}  // namespace ptio::cli
