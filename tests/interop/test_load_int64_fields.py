#!/usr/bin/env python3
# A tensor's size, stride, storage_offset or its storage's numel given as a Python int beyond the
# int64 range (2**64: LONG1 in the pickle) is refused by torch.load and by ptio (exit 2); ptio's
# message says the value is beyond int64. It used to say "size must hold ints, got int",
# "storage persistent id: numel must be an int, got int" and "storage_offset must be an int" for
# a value that is an int (new-user trial, session 10).
import os
import pickle
import struct
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()


def tensor_pickle(sizes, strides, offset, numel):
    """data.pkl of _rebuild_tensor_v2 over storage '0' (FloatStorage, cpu, `numel` elements)."""
    def arg(v):  # one value as protocol-2 opcodes (no PROTO, no STOP)
        return pickle.dumps(v, 2)[2:-1]
    p = b'\x80\x02ctorch._utils\n_rebuild_tensor_v2\n('
    p += (b'(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000'
          b'X\x03\x00\x00\x00cpu' + arg(numel) + b'tQ')
    p += arg(offset) + arg(tuple(sizes)) + arg(tuple(strides))
    p += b'\x89ccollections\nOrderedDict\n)RtR.'
    return p


def main():
    big = 2 ** 64
    cases = {
        'size': (((big, 1), (1, 1), 0, 4), 'size'),
        'stride': (((2, 2), (big, 1), 0, 4), 'stride'),
        'offset': (((2, 2), (2, 1), big, 4), 'storage_offset'),
        'numel': (((2, 2), (2, 1), 0, big), 'numel'),
    }
    with tempfile.TemporaryDirectory() as d:
        ok = os.path.join(d, 'ok.pt')
        for name, ((sizes, strides, offset, numel), field) in [('ok', (((2, 2), (2, 1), 0, 4), ''))] + \
                list(cases.items()):
            path = os.path.join(d, name + '.pt')
            with zipfile.ZipFile(path, 'w') as z:
                z.writestr('archive/data.pkl', tensor_pickle(sizes, strides, offset, numel))
                z.writestr('archive/data/0', struct.pack('<4f', 1, 2, 3, 4))
                z.writestr('archive/version', '3\n')
            try:
                t = torch.load(path)
                loaded = True
            except Exception:
                loaded = False
            p, text = ptio_interop.ptio('tensors', path)
            if name == 'ok':
                check(loaded and t.tolist() == [[1, 2], [3, 4]], 'the valid file does not load')
                check(p.returncode == 0, 'ok: exit %d: %s' % (p.returncode, text))
                continue
            check(not loaded, '%s: torch.load accepts it' % name)
            check(p.returncode == 2, '%s: exit %d: %s' % (name, p.returncode, text))
            check(field in text and 'beyond the int64 range' in text and 'got int\n' not in text,
                  '%s: the message does not say the %s is beyond int64: %s' % (name, field, text))
            check(path in text and 'archive/data.pkl @ 0x' in text,
                  '%s: the file, record or offset is not named: %s' % (name, text))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
