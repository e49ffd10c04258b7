"""Driver for bench_unpickle: builds the data.pkl of a 20,000-tensor state_dict with torch.save,
times CPython's C pickle.loads on it (persistent_load + find_class stubs) and runs the Google
Benchmark binary (ptio, and libtorch's torch::jit::Unpickler when it was built with it) in the same
run; prints everything as ratios to ptio.

    /usr/bin/python3 bench/unpickle_bench.py path/to/bench_unpickle [--tensors 20000]
"""
import argparse
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import zipfile


def make_data_pkl(n):
    import torch

    # A plain dict (not OrderedDict): libtorch's C++ unpickler turns collections.OrderedDict into
    # None (it only expects it for backward hooks), so it cannot read an OrderedDict state_dict.
    sd = {f"layer{i // 4}.{('weight', 'bias', 'running_mean', 'running_var')[i % 4]}": torch.randn(2, 3)
          for i in range(n)}
    buf = io.BytesIO()
    torch.save(sd, buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    return z.read([x for x in z.namelist() if x.endswith("/data.pkl")][0])


def time_python(data, repeats):
    def rebuild(storage, *args):
        return storage

    class Stub(pickle.Unpickler):
        def find_class(self, module, name):
            if name == "_rebuild_tensor_v2":
                return rebuild
            if name.endswith("Storage"):
                return None
            return super().find_class(module, name)

        def persistent_load(self, pid):
            return pid

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        Stub(io.BytesIO(data)).load()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench_binary")
    ap.add_argument("--tensors", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    data = make_data_pkl(args.tensors)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.pkl")
        with open(path, "wb") as f:
            f.write(data)
        env = dict(os.environ, PTIO_BENCH_DATA_PKL=path)
        r = subprocess.run([args.bench_binary, "--benchmark_format=json",
                            "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"],
                           env=env, capture_output=True, text=True, check=True)
        results = {}
        for b in json.loads(r.stdout)["benchmarks"]:
            if b.get("aggregate_name") == "min" or (b.get("aggregate_name") == "median" and b["run_name"] not in results):
                results[b["run_name"]] = b["real_time"]  # ms
    py_ms = time_python(data, args.repeats)
    ptio_ms = results["BM_ptio_vm"]
    print(f"data.pkl: {len(data)} bytes, {args.tensors} tensors")
    print(f"{'variant':<42}{'ms':>10}{'x ptio VM':>12}")
    rows = [("ptio VM (trivial resolver)", ptio_ms),
            ("ptio building ptio::Tensor", results.get("BM_ptio_tensors")),
            ("CPython pickle (C, stub find_class)", py_ms),
            ("libtorch torch::jit::Unpickler", results.get("BM_libtorch"))]
    for name, ms in rows:
        if ms is None:
            print(f"{name:<42}{'n/a (not built with libtorch)':>22}")
        else:
            print(f"{name:<42}{ms:>10.2f}{ms / ptio_ms:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
