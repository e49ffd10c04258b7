#!/usr/bin/env python3
# A legacy torch.save stream whose sys_info says little_endian=False (what a big-endian host
# writes) loads with the same values as in torch.load: torch ignores sys_info, and every PyTorch
# writer stores storage bytes little-endian (THPStorage_writeFileRaw swaps on big-endian hosts;
# spec-torch-save.md 6.1). ptio byte-swapped such files (trial 9: little_endian_false_legacy.pt
# gave values torch does not). The flag is flipped in a file real PyTorch wrote, the file is
# converted to a zip by ptio and both are loaded by torch.
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()

FLAG = b'X\r\x00\x00\x00little_endianq\x02\x88'  # protocol-2 sys_info: 'little_endian': True


def main():
    obj = {'f32': torch.tensor([1.5, -2.25, 3.0e10]),
           'f64': torch.tensor([1.0 / 3, -7.5], dtype=torch.float64),
           'f16': torch.tensor([0.5, 65504.0], dtype=torch.float16),
           'i16': torch.tensor([1, -2, 300], dtype=torch.int16),
           'i32': torch.tensor([70000, -1], dtype=torch.int32),
           'i64': torch.tensor([2 ** 40, -3]),
           'c64': torch.tensor([1 + 2j], dtype=torch.complex64),
           'u8': torch.tensor([1, 255], dtype=torch.uint8)}
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'le.pt')
        torch.save(obj, src, _use_new_zipfile_serialization=False)
        data = open(src, 'rb').read()
        check(data.count(FLAG) == 1, 'sys_info not found in the legacy stream')
        path = os.path.join(d, 'big_endian_flag.pt')
        with open(path, 'wb') as f:
            f.write(data.replace(FLAG, FLAG[:-1] + b'\x89'))
        ref = torch.load(path)
        for k, v in obj.items():
            check(torch.equal(ref[k], v), 'torch.load changed %s: %r' % (k, ref[k]))
        out = os.path.join(d, 'converted.pt')
        p = subprocess.run([PTIO, 'convert', path, out], capture_output=True, timeout=60)
        check(p.returncode == 0, 'convert: exit %d: %r' % (p.returncode, p.stderr))
        if p.returncode == 0:
            got = torch.load(out)
            for k, v in ref.items():
                check(k in got and got[k].dtype == v.dtype and torch.equal(got[k], v),
                      '%s: ptio %r, torch %r' % (k, got.get(k), v))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
