// Benchmark: unpickling the data.pkl of a 20,000-tensor state_dict (bench/unpickle_bench.py makes
// it and runs this with PTIO_BENCH_DATA_PKL set). ptio's VM with a trivial resolver, ptio building
// real ptio::Tensor handles, and (when built with libtorch) torch::jit::Unpickler.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/pickle/unpickler.h"

#ifdef PTIO_BENCH_LIBTORCH
#include <torch/csrc/jit/serialization/unpickler.h>
#endif

namespace {

const std::vector<char>& data_pkl() {
  static const std::vector<char> data = [] {
    const char* path = std::getenv("PTIO_BENCH_DATA_PKL");
    if (path == nullptr) {
      std::fprintf(stderr, "set PTIO_BENCH_DATA_PKL (bench/unpickle_bench.py does)\n");
      std::exit(2);
    }
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), {});
  }();
  return data;
}

std::span<const std::byte> input() {
  return {reinterpret_cast<const std::byte*>(data_pkl().data()), data_pkl().size()};
}

// A zero-filled buffer standing in for every storage record (no file reading in any variant).
const std::vector<std::byte>& zeros() {
  static const std::vector<std::byte> z(1 << 20);
  return z;
}

void BM_ptio_vm(benchmark::State& state) {
  // Trivial handlers, so this measures the VM: the rebuild call returns its storage argument,
  // storage classes are plain values, persistent ids come back as they are.
  ptio::pickle::Resolver r = ptio::pickle::Resolver::with_python_builtins();
  r.add_value("torch", "FloatStorage", ptio::IValue());
  r.add_callable("torch._utils", "_rebuild_tensor_v2",
                 [](const ptio::IValue& args, const ptio::pickle::CallContext&) {
                   return args.as_tuple().elements()[0];
                 });
  ptio::pickle::UnpicklerOptions o;
  o.resolver = &r;
  o.persistent_load = [](const ptio::IValue& pid, const ptio::pickle::CallContext&) { return pid; };
  for (auto _ : state) {
    ptio::IValue v = ptio::pickle::unpickle(input(), o);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data_pkl().size()));
}
BENCHMARK(BM_ptio_vm)->Unit(benchmark::kMillisecond);

void BM_ptio_tensors(benchmark::State& state) {
  // Real values: a shared ptio::Storage per key, ptio::Tensor::make with bounds checks.
  ptio::pickle::Resolver r = ptio::pickle::Resolver::with_python_builtins();
  r.add_value("torch", "FloatStorage",
              ptio::IValue(static_cast<std::int64_t>(ptio::ScalarType::Float)));
  r.add_callable(
      "torch._utils", "_rebuild_tensor_v2",
      [](const ptio::IValue& args, const ptio::pickle::CallContext&) {
        const auto& a = args.as_tuple().elements();
        auto ints = [](const ptio::IValue& t) {
          std::vector<std::int64_t> out;
          for (const auto& x : t.as_tuple().elements()) out.push_back(x.as_int());
          return out;
        };
        return ptio::IValue(ptio::Tensor::make(a[0].as_storage(), ptio::ScalarType::Float,
                                               ints(a[2]), ints(a[3]), a[1].as_int()));
      });
  ptio::pickle::UnpicklerOptions o;
  o.resolver = &r;
  o.persistent_load = [](const ptio::IValue& pid, const ptio::pickle::CallContext&) {
    const auto& t = pid.as_tuple().elements();
    const std::size_t nbytes = static_cast<std::size_t>(t[4].as_int()) * 4;
    return ptio::IValue(ptio::Storage::borrowed({zeros().data(), nbytes}));
  };
  for (auto _ : state) {
    ptio::IValue v = ptio::pickle::unpickle(input(), o);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_ptio_tensors)->Unit(benchmark::kMillisecond);

#ifdef PTIO_BENCH_LIBTORCH
void BM_libtorch(benchmark::State& state) {
  for (auto _ : state) {
    std::size_t pos = 0;
    const auto& d = data_pkl();
    auto reader = [&](char* buf, std::size_t n) {
      const std::size_t k = std::min(n, d.size() - pos);
      std::memcpy(buf, d.data() + pos, k);
      pos += k;
      return k;
    };
    auto read_record = [](const std::string&) {
      return at::DataPtr(const_cast<std::byte*>(zeros().data()), at::Device(at::kCPU));
    };
    torch::jit::Unpickler u(reader, nullptr, nullptr, read_record, c10::nullopt);
    c10::IValue v = u.parse_ivalue();
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_libtorch)->Unit(benchmark::kMillisecond);
#endif

}  // namespace

BENCHMARK_MAIN();
