#!/usr/bin/python3
"""Zip layer benchmark: ptio (bench_zip) vs Python zipfile vs PyTorch's own reader/writer, on one
torch.save file, in one run, printed as a table of ratios.

  /usr/bin/python3 bench/zip_bench.py [--mb 1024] [--tensors 8] [--bench-bin build/bench/bench_zip]

Size: --mb or $PTIO_BENCH_MB (total tensor bytes, default 1024). Runs on the page-cache-warm file.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import torch


def best(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=int(os.environ.get("PTIO_BENCH_MB", "1024")))
    ap.add_argument("--tensors", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bench-bin", default=os.path.join(here, "..", "build", "bench", "bench_zip"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.pt")
        per = args.mb * 1024 * 1024 // args.tensors // 4
        torch.manual_seed(0)
        torch.save({f"t{i}": torch.rand(per) for i in range(args.tensors)}, path)
        total = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
        print(f"input: {path}: {os.path.getsize(path) / 2**20:.1f} MiB, {args.tensors} tensors "
              f"of {per * 4 / 2**20:.1f} MiB", file=sys.stderr)
        env = dict(os.environ, PTIO_BENCH_ZIP=path, PTIO_BENCH_OUT=d)
        out = subprocess.run([args.bench_bin, "--benchmark_format=json",
                              "--benchmark_min_time=0.5"],
                             env=env, capture_output=True, text=True, check=True).stdout
        ptio = {b["name"].split("/")[0]: b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[b["time_unit"]]
                for b in json.loads(out)["benchmarks"]}

        names = [i.filename for i in zipfile.ZipFile(path).infolist()]

        def zipfile_read():
            with zipfile.ZipFile(path) as z:
                for n in names:
                    z.read(n)

        prefix = names[0].split("/")[0] + "/"

        def torch_read():
            r = torch._C.PyTorchFileReader(path)
            for n in names:
                r.get_record(n[len(prefix):])

        records = []
        with zipfile.ZipFile(path) as z:
            for n in names:
                records.append((n[len(prefix):], z.read(n)))
        records = [(n, data) for n, data in records if n != "version"]

        def torch_write():
            w = torch._C.PyTorchFileWriter(os.path.join(d, "torch_w.pt"))
            for n, data in records:
                w.write_record(n, data, len(data))
            w.write_end_of_file()

        def plain_write():
            with open(os.path.join(d, "plain.bin"), "wb", buffering=0) as f:
                for _, data in records:
                    f.write(data)

        py = {
            "zipfile_read": best(zipfile_read, args.reps),
            "torch_read": best(torch_read, args.reps),
            "torch_write": best(torch_write, args.reps),
            "python_plain_write": best(plain_write, args.reps),
        }

    gib = total / 2**30
    rows = [
        ("ptio list (open + directory)", ptio["BM_List"], None),
        ("ptio read() all records, CRC", ptio["BM_ReadAllCrc"], ptio["BM_MemcpyFresh"]),
        ("ptio read_into() all, CRC", ptio["BM_ReadIntoCrc"], ptio["BM_MemcpyReused"]),
        ("ptio view() all (zero-copy)", ptio["BM_ViewAll"], None),
        ("memcpy into fresh buffers", ptio["BM_MemcpyFresh"], None),
        ("memcpy into reused buffer", ptio["BM_MemcpyReused"], None),
        ("python zipfile read all", py["zipfile_read"], ptio["BM_ReadAllCrc"]),
        ("torch PyTorchFileReader.get_record all", py["torch_read"], ptio["BM_ReadAllCrc"]),
        ("ptio ArchiveWriter -> write(2)", ptio["BM_WriteArchiveFd"], ptio["BM_WritePlain"]),
        ("ptio ArchiveWriter -> FileWriter (tmp+mv)", ptio["BM_WriteArchive"], ptio["BM_WritePlain"]),
        ("plain write(2) of the same bytes", ptio["BM_WritePlain"], None),
        ("torch PyTorchFileWriter write", py["torch_write"], ptio["BM_WriteArchiveFd"]),
        ("python plain write of the same bytes", py["python_plain_write"], None),
    ]
    print(f"\nzip benchmark: {gib:.2f} GiB of records, {len(names)} records\n")
    print(f"{'what':42s} {'time':>11s} {'GiB/s':>8s}  ratio (vs)")
    vs_names = {ptio["BM_MemcpyFresh"]: "memcpy fresh", ptio["BM_MemcpyReused"]: "memcpy reused",
                ptio["BM_ReadAllCrc"]: "ptio read()", ptio["BM_WritePlain"]: "plain write",
                ptio["BM_WriteArchiveFd"]: "ptio write(2)"}
    for what, t, ref in rows:
        rate = f"{gib / t:8.2f}" if t > 0 and "list" not in what and "view" not in what else "       -"
        ratio = f"{t / ref:5.2f}x ({vs_names[ref]})" if ref else ""
        print(f"{what:42s} {t * 1e3:9.3f}ms {rate}  {ratio}")


if __name__ == "__main__":
    main()
