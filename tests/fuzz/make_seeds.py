#!/usr/bin/python3
"""Writes fuzz seeds for the unpickler/load/save paths changed in session 3 (memo pre-scan with
BINGET indices and early freeing, MEMOIZE and text PUT/GET, in-place mmap loads, the StorageArena
copying load, save_direct state dicts, cyclic containers for the general save path) and session 10
(tensor subclasses and Python attributes).

Run with Debian's PyTorch (/usr/bin/python3 tests/fuzz/make_seeds.py OUTDIR); OUTDIR gets
unpickler/, load/ and save_roundtrip/ subdirectories. The seeds are merged into
tests/fuzz/corpus/<target>/ with `fuzz_<target> -merge=1` (only those adding coverage are kept).
"""
import collections
import io
import os
import pickle
import pickletools
import sys
import zipfile

import torch


def put(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def torch_bytes(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def plain(out):
    # Heavy PUT use (past 256 entries: LONG_BINPUT/LONG_BINGET), then BINGETs of a few early and
    # late entries: most memo entries are never read back.
    strs = [f"s{i}" for i in range(400)]
    obj = [strs, [strs[3], strs[300], strs[399], strs[0]], {strs[5]: strs[260]}]
    for proto in (2, 3):
        put(out, "unpickler", f"s4-binget-after-many-puts-p{proto}", pickle.dumps(obj, protocol=proto))
    # Protocol 4/5: MEMOIZE (implicit indices) and frames.
    for proto in (4, 5):
        put(out, "unpickler", f"s4-memoize-p{proto}", pickle.dumps(obj, protocol=proto))
    # Text protocol: PUT/GET with decimal indices.
    small = [strs[:20], [strs[3], strs[19]], (strs[7], strs[7])]
    put(out, "unpickler", "s4-text-put-get-p0", pickle.dumps(small, protocol=0))
    put(out, "unpickler", "s4-text-put-get-p1", pickle.dumps(small, protocol=1))
    # Optimized (memo entries only where read): sparse BINPUT indices.
    put(out, "unpickler", "s4-optimized-sparse-memo",
        pickletools.optimize(pickle.dumps(obj, protocol=2)))
    # Cycles: a list holding itself, a dict holding itself, a tuple reached through a list it
    # holds (POP_MARK + BINGET), a set inside a cycle.
    lst = [1, "a"]
    lst.append(lst)
    dct = {"k": 1}
    dct["self"] = dct
    inner = []
    tup = (inner, "t")
    inner.append(tup)
    both = [lst, dct, tup, frozenset({"x", "y"})]
    for proto in (2, 4):
        put(out, "unpickler", f"s4-cycles-p{proto}", pickle.dumps(both, protocol=proto))
    # A memo entry redefined (BINPUT of the same index twice) between BINGETs.
    hand = (b"\x80\x02]q\x00(X\x01\x00\x00\x00ah\x00X\x01\x00\x00\x00bq\x00h\x00"
            b"J\x01\x00\x00\x00q\x01h\x01h\x00e.")
    put(out, "unpickler", "s4-memo-redefined", hand)
    # LONG_BINPUT/LONG_BINGET of a far index (the sparse memo, a bitmap of 1 Ki words).
    hand = b"\x80\x02K\x07r\xff\xff\x00\x00j\xff\xff\x00\x00\x86."
    put(out, "unpickler", "s4-long-binget-far", hand)
    # Two stacked pickles (legacy style): the scan restarts at the second.
    put(out, "unpickler", "s4-stacked",
        pickle.dumps(obj[1], protocol=2) + pickle.dumps(obj[2], protocol=2))


def tensors(out):
    torch.manual_seed(0)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["w"] = base
    sd["w_t"] = base.t()
    sd["row"] = base[1]
    sd["b"] = torch.tensor([1, 2, 3], dtype=torch.int64)
    sd["h"] = torch.ones(3, dtype=torch.float16)
    sd["bf"] = torch.ones(2, dtype=torch.bfloat16)
    sd["flag"] = torch.tensor([True, False])
    sd["c"] = torch.tensor([1 + 2j], dtype=torch.complex64)
    sd["empty"] = torch.empty(0, 3)
    sd["scalar"] = torch.tensor(7.5, dtype=torch.float64)
    sd["p"] = torch.nn.Parameter(torch.ones(2, 2))
    sd["p_nograd"] = torch.nn.Parameter(torch.zeros(3), requires_grad=False)
    sd["grad"] = torch.ones(2).requires_grad_()
    sd["again"] = sd["b"]  # the same tensor twice: BINGET of its rebuild
    z = torch_bytes(sd)
    put(out, "load", "s4-state-dict.pt", z)
    put(out, "save_roundtrip", "s4-state-dict.pt", z)
    put(out, "load", "s4-state-dict-legacy.pt", torch_bytes(sd, _use_new_zipfile_serialization=False))
    # Many tensors (heavy BINPUT use, LONG_BINPUT past 256, the 'storage'/'cpu' BINGETs).
    many = collections.OrderedDict((f"layer{i}.weight", torch.full((2,), float(i))) for i in range(60))
    z = torch_bytes(many)
    put(out, "load", "s4-many-tensors.pt", z)
    # Their data.pkl alone for the unpickler (BINPERSID under the inspection policy).
    with zipfile.ZipFile(io.BytesIO(z)) as zf:
        put(out, "unpickler", "s4-many-tensors-data.pkl", zf.read("archive/data.pkl"))
    with zipfile.ZipFile(io.BytesIO(torch_bytes(sd))) as zf:
        put(out, "unpickler", "s4-state-dict-data.pkl", zf.read("archive/data.pkl"))
    put(out, "save_roundtrip", "s4-many-tensors.pt", z)
    # Plain containers of tensors (save_direct) with shared strings and nesting.
    nested = {"a": [sd["b"], (sd["row"], "x")], "b": {"n": 3, "f": 1.5, "s": b"bytes"},
              "t": (1, None, True)}
    z = torch_bytes(nested)
    put(out, "load", "s4-nested.pt", z)
    put(out, "save_roundtrip", "s4-nested.pt", z)
    # Cyclic containers with tensors: a self-referencing list (direct path), a tuple reached again
    # through a list it holds (general path), a dict holding itself.
    lst = [sd["b"]]
    lst.append(lst)
    inner = [sd["h"]]
    tup = (inner, sd["b"])
    inner.append(tup)
    dct = {"t": sd["row"]}
    dct["self"] = dct
    cyc = {"list": lst, "tuple": tup, "dict": dct}
    z = torch_bytes(cyc)
    put(out, "load", "s4-cycles.pt", z)
    put(out, "save_roundtrip", "s4-cycles.pt", z)
    put(out, "save_roundtrip", "s4-cycles-legacy.pt", torch_bytes(cyc, _use_new_zipfile_serialization=False))
    # General path: a set, a storage, a device, a module-free object graph with a dtype.
    gen = {"set": {1, 2}, "storage": sd["b"].storage(), "dtype": torch.float16,
           "device": torch.device("cpu"), "size": torch.Size([2, 3])}
    z = torch_bytes(gen)
    put(out, "load", "s4-general.pt", z)
    put(out, "save_roundtrip", "s4-general.pt", z)
    # Protocol 4 data.pkl (MEMOIZE in a torch.save zip).
    z = torch_bytes(nested, pickle_protocol=4)
    put(out, "load", "s4-nested-p4.pt", z)
    put(out, "save_roundtrip", "s4-nested-p4.pt", z)


class MyT(torch.Tensor):
    pass


class SlotT(torch.Tensor):
    __slots__ = ("s1",)


def subclasses(out):
    # Session 10: tensor subclass instances and Python attributes (_rebuild_from_type_v2): a
    # subclass with a dict state holding a list and a tensor, a view of it with its own
    # attribute, a (dict, slots) state; and, as torch >= 2.0 writes them, a plain tensor and a
    # Parameter with attributes (_rebuild_from_type_v2 with torch.Tensor,
    # _rebuild_parameter_with_state; a stand-in of that function, which 1.13 lacks).
    sub = torch.arange(4.).as_subclass(MyT)
    sub.foo, sub.lst, sub.extra = 3, [1, None], torch.tensor([7], dtype=torch.int16)
    view = sub[1:]
    view.v = 1
    slots = torch.zeros(2).as_subclass(SlotT)
    slots.s1, slots.d = 9, "dd"
    z = torch_bytes({"sub": sub, "view": view, "slots": slots})
    put(out, "load", "s10-subclass-state.pt", z)
    put(out, "save_roundtrip", "s10-subclass-state.pt", z)

    def with_state(data, requires_grad, hooks, state):
        raise AssertionError("only pickled")

    with_state.__module__, with_state.__qualname__ = "torch._utils", "_rebuild_parameter_with_state"
    torch._utils._rebuild_parameter_with_state = with_state

    class Torch2Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if type(obj) is torch.Tensor and obj.__dict__:
                func, args = obj._reduce_ex_internal(2)
                return (torch._tensor._rebuild_from_type_v2,
                        (func, torch.Tensor, args, obj.__dict__))
            if type(obj) is torch.nn.Parameter and obj.__dict__:
                return (with_state,
                        (obj.data, obj.requires_grad, collections.OrderedDict(), obj.__dict__))
            return NotImplemented

    class torch2_pickle:
        Pickler = Torch2Pickler

    plain_t = torch.ones(2)
    plain_t.foo = 5
    param = torch.nn.Parameter(torch.ones(2))
    param.note = "p"
    z = torch_bytes({"plain": plain_t, "param": param}, pickle_module=torch2_pickle)
    del torch._utils._rebuild_parameter_with_state
    put(out, "load", "s10-torch2-attributes.pt", z)
    put(out, "save_roundtrip", "s10-torch2-attributes.pt", z)


def main():
    out = sys.argv[1]
    plain(out)
    tensors(out)
    subclasses(out)


if __name__ == "__main__":
    main()
