// Fuzz target for ptio::jit::load: load arbitrary bytes as a TorchScript archive from memory and
// walk the module (state_dict, modules, methods, code). Only ptio::Error may escape; anything
// else (another exception, a crash, a sanitizer report) is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>

#include "ptio/error.h"
#include "ptio/jit/import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    ptio::jit::ExtraFilesMap extra{{"meta.txt", ""}};
    const auto m =
        ptio::jit::load(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size),
                        std::nullopt, &extra, true);
    std::size_t n = m.state_dict().size() + m.named_modules().size();
    for (const auto* me : m.get_methods()) n += me->schema().size() + me->source().size();
    n += m.code().size() + m.named_attributes(true).size();
    if (n == static_cast<std::size_t>(-1)) std::abort();  // keep the work observable
  } catch (const ptio::Error&) {
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-ptio exception escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}
