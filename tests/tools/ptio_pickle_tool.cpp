// Test helper for the interop tests: unpickles a file with ptio and pickles it again.
//   ptio_pickle_tool python IN OUT       CPython dialect (Resolver::with_python_builtins)
//   ptio_pickle_tool torchscript IN OUT  PyTorch C++ dialect, keeping the file's memoization
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/pickle/pickler.h"
#include "ptio/pickle/unpickler.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: ptio_pickle_tool python|torchscript IN OUT\n";
    return 64;
  }
  const std::string mode = argv[1];
  try {
    const std::vector<std::byte> in = ptio::io::read_file(argv[2]);
    ptio::pickle::UnpicklerOptions uo;
    ptio::pickle::PicklerOptions po;
    ptio::pickle::Resolver resolver;
    if (mode == "python") {
      resolver.add_python_builtins();
      po.dialect = ptio::pickle::Dialect::kPython;
    } else if (mode == "torchscript") {
      // OrderedDict (tensor backward hooks) and tensor rebuilds stay Opaque and are written
      // back as they were read.
      resolver.add_torchscript_pickle_globals();
      uo.policy = ptio::pickle::Policy::kInspection;
      uo.record_memoized = true;
      po.dialect = ptio::pickle::Dialect::kTorchScript;
    } else {
      std::cerr << "unknown mode " << mode << "\n";
      return 64;
    }
    uo.resolver = &resolver;
    uo.file = argv[2];
    ptio::pickle::Unpickler u(in, uo);
    ptio::IValue v = u.load();
    const auto memoized = u.memoized();
    if (mode == "torchscript")
      po.memoize = [&](const ptio::IValue& x) { return memoized.count(x.identity()) != 0; };
    const std::vector<std::byte> out = ptio::pickle::pickle_value(v, po);
    std::ofstream f(argv[3], std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    ptio::break_cycles(v);
    return f ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ptio_pickle_tool: " << e.what() << "\n";
    return 2;
  }
}
