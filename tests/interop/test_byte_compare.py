# Byte comparison: torch.save (1.13) writes a file; ptio loads it and re-saves it with the 1.13 record
# layout (`ptio convert --layout torch-1.13`), to a path with the same file name so the archive folder
# matches. The bytes must be identical. Legacy files are compared too (ptio keeps the original storage
# keys, which are pointer values, so a re-save can reproduce them). Every difference is reported with
# the first differing offset; cases whose difference is understood are listed in KNOWN with the
# reason and must still differ only there (a case in KNOWN that becomes identical is reported too).
import os
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop as pi  # noqa: E402
import torch_cases as tc  # noqa: E402

warnings.filterwarnings('ignore')

# case name -> why ptio's bytes differ from torch.save's.
KNOWN = {
    ('dtype_and_size', 'zip_p2'): 'ptio loads torch.Size as a plain tuple (documented), so it is '
                                  're-saved as a tuple instead of GLOBAL torch.Size + REDUCE',
    ('dtype_and_size', 'legacy_p2'): 'same: torch.Size is re-saved as a tuple',
}


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def main():
    same, differ, unexpected = [], [], []
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, 'torch'))
        os.mkdir(os.path.join(d, 'ptio'))
        for name, obj in tc.cases().items():
            for variant in ('zip_p2', 'legacy_p2'):
                if name == 'untyped_storage' and variant.startswith('legacy'):
                    continue
                fname = '%s_%s.pt' % (name, variant)
                src = os.path.join(d, 'torch', fname)
                dst = os.path.join(d, 'ptio', fname)
                torch.save(obj, src, **tc.VARIANTS[variant])
                p = pi.run([pi.PTIO_BIN, 'convert', '--layout', 'torch-1.13', src, dst]
                           + (['--legacy'] if variant.startswith('legacy') else []), check=False)
                if p.returncode != 0:
                    unexpected.append('%s: convert failed: %s' % (fname, p.stderr.decode()))
                    continue
                a, b = open(src, 'rb').read(), open(dst, 'rb').read()
                off = first_diff(a, b)
                key = (name, variant)
                if off is None:
                    same.append(fname)
                    if key in KNOWN:
                        unexpected.append('%s: now identical; drop it from KNOWN' % fname)
                else:
                    ctx = 'torch %s | ptio %s' % (a[max(0, off - 8):off + 16].hex(),
                                                  b[max(0, off - 8):off + 16].hex())
                    differ.append('%s: first difference at byte %d (sizes %d/%d): %s' %
                                  (fname, off, len(a), len(b), ctx))
                    if key not in KNOWN:
                        unexpected.append(differ[-1])
    print('%d identical, %d different' % (len(same), len(differ)))
    for k, why in KNOWN.items():
        print('KNOWN %s: %s' % (k, why))
    for x in differ:
        print('DIFF', x)
    for x in unexpected:
        print('FAIL', x)
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
