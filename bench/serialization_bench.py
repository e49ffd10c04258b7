#!/usr/bin/env python3
"""Serialization benchmark driver: builds two state_dicts with PyTorch, times torch.load/torch.save
on them in this process, runs bench_serialization (ptio) on the same files, prints ratios.

usage: serialization_bench.py BENCH_EXE [--big-mb 1024] [--many-mb 200] [--many-count 20000]
                              [--dir /tmp] [--repeat 3] [--libtorch-exe LIBTORCH_LOAD]
Targets (issue #4): mmap load of the big file >= 100x faster than torch.load; copying load within
1.3x of reading the file; many-tensor load >= 10x faster than torch.load; save within 1.3x of
write() of the same bytes (both of storages mapped from the file, saved with their records' CRC-32s,
and of copies, checksummed while written); peak RSS of the mmap load <= 64 MiB beyond the mapping.
With --libtorch-exe (bench/libtorch_load, built with -DPTIO_BENCH_LIBTORCH=ON), libtorch's
torch::pickle_load is timed against ptio::load in one process on the same tensors saved as a plain
dict (libtorch 1.13's unpickler turns an OrderedDict into None and cannot load the state_dicts).
"""
import argparse
import collections
import io
import json
import os
import subprocess
import sys
import time

import torch


def best(fn, repeat):
    """(wall ms, CPU ms) of the fastest of `repeat` runs (CPU: this process's user + system)."""
    t = []
    for _ in range(repeat):
        s, c = time.perf_counter(), time.process_time()
        fn()
        t.append(((time.perf_counter() - s) * 1000.0, (time.process_time() - c) * 1000.0))
    return min(t)


def run_ptio(exe, env, big, repeat):
    """Medians of bench_serialization: ({run_name: wall ms}, {run_name: CPU ms}, RSS KiB)."""
    out = subprocess.run([exe, '--benchmark_format=json', '--benchmark_repetitions=%d' % repeat,
                          '--benchmark_report_aggregates_only=true'],
                         env=env, capture_output=True, check=True)
    res = json.loads(out.stdout)
    wall, cpu = {}, {}
    for b in res['benchmarks']:
        # With one repetition Google Benchmark reports the run itself, no aggregates.
        if b.get('aggregate_name') == 'median' or (repeat == 1 and 'aggregate_name' not in b):
            # Benchmarks measured with MeasureProcessCPUTime() carry a '/process_time' suffix.
            name = b['run_name'].removesuffix('/process_time')
            wall[name] = b['real_time']
            cpu[name] = b['cpu_time']
    rss = int(subprocess.run([exe, '--rss', big], capture_output=True, check=True)
              .stdout.decode().strip())
    return wall, cpu, rss


def drop_cache(path):
    # Page cache stays warm on purpose: every contestant reads the same cached file.
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('bench_exe')
    ap.add_argument('--big-mb', type=float, default=1024)
    ap.add_argument('--many-mb', type=float, default=200)
    ap.add_argument('--many-count', type=int, default=20000)
    ap.add_argument('--dir', default='/tmp')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--libtorch-exe', default=None)
    ap.add_argument('--before-exe', default=None,
                    help='a second bench_serialization (e.g. of the previous commit), run on the '
                         'same files for before/after ratios')
    a = ap.parse_args()
    big = os.path.join(a.dir, 'ptio_bench_big.pt')
    many = os.path.join(a.dir, 'ptio_bench_many.pt')
    n_big = int(a.big_mb * (1 << 20) / 4 / 8)
    sd_big = collections.OrderedDict(('layer%d.weight' % i, torch.rand(n_big)) for i in range(8))
    per = max(1, int(a.many_mb * (1 << 20) / 4 / a.many_count))
    sd_many = collections.OrderedDict(('m%d.w' % i, torch.rand(per)) for i in range(a.many_count))
    torch.save(sd_big, big)
    torch.save(sd_many, many)
    dict_files = []
    if a.libtorch_exe:
        dict_files = [big + '.dict.pt', many + '.dict.pt']
        torch.save(dict(sd_big), dict_files[0])
        torch.save(dict(sd_many), dict_files[1])
    py, pyc = {}, {}
    for key, fn in (('big_load', lambda: torch.load(big)), ('many_load', lambda: torch.load(many)),
                    ('big_save', lambda: torch.save(sd_big, big + '.py')),
                    ('many_save', lambda: torch.save(sd_many, many + '.py')),
                    ('many_save_bytes', lambda: torch.save(sd_many, io.BytesIO()))):
        py[key], pyc[key] = best(fn, a.repeat)
    for p in (big + '.py', many + '.py'):
        os.remove(p)
    del sd_big, sd_many
    env = dict(os.environ, PTIO_BENCH_BIG=big, PTIO_BENCH_MANY=many, PTIO_BENCH_OUT=a.dir)
    runs = [run_ptio(a.bench_exe, env, big, a.repeat)]
    if a.before_exe:
        runs.append(run_ptio(a.before_exe, env, big, a.repeat))

    def rows(ms, cpu):
        # (label, ptio ms, baseline, baseline ms, wall ratio, CPU ratio, target); "faster" ratios
        # are baseline / ptio, "of" ratios ptio / baseline.
        # A run a --before-exe binary does not have reads as nan.
        nan = float('nan')

        def faster(label, k, base, bk, target):
            m, c = ms.get(k, nan), cpu.get(k, nan)
            return (label, m, base, py[bk], py[bk] / m, pyc[bk] / c, target)

        def of(label, k, base, bk, target):
            m, c, bm, bc = ms.get(k, nan), cpu.get(k, nan), ms.get(bk, nan), cpu.get(bk, nan)
            return (label, m, base, bm, m / bm, c / bc, target)
        return [
            faster('mmap load, big (%d MiB)' % (os.path.getsize(big) >> 20), 'load_file/big_mmap',
                   'torch.load', 'big_load', '>= 100x faster'),
            of('copying load, big', 'load_file/big_copy', 'read file', 'read_file/big',
               '<= 1.3x of read'),
            faster('mmap load, many (%d tensors)' % a.many_count, 'load_file/many_mmap',
                   'torch.load', 'many_load', '>= 10x faster'),
            faster('copying load, many', 'load_file/many_copy', 'torch.load', 'many_load',
                   '>= 10x faster'),
            of('save, big (mapped)', 'save_file/big', 'write()', 'write_raw/big',
               '<= 1.3x of write'),
            of('save, big (copies)', 'save_file/big_copied', 'write()', 'write_raw/big',
               '<= 1.3x of write'),
            of('save, big (fresh)', 'save_file/big_fresh', 'write()', 'write_raw/big',
               '<= 1.3x of write'),
            faster('save, big (vs torch.save)', 'save_file/big', 'torch.save', 'big_save',
                   'faster'),
            of('save, many (mapped)', 'save_file/many', 'write()', 'write_raw/many',
               '<= 1.3x of write'),
            of('save, many (copies)', 'save_file/many_copied', 'write()', 'write_raw/many',
               '<= 1.3x of write'),
            of('save, many (fresh)', 'save_file/many_fresh', 'write()', 'write_raw/many',
               '<= 1.3x of write'),
            faster('save, many (vs torch.save)', 'save_file/many', 'torch.save', 'many_save',
                   'faster'),
            faster('save, many, to memory', 'save_memory/many', 'BytesIO', 'many_save_bytes',
                   'faster'),
            # The stricter baseline: write() of the same bytes from anonymous memory (huge pages),
            # for the saves whose storages are in memory rather than in the page cache.
            of('save, big (copies)', 'save_file/big_copied', 'write mem', 'write_raw_memory/big',
               '<= 1.3x of write'),
            of('save, big (fresh)', 'save_file/big_fresh', 'write mem', 'write_raw_memory/big',
               '<= 1.3x of write'),
            of('save, many (copies)', 'save_file/many_copied', 'write mem',
               'write_raw_memory/many', '<= 1.3x of write'),
            of('save, many (fresh)', 'save_file/many_fresh', 'write mem',
               'write_raw_memory/many', '<= 1.3x of write'),
            # Not a target: write() after the same preallocation (fallocate) ptio::save does, to
            # show how much of a save's lead over plain write() that preallocation is.
            of('save, big (fresh)', 'save_file/big_fresh', 'prealloc',
               'write_raw_memory/big_preallocated', '(info)'),
            of('save, many (fresh)', 'save_file/many_fresh', 'prealloc',
               'write_raw_memory/many_preallocated', '(info)'),
        ]
    now = rows(runs[0][0], runs[0][1])
    before = rows(runs[1][0], runs[1][1]) if len(runs) > 1 else None
    head = '%-32s %10s  %-10s %10s  %8s %8s' % ('ptio', 'ms', 'baseline', 'ms', 'ratio', 'cpu')
    if before:
        head += ' %9s %8s' % ('before', 'cpu')
    print(head + '  target')
    for i, r in enumerate(now):
        line = '%-32s %10.2f  %-10s %10.2f  %8.2f %8.2f' % r[:6]
        if before:
            line += ' %9.2f %8.2f' % before[i][4:6]
        print(line + '  ' + r[6])
    print('ratio: wall-clock times; cpu: user+system CPU times of the same runs (robust when '
          'other jobs share the cores)')
    print('peak RSS growth of the mmap load of the big file: %.1f MiB (target <= 64 MiB)%s' %
          (runs[0][2] / 1024.0,
           ' (before: %.1f MiB)' % (runs[1][2] / 1024.0) if before else ''))
    if dict_files:
        out = subprocess.run([a.libtorch_exe, '--repeat', str(a.repeat)] + dict_files,
                             capture_output=True, check=True)
        lt = [json.loads(line) for line in out.stdout.decode().splitlines() if line.strip()]
        print('libtorch torch::pickle_load vs ptio::load, same process, plain-dict files:')
        for r, what in zip(lt, ('big', 'many (%d tensors)' % a.many_count)):
            print('  %-18s pickle_load %10.2f ms  ptio mmap %9.2f ms (%8.2fx)  '
                  'ptio copy %9.2f ms (%6.2fx)' %
                  (what, r['libtorch_pickle_load_ms'], r['ptio_mmap_load_ms'],
                   r['libtorch_pickle_load_ms'] / r['ptio_mmap_load_ms'], r['ptio_copy_load_ms'],
                   r['libtorch_pickle_load_ms'] / r['ptio_copy_load_ms']))
    for p in [big, many] + dict_files:
        os.remove(p)
    return 0


if __name__ == '__main__':
    sys.exit(main())
