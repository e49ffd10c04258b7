#!/usr/bin/env python3
"""TorchScript load benchmark driver: scripts two models with PyTorch, saves them with
torch.jit.save, times torch.jit.load (Python) and libtorch's torch::jit::load (C++, a tiny program
built here with g++ when libtorch-dev is installed) on them, runs bench_jit_load (ptio) on the
same files, prints ratios.

usage: jit_load_bench.py [BENCH_EXE] [--big-mb 300] [--deep 1000] [--dir /tmp] [--repeat 3]
                         [--small] [--no-libtorch]
Target (issue #5): ptio::jit::load >= 5x faster than libtorch's torch::jit::load, with every
parameter a zero-copy view into the mapped file.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn

from bench_common import Big, big_layers, build_libtorch

LIBTORCH_PROGRAM = r'''
#include <torch/script.h>
#include <chrono>
#include <cstdio>
int main(int argc, char** argv) {
  int repeat = std::atoi(argv[2]);
  double best = 1e30;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto m = torch::jit::load(argv[1]);
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::printf("%f\n", best);
}
'''


class Leaf(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return self.lin(x)


class Deep(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.blocks = nn.Sequential(*[Leaf() for _ in range(n)])

    def forward(self, x):
        return self.blocks(x)


def best(fn, repeat):
    t = []
    for _ in range(repeat):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return min(t) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bench_exe', nargs='?',
                    default=os.path.join(os.environ.get('PTIO_BENCH_DIR', ''), 'bench_jit_load'))
    ap.add_argument('--big-mb', type=float, default=300)
    ap.add_argument('--deep', type=int, default=1000)
    ap.add_argument('--dir', default='/tmp')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--small', action='store_true', help='16 MB and 100 submodules')
    ap.add_argument('--no-libtorch', action='store_true')
    a = ap.parse_args()
    if a.small:
        a.big_mb, a.deep = 16, 100
    if not os.path.exists(a.bench_exe):
        print('bench_jit_load not built (configure with -DPTIO_BUILD_BENCH=ON); skipped')
        return 0
    width = 1024
    n_layers = big_layers(a.big_mb, width)
    big = os.path.join(a.dir, 'ptio_bench_jit_big.pt')
    deep = os.path.join(a.dir, 'ptio_bench_jit_deep.pt')
    torch.jit.save(torch.jit.script(Big(n_layers, width)), big)
    torch.jit.save(torch.jit.script(Deep(a.deep)), deep)
    py = {'big': best(lambda: torch.jit.load(big), 1 if a.big_mb > 100 else a.repeat),
          'deep': best(lambda: torch.jit.load(deep), a.repeat)}
    lt = {}
    if not a.no_libtorch:
        with tempfile.TemporaryDirectory() as d:
            exe = build_libtorch(d, 'libtorch_load', LIBTORCH_PROGRAM)
            if exe:
                for k, p in (('big', big), ('deep', deep)):
                    r = 1 if (k == 'big' and a.big_mb > 100) else a.repeat
                    out = subprocess.run([exe, p, str(r)], capture_output=True, check=True)
                    lt[k] = float(out.stdout.decode().strip())
    env = dict(os.environ, PTIO_BENCH_JIT_BIG=big, PTIO_BENCH_JIT_DEEP=deep)
    out = subprocess.run([a.bench_exe, '--benchmark_format=json',
                          '--benchmark_repetitions=%d' % a.repeat,
                          '--benchmark_report_aggregates_only=true'],
                         env=env, capture_output=True, check=True)
    ms = {}
    for b in json.loads(out.stdout)['benchmarks']:
        if b.get('aggregate_name') == 'median':
            ms[b['run_name'].split('/')[-1]] = b['real_time']
    views, total = map(int, subprocess.run([a.bench_exe, '--zero-copy', big], capture_output=True,
                                           check=True).stdout.split())
    print('%-38s %10s %12s %10s %12s %10s' % ('file', 'ptio ms', 'torch.jit ms', 'ratio',
                                              'libtorch ms', 'ratio'))
    for k, path in (('big', big), ('deep', deep)):
        label = '%s (%d MiB%s)' % (k, os.path.getsize(path) >> 20,
                                   ', %d submodules' % a.deep if k == 'deep' else '')
        row = '%-38s %10.2f %12.2f %9.1fx' % (label, ms[k], py[k], py[k] / ms[k])
        if k in lt:
            row += ' %12.2f %9.1fx' % (lt[k], lt[k] / ms[k])
        print(row)
    print('zero-copy parameters in %s: %d of %d' % (os.path.basename(big), views, total))
    for p in (big, deep):
        os.remove(p)
    ok = views == total and all(lt[k] / ms[k] >= 5 for k in lt)
    print('target (>= 5x faster than libtorch, all parameters zero-copy): %s'
          % ('met' if ok else 'NOT met'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
