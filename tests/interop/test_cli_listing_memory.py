#!/usr/bin/env python3
# Memory of the tensor listing (`tensors`, `tensors --json`, `diff`, `convert`), from the new-user
# trial of session 9: a 12.9 MB zip whose data.pkl is a dict of 1,000,000 keys, all BINGET of one
# tensor, took 2.0 GB for `tensors --json`, 1.66 GB for `tensors`, 2.8 GB for `diff X X`, 590 MB
# for `convert` (torch.load: 383 MB): named_tensors' 250,000 limit counted only containers
# listed again, not a tensor listed again, and the commands held 1-2 KB per tensor (a JSON value
# per row, copied twice by diff). Also a 100 KB key above 20,000 tensors (a 200 KB file) was
# copied into 20,000 paths (GBs). Now:
#  - a tensor reached again counts against the same 250,000 limit (exit 2, the limit named);
#  - the whole listing is bounded (256 MiB of names and entries; exit 2, named);
#  - `tensors` keeps one row's text or cells, `diff` no row of an unchanged tensor;
#  - a real 20,000-tensor state_dict stays cheap.
import os
import struct
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()
run = ptio_interop.run_with_rss


def BU(s):
    s = s.encode()
    return b'X' + struct.pack('<I', len(s)) + s


def G(m, n):
    return b'c' + m.encode() + b'\n' + n.encode() + b'\n'


def L1(i):
    b = i.to_bytes((i.bit_length() + 8) // 8, 'little', signed=True)
    return b'\x8a' + bytes([len(b)]) + b


# _rebuild_tensor_v2(storage '0' of 4 floats, 0, (4,), (1,), False, OrderedDict()); the global
# memoised as 1, its argument tuple as 2.
PID = b'(' + BU('storage') + G('torch', 'FloatStorage') + BU('0') + BU('cpu') + L1(4) + b'tQ'
TENSOR = (G('torch._utils', '_rebuild_tensor_v2') + b'q\x01(' + PID + L1(0) + b'(' + L1(4) +
          b't(' + L1(1) + b't\x89' + G('collections', 'OrderedDict') + b')Rtq\x02R')


def write(path, pkl):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pkl)
        z.writestr('archive/data/0', struct.pack('<4f', 1, 2, 3, 4))
        z.writestr('archive/version', '3\n')


def many_refs(path, n):
    """{'t0': t, '1': t, ..., str(n-1): t}: one tensor, n keys (BINGET of memo 3)."""
    parts = [b'\x80\x02}(', BU('t0'), TENSOR, b'q\x03']
    parts += [BU(str(i)) + b'h\x03' for i in range(1, n)]
    parts.append(b'u.')
    write(path, b''.join(parts))


def long_key(path, n, length):
    """{'AAA...': [t_0, ..., t_{n-1}]}: n distinct tensors (REDUCE of memo 1 with memo 2)."""
    parts = [b'\x80\x02}(', BU('A' * length), b']q\x04(', TENSOR]
    parts += [b'h\x01h\x02R'] * (n - 1)
    parts.append(b'eu.')
    write(path, b''.join(parts))


def main():
    with tempfile.TemporaryDirectory() as d:
        big = os.path.join(d, 'many_refs_1000000.pt')
        many_refs(big, 1000000)
        mid = os.path.join(d, 'many_refs_250000.pt')
        many_refs(mid, 250000)
        longk = os.path.join(d, 'long_key.pt')
        long_key(longk, 20000, 30000)
        sd = os.path.join(d, 'sd20k.pt')
        torch.save({'layer%d.block.weight' % i: torch.full((3,), float(i))
                    for i in range(20000)}, sd)
        out = os.path.join(d, 'out.safetensors')

        # 1,000,000 names of one tensor: refused at the 250,000 limit, in little memory (main:
        # 1.6-2.8 GB, exit 0).
        for args in (('tensors', big), ('tensors', '--json', big), ('diff', big, big),
                     ('convert', big, out)):
            code, _, err, rss = run(*args)
            what = ' '.join(a if a not in (big, out) else os.path.basename(a) for a in args)
            check(code == 2, '%s: exit %d, want 2: %s' % (what, code, err[-300:]))
            check('250000' in err and 'named_tensors' in err,
                  '%s: error does not name the limit: %s' % (what, err[-300:]))
            check(rss < (320 << 20) or ptio_interop.sanitized(),
                  '%s: peak RSS %d MiB' % (what, rss >> 20))

        # 250,000 names of one tensor (just within the limit): listed, in bounded memory (main:
        # 420 MB tensors, 520 MB --json, 715 MB diff).
        for args, want in ((('tensors', mid), 0), (('tensors', '--json', mid), 0),
                           (('diff', mid, mid), 0)):
            code, stdout, err, rss = run(*args)
            what = ' '.join(a if a != mid else 'many_refs_250000.pt' for a in args)
            check(code == want, '%s: exit %d %s' % (what, code, err[-300:]))
            check(rss < (300 << 20) or ptio_interop.sanitized(),
                  '%s: peak RSS %d MiB' % (what, rss >> 20))
            if args[1] == '--json' and code == 0:
                import json
                rows = json.loads(stdout)
                check(len(rows) == 250000 and rows[-1]['path'] == '249999' and
                      rows[0]['path'] == 't0',
                      'tensors --json: %d rows' % len(rows))
            if args[0] == 'tensors' and args[1] != '--json' and code == 0:
                check(stdout.endswith(b'250000 tensors, 3.8 MiB\n'),
                      'tensors: %r' % stdout[-60:])

        # A 30,000-character key above 20,000 tensors: 600 MB of paths; refused at the listing
        # limit (main: exit 0 after building them all).
        for args in (('tensors', longk), ('convert', longk, out)):
            code, _, err, rss = run(*args)
            what = args[0] + ' long_key.pt'
            check(code == 2, '%s: exit %d, want 2: %s' % (what, code, err[-300:]))
            check('listing' in err and '256 MiB' in err, '%s: %s' % (what, err[-300:])[:500])
            check(rss < (400 << 20) or ptio_interop.sanitized(),
                  '%s: peak RSS %d MiB' % (what, rss >> 20))

        # A real 20,000-tensor state_dict: listed whole and cheaply.
        back = torch.load(sd)
        for args in (('tensors', '--json', sd), ('diff', sd, sd), ('convert', sd, out)):
            code, stdout, err, rss = run(*args)
            what = args[0] + ' sd20k.pt'
            check(code == 0, '%s: exit %d %s' % (what, code, err[-300:]))
            check(rss < (100 << 20) or ptio_interop.sanitized(),
                  '%s: peak RSS %d MiB' % (what, rss >> 20))
            if args[0] == 'tensors' and code == 0:
                import json
                rows = json.loads(stdout)
                check([r['path'] for r in rows] == list(back),
                      'tensors sd20k: %d rows' % len(rows))
                sha = ptio_interop.verify_with_torch.tensor_bytes_sha
                check(rows[12345]['sha256'] == sha(back['layer12345.block.weight']),
                      'tensors sd20k: sha256 of layer12345')
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
