// libtorch baseline for the load benchmarks (built only with -DPTIO_BENCH_LIBTORCH=ON): times
// libtorch's `torch::pickle_load` (the C++ counterpart of torch.load: PyTorchStreamReader +
// readArchiveAndTensors, every storage copied into a new tensor) and ptio::load on the same files
// in one process, and prints one JSON object per file.
//
// usage: libtorch_load [--repeat N] FILE...
// torch::pickle_load takes the file's bytes in memory, so its time includes reading the file
// into a std::vector (as a caller must); ptio::load is given the path.
//
// libtorch 1.13's unpickler turns a `collections.OrderedDict` into None (it only expects the
// empty OrderedDict of a tensor's backward hooks), so it cannot load a torch.save'd OrderedDict
// state_dict; serialization_bench.py therefore gives this driver the same tensors saved as a
// plain dict.
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ptio/serialization/load.h"

namespace {

template <typename Fn>
double median_ms(int repeat, Fn&& fn) {
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    const auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<char> read_all(const char* path) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(0, std::ios::end);
  std::vector<char> d(static_cast<std::size_t>(f.tellg()));
  f.seekg(0);
  f.read(d.data(), static_cast<std::streamsize>(d.size()));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  int first = 1;
  if (argc > 2 && std::strcmp(argv[1], "--repeat") == 0) {
    repeat = std::max(1, std::atoi(argv[2]));
    first = 3;
  }
  if (first >= argc) {
    std::fprintf(stderr, "usage: libtorch_load [--repeat N] FILE...\n");
    return 2;
  }
  for (int i = first; i < argc; ++i) {
    const char* path = argv[i];
    std::size_t tensors = 0;
    const double lt = median_ms(repeat, [&] {
      const std::vector<char> bytes = read_all(path);
      const c10::IValue v = torch::jit::pickle_load(bytes);
      tensors = v.isGenericDict() ? v.toGenericDict().size() : 0;
    });
    ptio::LoadOptions mm;
    const double pm = median_ms(repeat, [&] { ptio::IValue v = ptio::load(std::filesystem::path(path), mm); });
    ptio::LoadOptions cp;
    cp.mmap = false;
    const double pc = median_ms(repeat, [&] { ptio::IValue v = ptio::load(std::filesystem::path(path), cp); });
    std::printf(
        "{\"file\": \"%s\", \"entries\": %zu, \"libtorch_pickle_load_ms\": %.3f, "
        "\"ptio_mmap_load_ms\": %.3f, \"ptio_copy_load_ms\": %.3f}\n",
        path, tensors, lt, pm, pc);
  }
  return 0;
}
