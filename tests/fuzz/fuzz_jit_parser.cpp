// Fuzz target for the TorchScript frontend: parse arbitrary bytes; when they parse, printing must
// be a fixed point (print -> parse -> print gives the same text). Only ptio::Error may escape the
// parser; anything else, or an unstable print, aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace fe = ptio::jit::frontend;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fe::ParsedFile f1;
  try {
    f1 = fe::parse_source(text, "code/__torch__/fuzz.py");
  } catch (const ptio::Error&) {
    return 0;  // rejected cleanly
  }
  const std::string p1 = fe::print_source(f1);
  fe::ParsedFile f2;
  try {
    f2 = fe::parse_source(p1, "printed.py");
  } catch (const ptio::Error& e) {
    // Parentheses the printer adds can push a tree just inside the nesting limit over it.
    if (e.code() == ptio::ErrorCode::kLimitExceeded) return 0;
    std::fprintf(stderr, "printed text does not parse: %s\n---\n%s\n", e.what(), p1.c_str());
    std::abort();
  }
  const std::string p2 = fe::print_source(f2);
  if (p1 != p2) {
    std::fprintf(stderr, "print is not a fixed point\n--- first\n%s\n--- second\n%s\n",
                 p1.c_str(), p2.c_str());
    std::abort();
  }
  return 0;
}
