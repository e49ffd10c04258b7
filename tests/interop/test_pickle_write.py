"""Writing: ptio's Pickler against the real picklers.

1. CPython dialect: every value of test_pickle_read is pickled by CPython (protocol 2), read by
   ptio and written again by ptio; the bytes must equal CPython's, and pickle.loads must give the
   value back.
2. TorchScript dialect: scripted modules (torch.jit.script + torch.jit.save) with attributes of
   many types; ptio reads data.pkl / constants.pkl and writes them again; the bytes must equal
   PyTorch's C++ pickler output.
"""
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_pickle_read import canon, to_json, values  # noqa: E402

TOOL = os.path.join(os.environ.get("PTIO_TOOLS_DIR", "."), "ptio_pickle_tool")


def roundtrip(mode, data, tmp, name):
    src = os.path.join(tmp, name + ".in.pkl")
    dst = os.path.join(tmp, name + ".out.pkl")
    with open(src, "wb") as f:
        f.write(data)
    r = subprocess.run([TOOL, mode, src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    with open(dst, "rb") as f:
        return f.read(), None


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def python_dialect(tmp):
    ok = bad = 0
    for name, value in values():
        original = pickle.dumps(value, protocol=2)
        out, err = roundtrip("python", original, tmp, name)
        if out is None:
            print(f"FAIL python {name}: {err}")
            bad += 1
            continue
        same_value = json.dumps(canon(to_json(pickle.loads(out))), sort_keys=True) == json.dumps(
            canon(to_json(value)), sort_keys=True)
        if out != original or not same_value:
            i = first_diff(out, original)
            print(f"FAIL python {name}: bytes differ at {i}: ptio {out[max(0, i - 8):i + 24]!r}"
                  f" cpython {original[max(0, i - 8):i + 24]!r}; loads equal: {same_value}")
            bad += 1
        else:
            ok += 1
    return ok, bad


def modules():
    import torch

    class Leaf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.arange(6.0).reshape(2, 3))
            self.k = 3

        def forward(self, x):
            return x * self.k

    class Attrs(torch.nn.Module):
        ints: List[int]
        floats: List[float]
        bools: List[bool]
        names: List[str]
        nested: List[List[int]]
        table: Dict[str, int]
        by_int: Dict[int, List[float]]
        pair: Tuple[int, str]
        maybe: Optional[int]
        tensors: List[torch.Tensor]

        def __init__(self):
            super().__init__()
            self.i = 7
            self.big = 2**40
            self.neg = -5
            self.mid = 300
            self.i32 = -(2**31)
            self.f = 0.1
            self.nf = -0.0
            self.s = "hello"
            self.u = "é\u20ac"
            self.b = True
            self.ints = [1, 2, 300, -4, 2**33]
            self.floats = [1.5, -2.0]
            self.bools = [True, False]
            self.names = ["a", "hello", "a"]
            self.nested = [[1], [2, 3], []]
            self.table = {"x": 1, "y": 2}
            self.by_int = {1: [0.5], 2: []}
            self.pair = (4, "four")
            self.maybe = None
            self.t = torch.tensor([1, 2, 3], dtype=torch.int16)
            self.view = self.t[1:]
            self.tensors = [self.t, torch.ones(2)]
            self.leaf = Leaf()
            self.leaf2 = Leaf()
            self.alias = self.leaf.w

        def forward(self, x):
            return x + self.i

    class Empty(torch.nn.Module):
        def forward(self, x):
            return x

    class Consts(torch.nn.Module):
        def forward(self, x):
            return x + torch.tensor([1.0, 2.0]) + len("日本")

    yield "attrs", Attrs()
    yield "leaf", Leaf()
    yield "empty", Empty()
    yield "consts", Consts()


def torchscript_dialect(tmp):
    import torch

    ok = bad = 0
    for name, module in modules():
        buf = io.BytesIO()
        torch.jit.save(torch.jit.script(module), buf)
        z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
        for record in z.namelist():
            if not (record.endswith("/data.pkl") or record.endswith("/constants.pkl")):
                continue
            original = z.read(record)
            label = f"{name}:{record.split('/', 1)[1]}"
            if name == "attrs" and record.endswith("/data.pkl"):
                # The module must exercise the whole dialect, or the comparison proves little.
                for needle in (b"restore_type_tag", b"build_intlist", b"build_doublelist",
                               b"build_boollist", b"build_tensorlist", b"__torch__", b"\x8a\x08",
                               b"_rebuild_tensor_v2"):
                    assert needle in original, needle
            out, err = roundtrip("torchscript", original, tmp, name + "_" + record.replace("/", "_"))
            if out is None:
                print(f"FAIL torchscript {label}: {err}")
                bad += 1
            elif out != original:
                i = first_diff(out, original)
                print(f"FAIL torchscript {label}: bytes differ at {i}: ptio {out[max(0, i - 8):i + 24]!r}"
                      f" pytorch {original[max(0, i - 8):i + 24]!r}")
                bad += 1
            else:
                ok += 1
    return ok, bad


def main():
    with tempfile.TemporaryDirectory() as tmp:
        ok1, bad1 = python_dialect(tmp)
        print(f"CPython dialect: {ok1}/{ok1 + bad1} byte-identical to pickle.dumps(v, 2)")
        ok2, bad2 = torchscript_dialect(tmp)
        print(f"TorchScript dialect: {ok2}/{ok2 + bad2} pickles byte-identical to torch.jit.save")
    return 1 if bad1 or bad2 else 0


if __name__ == "__main__":
    sys.exit(main())
