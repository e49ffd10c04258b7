// Consumer test program: the README's API example, built against the installed ptio package.
#include <iostream>
#include <sstream>

#include "ptio/error.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/serialization/state_dict.h"
#include "ptio/zip/archive_reader.h"

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  try {
    // --- README example begins ---
    ptio::IValue obj = ptio::load(argv[1]);        // mmap, weights_only=true, never runs code
    ptio::StateDict sd(obj);                      // ordered name -> Tensor view
    for (const auto& [name, t] : sd.items())
      std::cout << name << " " << ptio::scalar_type_name(t.dtype()) << " numel=" << t.numel()
                << "\n";
    std::span<const float> w = sd.at("fc1.weight").data<float>();  // zero-copy from the mapping
    std::ostringstream out;
    ptio::save(sd.to_ivalue(), out);              // torch.save's zip format, PyTorch loads it
    ptio::zip::ArchiveReader zip(argv[1]);        // the container itself
    for (const auto& r : zip.records()) std::cout << r.name << " @" << r.data_offset << "\n";
    // --- README example ends ---
    std::cout << "w[0]=" << w[0] << " saved=" << out.str().size() << "\n";
    return 0;
  } catch (const ptio::Error& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
