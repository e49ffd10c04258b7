// One entry point from the serialization layer into the pickle VM, with torch.load's resolver.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/io/read_adapter.h"
#include "ptio/pickle/resolver.h"
#include "ptio/serialization/load.h"

namespace ptio::detail {

/// torch.load's persistent_load: pid -> value (a Storage for storage ids).
using PersistentLoad = std::function<IValue(const IValue& pid)>;

/// The resolver torch.load uses: Python builtins, the torch globals of torch_globals.h, and a
/// fallback that, under `options.weights_only`, throws Error(kUnsafeGlobal) for any global that
/// is neither allowlisted nor in `options.safe_globals` (else: unknown globals load as Opaque).
pickle::Resolver make_torch_resolver(const LoadOptions& options);

/// Result of unpickle(): the value and the offset just past its STOP opcode.
struct Unpickled {
  IValue value;
  std::uint64_t end = 0;
};

/// Runs one pickle that starts at `begin` and must end (STOP) before `limit` in `in`. `record`
/// names it in errors (`archive/data.pkl`, `pickle`...). Unknown globals become Opaque values
/// (the resolver decides what is refused).
Unpickled unpickle(const io::ReadAdapter& in, std::uint64_t begin, std::uint64_t limit,
                   const pickle::Resolver& resolver, const PersistentLoad& persistent_load,
                   const LoadOptions& options, const std::string& record);

/// Same over bytes in memory (a zip record read whole). `stored_size`: the record's compressed
/// size when `bytes` were inflated from a deflated record, else 0 (UnpicklerOptions::stored_size:
/// it caps the pickle's allocation budget).
Unpickled unpickle(std::span<const std::byte> bytes, std::uint64_t base_offset,
                   const pickle::Resolver& resolver, const PersistentLoad& persistent_load,
                   const LoadOptions& options, const std::string& file, const std::string& record,
                   std::uint64_t stored_size = 0);

}  // namespace ptio::detail
