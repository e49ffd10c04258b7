// Fuzz target: the Unpickler under the inspection policy with small limits; every result is
// printed, hashed, converted to JSON and pickled again. Only ptio::Error may escape the library.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/error.h"
#include "ptio/pickle/pickler.h"
#include "ptio/pickle/unpickler.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ptio;
  static const pickle::Resolver resolver = [] {
    pickle::Resolver r = pickle::Resolver::with_python_builtins();
    r.add_torchscript_pickle_globals();
    return r;
  }();
  pickle::UnpicklerOptions o;
  o.policy = pickle::Policy::kInspection;
  o.resolver = &resolver;
  o.limits.max_depth = 200;
  o.limits.max_memo_entries = 1 << 16;
  o.limits.max_container_length = 1 << 16;
  o.limits.alloc_base_bytes = 8 << 20;
  o.limits.alloc_bytes_per_input_byte = 32;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  pickle::Unpickler u(in, o);
  // Up to three stacked pickles, like the legacy torch.save format.
  for (int i = 0; i < 3 && !u.at_end(); ++i) {
    IValue v;
    try {
      v = u.load();
    } catch (const Error&) {
      return 0;
    }
    (void)to_repr(v, {.max_depth = 64, .max_items = 64});
    (void)to_json(v, {.max_depth = 64});
    try {
      (void)v.hash();
    } catch (const Error&) {
    }
    try {
      (void)(v == v);
      pickle::PicklerOptions po;
      po.dialect = pickle::Dialect::kPython;
      const auto bytes = pickle::pickle_value(v, po);
      IValue again = pickle::unpickle(bytes, o);
      break_cycles(again);
    } catch (const Error&) {
    }
    break_cycles(v);
  }
  return 0;
}
