"""Regenerates the small zip fixtures of tests/unit/zip and the fuzz seed corpus (PyTorch 1.13.1).

Run with /usr/bin/python3 from this folder. The outputs are committed; values asserted on them in
the unit tests were read with Python's zipfile and zlib (see expected comments in the tests).
"""
import io, os, zipfile, sys
import torch

# spec-torch-save 2.9 worked example (1051 bytes with PyTorch 1.13.1).
t = torch.arange(6., dtype=torch.float32).reshape(2, 3)
torch.save({'a': t, 'b': t[1:], 'c': torch.tensor(5)}, "zip1.pt")
assert os.path.getsize("zip1.pt") == 1051, os.path.getsize("zip1.pt")

# A TorchScript archive with deflated code records.
open("_m.py", "w").write('''
import torch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(3, 4)
    def forward(self, x):
        y = self.l(x)
        for i in range(3):
            y = y + torch.relu(y) * i
        return y
''')
sys.path.insert(0, ".")
import _m
torch.jit.save(torch.jit.script(_m.M()), "script.pt")
os.remove("_m.py")

# Python zipfile: deflated + stored, forced zip64.
with zipfile.ZipFile("pyzip64.zip", "w") as z:
    with z.open("arc/a.txt", "w", force_zip64=True) as f:
        f.write(b"hello zip64 " * 20)
    z.writestr(zipfile.ZipInfo("arc/b.bin"), bytes(range(256)), compress_type=zipfile.ZIP_DEFLATED)

# ptio scan on an odd zip layout PyTorch's reader (miniz) still opens: entries without a folder,
# backslash / absolute / upper-case names, a deflated debug pickle. Pickles are bytes only.
evil = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R."
with zipfile.ZipFile("scan_odd_layout.zip", "w") as z:
    z.writestr("data.pkl", b"\x80\x02}q\x00.")
    z.writestr("bytecode.pkl", b"\x80\x02)q\x00.")
    z.writestr("archive\\..\\evil.pkl", evil)
    z.writestr("/abs/x.bin", evil)
    z.writestr("archive/DATA.PKL", evil)
    z.writestr("code/__torch__.py.debug_pkl", evil, compress_type=zipfile.ZIP_DEFLATED)
