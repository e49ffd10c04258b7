// Fuzz target: ptio::load (zip, legacy, tar, raw pickle) with weights_only on and off, small
// limits; every result is printed and converted to JSON. Only ptio::Error may escape.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/error.h"
#include "ptio/serialization/load.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ptio;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  for (bool weights_only : {true, false}) {
    LoadOptions o;
    o.weights_only = weights_only;
    o.mmap = weights_only;  // both the zero-copy and the copying paths
    o.verify_crc = !weights_only;
    o.limits.pickle.max_depth = 200;
    o.limits.pickle.max_memo_entries = 1 << 16;
    o.limits.pickle.max_container_length = 1 << 16;
    o.limits.pickle.alloc_base_bytes = 8 << 20;
    o.limits.pickle.alloc_bytes_per_input_byte = 32;
    o.limits.zip.max_entries = 1 << 12;
    o.limits.zip.max_inflated_size = 1 << 24;
    IValue v;
    try {
      v = load(in, o);
    } catch (const Error&) {
      continue;
    }
    (void)to_repr(v, {.max_depth = 64, .max_items = 64});
    (void)to_json(v, {.max_depth = 64});
    break_cycles(v);
  }
  return 0;
}
