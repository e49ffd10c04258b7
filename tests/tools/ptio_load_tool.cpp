// Test helper for the malicious-corpus test: ptio::load with default or weights_only=false options.
//   ptio_load_tool weights_only FILE   default options (weights_only = true)
//   ptio_load_tool full FILE           weights_only = false: unknown globals load as Opaque
// Prints `ok` and the value's repr (depth-limited) and exits 0, or prints `error <CodeName>
// <what()>` and exits 1. Nothing else is printed.
#include <iostream>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/error.h"
#include "ptio/serialization/load.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ptio_load_tool weights_only|full FILE\n";
    return 64;
  }
  const std::string mode = argv[1];
  ptio::LoadOptions o;
  if (mode == "full") {
    o.weights_only = false;
  } else if (mode != "weights_only") {
    std::cerr << "unknown mode " << mode << "\n";
    return 64;
  }
  try {
    ptio::IValue v = ptio::load(std::filesystem::path(argv[2]), o);
    std::cout << "ok " << ptio::to_repr(v, {.max_depth = 16, .max_items = 32}) << "\n";
    ptio::break_cycles(v);
    return 0;
  } catch (const ptio::Error& e) {
    std::cout << "error " << ptio::error_code_name(e.code()) << " " << e.what() << "\n";
    return 1;
  }
}
