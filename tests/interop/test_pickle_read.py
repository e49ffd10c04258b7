"""Reading: CPython pickles a set of values at every protocol 0-5; `ptio show --json` must print
exactly Python's value in the JSON encoding of docs/cli.md (the converter below is the reference)."""
import base64
import collections
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile

PTIO = os.environ.get("PTIO_BIN", "ptio")


def to_json(v):
    """Python value -> the JSON structure ptio documents (docs/cli.md, `show --json`): a container
    reached again (pickle's memo; not through a cycle) is {"shared": N, "value": ...} at its first
    place and {"ref": N} after. Found in a first pass, labelled in a second, as ptio does."""
    found = set()
    _Encoder(None, found).encode(v)
    return _Encoder(found, None).encode(v) if found else _Encoder(None, set()).encode(v)


class _Encoder:
    def __init__(self, shared, found):
        self.shared, self.found = shared, found
        self.seen, self.labels, self.active = set(), {}, []

    def encode(self, v):
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            return v if -(2**53) <= v <= 2**53 else {"int": str(v)}
        if isinstance(v, float):
            if math.isnan(v):
                return {"float": "nan"}
            if math.isinf(v):
                return {"float": "inf" if v > 0 else "-inf"}
            return v
        if isinstance(v, str):
            return v
        if isinstance(v, bytes):
            return {"bytes": base64.b64encode(v).decode()}
        if isinstance(v, bytearray):
            return {"bytearray": base64.b64encode(bytes(v)).decode()}
        if isinstance(v, complex):
            return {"complex": [self.encode(v.real), self.encode(v.imag)]}
        if id(v) in self.active:
            return {"cycle": type(v).__name__}
        # pickle never memoizes the empty tuple (Python's singleton): each is a new value.
        label = None
        if v != () or type(v) is not tuple:
            if self.shared is None:
                if id(v) in self.seen:
                    self.found.add(id(v))
                    return None
                self.seen.add(id(v))
            elif id(v) in self.shared:
                if id(v) in self.labels:
                    return {"ref": self.labels[id(v)]}
                label = self.labels[id(v)] = len(self.labels) + 1
        self.active.append(id(v))
        out = self.compound(v)
        self.active.pop()
        return out if label is None else {"shared": label, "value": out}

    def compound(self, v):
        e = self.encode
        if isinstance(v, tuple):
            return {"tuple": [e(x) for x in v]}
        if isinstance(v, list):
            return [e(x) for x in v]
        if isinstance(v, dict):
            return {"dict": [[e(k), e(x)] for k, x in v.items()]}
        if isinstance(v, frozenset):
            return {"frozenset": [e(x) for x in v]}
        if isinstance(v, set):
            return {"set": [e(x) for x in v]}
        raise TypeError(type(v))


def canon(j):
    """Sorts set members (Python's set order is not the file order) so both sides compare."""
    if isinstance(j, list):
        return [canon(x) for x in j]
    if isinstance(j, dict):
        out = {k: canon(x) for k, x in j.items()}
        for key in ("set", "frozenset"):
            if key in out and len(out) == 1:
                out[key] = sorted(out[key], key=lambda x: json.dumps(x, sort_keys=True))
        return out
    return j


def values():
    ints = []
    for b in (7, 8, 15, 16, 31, 32, 53, 63, 64, 100):
        for base in (2**b, -(2**b)):
            ints += [base - 1, base, base + 1]
    ints += [0, 1, -1, 255, 256, 65535, 65536, -2**63 - 1]
    yield "ints", ints
    yield "floats", [0.0, -0.0, 0.1, 1.0, -2.5, 1e100, 1e-300, 5e-324, 2.2250738585072014e-308,
                     1.7976931348623157e308, float("nan"), float("inf"), float("-inf"), 1e16, 123456789.125]
    yield "scalars", [None, True, False]
    yield "strings", ["", "a", "é", "日本語", "\U0001f600", "quote'\"\\\n\r\t\x00\x7f", "x" * 256,
                      "é" * 200, "y" * 70000, "\u20ac" * 30000]
    yield "bytes", [b"", b"a", bytes(range(256)), b"\x00" * 300, b"z" * 70000,
                    bytearray(), bytearray(b"abc"), bytearray(range(256))]
    yield "tuples", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2, 3, 4, 5), ((),), ((1,),)]
    yield "one_element", [[1], {"k": "v"}, {1: 2}]
    yield "empty", [[], {}, set(), frozenset(), ()]
    yield "nesting", {"a": [{"b": ({"c": [1, [2, [3]]]},)}], "d": {(1, 2): {"e": None}}}
    shared = [1, 2]
    shared_t = ("s", 3)
    # Shared containers print once, then as references (docs/cli.md).
    yield "shared", [shared, shared, {"x": shared}, shared_t, shared_t, (shared, shared)]
    yield "sets", [{1, 2, 3}, frozenset({"a", "b"}), {(1, 2), frozenset({3})}, {None, True, 2.5}]
    yield "complex", [1 + 2j, -0.5j, complex(float("inf"), float("nan")), complex(1e300, -1e-300)]
    yield "ordered_dict", collections.OrderedDict([("z", 1), ("a", [2]), ("m", collections.OrderedDict())])
    yield "big_list", list(range(2500))
    yield "big_dict", {str(i): i for i in range(2100)}
    yield "mixed_keys", {1: "int", "1": "str", 2.5: "float", None: "none", (1, "a"): "tuple", b"k": "bytes"}
    rec = [1]
    rec.append(rec)
    yield "recursive_list", rec
    d = {}
    d["self"] = d
    yield "recursive_dict", [d, d]


def main():
    failures = 0
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, value in values():
            expected = json.dumps(canon(to_json(value)), sort_keys=True)
            for proto in range(0, 6):
                path = os.path.join(tmp, f"{name}.p{proto}.pkl")
                with open(path, "wb") as f:
                    f.write(pickle.dumps(value, protocol=proto))
                r = subprocess.run([PTIO, "show", "--json", path], capture_output=True, text=True)
                count += 1
                if r.returncode != 0:
                    print(f"FAIL {name} protocol {proto}: exit {r.returncode}: {r.stderr.strip()}")
                    failures += 1
                    continue
                got = json.dumps(canon(json.loads(r.stdout)), sort_keys=True)
                if got != expected:
                    print(f"FAIL {name} protocol {proto}:\n  expected {expected[:400]}\n  got      {got[:400]}")
                    failures += 1
    print(f"{count - failures}/{count} pickles read back equal")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
