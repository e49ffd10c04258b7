#!/usr/bin/env python3
# `ptio info` of the safetensors and npz files `ptio convert` writes (and the safetensors library
# and numpy.savez write) says what they are, with their tensor count and data bytes, exit 0; it
# said "unknown" (exit 2), from the new-user trial. Commands that need a torch.save file refuse
# them (exit 2) saying what they are and how to read them.
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def ptio(*args):
    p = subprocess.run([PTIO, *args], capture_output=True, timeout=120)
    return p, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def main():
    with tempfile.TemporaryDirectory() as d:
        ckpt = os.path.join(d, 'ckpt.pt')
        # 384 bytes of header or so: sizes whose low byte may read as a PROTO opcode or zero
        tensors = {'w%d' % i: torch.ones(i + 1, 3) for i in range(5)}
        torch.save(tensors, ckpt)
        nbytes = sum(t.numel() * 4 for t in tensors.values())
        files = {}
        for name, kind in (('c.safetensors', 'safetensors'), ('c.npz', 'npz')):
            out = os.path.join(d, name)
            p, _, err = ptio('convert', ckpt, out)
            check(p.returncode == 0, 'convert to %s: %s' % (name, err))
            files[out] = kind
        np.savez(os.path.join(d, 'numpy.npz'), a=np.zeros(3), b=np.ones((2, 2)))
        files[os.path.join(d, 'numpy.npz')] = 'npz'
        for out, kind in files.items():
            p, text, err = ptio('info', out)
            check(p.returncode == 0 and ': %s (' % kind in text.splitlines()[0],
                  'info %s: exit %d: %r %r' % (out, p.returncode, text, err))
            p, text, err = ptio('info', '--json', out)
            check(p.returncode == 0, 'info --json %s: %s' % (out, err))
            j = json.loads(text)
            check(j['kind'] == kind, '%s: kind %r' % (out, j['kind']))
            want = 2 if out.endswith('numpy.npz') else 5
            check(j.get('arrays', {}).get('tensors') == want, '%s: %r tensors' % (out, j.get('arrays')))
            if kind == 'safetensors':
                check(j.get('arrays', {}).get('data_bytes') == nbytes, 'data bytes %r' % j.get('arrays'))
            p, text, err = ptio('tensors', out)
            check(p.returncode == 2 and kind.replace('npz', '.npz') in err.replace('NumPy ', ''),
                  'tensors %s: exit %d: %r' % (out, p.returncode, err))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
