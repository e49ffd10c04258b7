# `_rebuild_device_tensor_from_numpy` (XLA-era tensors): CPython pickles a real numpy array the way
# torch.save does for a storage-less device; ptio must rebuild it to the values numpy holds (C and
# Fortran order, big-endian dtype, bfloat16 carried as float32). The expected sha256 is computed
# by numpy/PyTorch, not by ptio.
import hashlib
import io
import os
import pickle
import sys
import tempfile
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop as pi  # noqa: E402


class XlaLike:
    def __init__(self, arr, dtype):
        self.arr, self.dtype = arr, dtype

    def __reduce__(self):
        return (torch._utils._rebuild_device_tensor_from_numpy,
                (self.arr, self.dtype, 'xla:0', False))


def main():
    c = np.arange(6, dtype='<f4').reshape(2, 3) / 3
    cases = {
        'c_order': (c, torch.float32, torch.from_numpy(c.copy())),
        'fortran_big_endian': (np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)),
                               torch.int32, torch.arange(6, dtype=torch.int32).reshape(2, 3)),
        'bfloat16': (c, torch.bfloat16, torch.from_numpy(c.copy()).to(torch.bfloat16)),
    }
    obj = {k: XlaLike(a, dt) for k, (a, dt, _) in cases.items()}
    failures = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'xla.pt')
        with zipfile.ZipFile(path, 'w') as z:
            z.writestr('xla/data.pkl', pickle.dumps(obj, protocol=2))
            z.writestr('xla/version', '3\n')
        got = {g['path']: g for g in pi.ptio_listing(path)}
        for k, (_, dt, expected) in cases.items():
            want = pi.torch_listing({k: expected})[0]
            g = got.get(k)
            if g is None:
                failures.append('%s: not listed' % k)
                continue
            for f in ('dtype', 'shape', 'sha256'):
                if want[f] != g[f]:
                    failures.append('%s: %s torch=%r ptio=%r' % (k, f, want[f], g[f]))
            if g.get('device') != 'xla:0':
                failures.append('%s: device %r' % (k, g.get('device')))
    for f in failures:
        print('FAIL', f)
    print('%d numpy cases, %d failures' % (len(cases), len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
