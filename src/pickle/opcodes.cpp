// The pickle opcode table and its byte-indexed lookup.
#include "ptio/pickle/opcodes.h"

#include <array>

namespace ptio::pickle {

namespace {

constexpr OpcodeInfo kTable[] = {
#define PTIO_X(name, byte, proto, arg) {#name, OpCode::name, proto, ArgKind::arg},
    PTIO_PICKLE_OPCODES(PTIO_X)
#undef PTIO_X
};

struct ByteIndex {
  std::array<const OpcodeInfo*, 256> rows{};
  constexpr ByteIndex() {
    for (const auto& r : kTable) rows[static_cast<std::uint8_t>(r.code)] = &r;
  }
};
constexpr ByteIndex kIndex;

}  // namespace

const OpcodeInfo* opcode_info(std::uint8_t b) noexcept {
  return kIndex.rows[b];
}

std::span<const OpcodeInfo> all_opcodes() noexcept {
  return kTable;
}

std::string_view opcode_name(std::uint8_t b) noexcept {
  if (const OpcodeInfo* r = kIndex.rows[b]) return r->name;
  return "<unknown>";
}

}  // namespace ptio::pickle
