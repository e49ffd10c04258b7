// Fuzz target: ptio::scan over any bytes (zip, legacy, tar, raw pickle). The scan must never throw
// anything but ptio::Error, and only kUnknownFormat or io/zip-directory errors for inputs it
// cannot read at all; every report must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/serialization/scan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ptio;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  ScanOptions o;
  o.limits.pickle.max_depth = 200;
  o.limits.pickle.max_stack = 1 << 16;
  o.limits.pickle.max_memo_entries = 1 << 16;
  try {
    const ScanReport r = scan(io::MemoryReadAdapter(in, "<fuzz>"), o);
    // The verdict is the worst class present.
    Verdict worst = Verdict::kSafe;
    for (const ScanGlobal& g : r.globals) {
      if (g.cls == GlobalClass::kDangerous) worst = Verdict::kDangerous;
      if (g.cls == GlobalClass::kUnknown && worst == Verdict::kSafe) worst = Verdict::kSuspicious;
      if (g.offset >= size) std::abort();
    }
    for (const ScanFinding& f : r.findings)
      if (f.severity > worst) worst = f.severity;
    if (worst != r.verdict) std::abort();
  } catch (const Error&) {
  }
  // The same bytes as a bare pickle stream never throw.
  const ScanReport p = scan_pickle_bytes(in, "<fuzz>", 0, o);
  for (const ScanGlobal& g : p.globals)
    if (g.offset >= size) std::abort();
  return 0;
}
