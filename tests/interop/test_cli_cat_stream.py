#!/usr/bin/env python3
# `ptio cat --json` streams its values: tensors of more than one 16 MiB element chunk (a
# contiguous float32 with NaN/Inf, a transposed int64 view gathered row by row, a complex64)
# give exactly PyTorch's tensor.tolist() (non-finite floats as {"float": "nan"|"inf"|"-inf"},
# complex as [re, im]), and the peak RSS stays far below the ~40 bytes per element the whole
# JSON tree took before (~200 MB for the 4.5M floats here): at most 64 MiB above the peak RSS of
# `cat --json` of a 3-element tensor of the same file (the baseline: a sanitizer build's own
# overhead, ~130 MiB under ASan, cancels out). Peak RSS is the child's max RSS from /usr/bin/time.
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

MiB = 1 << 20
CHUNK = 16 * MiB  # kElementChunkBytes
check = ptio_interop.Checks()  # check(cond, what); check.finish()


def run_cat(path, name, out_path):
    """(exit status, stderr, peak RSS in bytes) of `ptio cat --json PATH NAME > OUT_PATH`."""
    with tempfile.NamedTemporaryFile() as m, open(out_path, 'wb') as out:
        p = subprocess.run(['/usr/bin/time', '-f', '%M', '-o', m.name, ptio_interop.PTIO_BIN,
                            'cat', '--json', path, name], stdout=out, stderr=subprocess.PIPE,
                           timeout=300)
        with open(m.name) as f:
            last = (f.read().split() or ['0'])[-1]
    return p.returncode, p.stderr.decode('utf-8', 'replace'), int(last) * 1024


def decode(o):
    """cat --json's encoding of a non-finite float ({"float": "nan"}) back to a float."""
    return float(o['float']) if list(o) == ['float'] else o


def same(got, want):
    """Nested lists equal (ints as ints, floats as floats), NaN equal to NaN."""
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return False
        return (got == want and all(type(g) is type(w) for g, w in zip(got[:8], want[:8]))) \
            or all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return type(got) is type(want) and got == want


def run_full(path, name):
    """(exit status, stdout text, stderr, peak RSS in bytes) of `ptio cat PATH NAME --full`."""
    with tempfile.NamedTemporaryFile() as m, tempfile.TemporaryFile() as out:
        p = subprocess.run(['/usr/bin/time', '-f', '%M', '-o', m.name, ptio_interop.PTIO_BIN,
                            'cat', path, name, '--full'], stdout=out, stderr=subprocess.PIPE,
                           timeout=300)
        with open(m.name) as f:
            last = (f.read().split() or ['0'])[-1]
        out.seek(0)
        text = out.read().decode('utf-8', 'replace')
    return p.returncode, text, p.stderr.decode('utf-8', 'replace'), int(last) * 1024


def full_text(d):
    """`cat --full` streams (it built the whole text, ~90 bytes per element, and took 5.8 GB for
    64M floats): repr(t) under set_printoptions(profile='full') for tensors of every layout, and
    a 5M-float tensor (two chunks) with PyTorch's '{:.4e}' per value in bounded memory."""
    torch.manual_seed(1)
    p = torch.nn.Parameter(torch.randn(40, 30))
    small = {
        'f2d': torch.randn(60, 50) * 100,       # > 1000 elements: printed whole only by --full
        'i3d': torch.arange(-600, 600).reshape(4, 15, 20),
        'c': torch.complex(torch.randn(7, 3), torch.randn(7, 3)),
        'b': torch.rand(3, 4, 2) > 0.5,
        'd': torch.tensor([1e-9, 2.5, -3e7], dtype=torch.float64),
        'h': torch.randn(2, 3, 4, 5).half(),
        'ints_as_float': torch.tensor([[1.0, -20.0], [300.0, 4.0]]),
        'u8': torch.arange(0, 250, 7, dtype=torch.uint8),
        'scalar': torch.tensor(3.25),
        'p': p,
    }
    big = torch.rand(5_000_000)
    path = os.path.join(d, 'full.pt')
    torch.save(dict(small, big=big), path)
    torch.set_printoptions(profile='full')
    try:
        for name, t in small.items():
            rc, out, err, _ = run_full(path, name)
            check(rc == 0 and out == repr(t) + '\n', 'cat --full %s: %d %r, want %r (%s)' %
                  (name, rc, out[:300], repr(t)[:300], err))
    finally:
        torch.set_printoptions(profile='default')
    rc, _, err, base = run_full(path, 'scalar')
    rc, out, err, rss = run_full(path, 'big')
    if not check(rc == 0, 'cat --full big: exit %d: %s' % (rc, err)):
        return
    check(0 < rss < base + 64 * MiB, 'cat --full big: peak RSS %.0f MiB (%.0f MiB for a scalar)' %
          (rss / MiB, base / MiB))
    check(out.startswith('tensor([') and out.endswith('])\n'), 'cat --full big: %r...%r' %
          (out[:40], out[-40:]))
    tokens = [s.strip() for s in out[len('tensor(['):-len('])\n')].split(',')]
    check(len(tokens) == big.numel(), 'cat --full big: %d values' % len(tokens))
    if len(tokens) == big.numel():
        for i in (0, 1, 4_194_303, 4_194_304, 4_999_999):  # around the 16 MiB piece boundary
            want = '{:.4e}'.format(big[i].item())
            check(tokens[i] == want, 'cat --full big[%d]: %r, want %r' % (i, tokens[i], want))


def main():
    torch.manual_seed(0)
    f32 = torch.randn(1500, 3000)  # 18 MB: two chunks
    f32[0, 0], f32[700, 1], f32[1499, 2999] = float('nan'), float('inf'), -float('inf')
    i64 = torch.arange(700 * 3200, dtype=torch.int64).reshape(700, 3200) * 1000003 - 2**40
    cases = {
        'f32': f32,
        'i64_t': i64.t(),  # a view: gathered row by row, 17.9 MB
        'c64': torch.complex(torch.randn(2_200_000), torch.randn(2_200_000)),  # 17.6 MB
    }
    for name, t in cases.items():
        check(t.numel() * t.element_size() > CHUNK, '%s is not bigger than one chunk' % name)
    check(not cases['i64_t'].is_contiguous(), 'i64_t is contiguous')
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'big.pt')
        torch.save(dict(cases, small=torch.tensor([1.0, 2.0, 3.0])), path)
        rc, err, base = run_cat(path, 'small', os.path.join(d, 'small.json'))
        check(rc == 0 and base > 0, 'small: exit %d, RSS %d: %s' % (rc, base, err))
        with open(os.path.join(d, 'small.json')) as f:
            check(json.load(f)['values'] == [1.0, 2.0, 3.0], 'small: values')
        for name, t in cases.items():
            out = os.path.join(d, name + '.json')
            rc, err, rss = run_cat(path, name, out)
            if not check(rc == 0, '%s: exit %d: %s' % (name, rc, err)):
                continue
            check(0 < rss < base + 64 * MiB,
                  '%s: peak RSS %.0f MiB (%.0f MiB for 3 elements) for a %.0f MiB tensor' %
                  (name, rss / MiB, base / MiB, t.numel() * t.element_size() / MiB))
            with open(out) as f:
                j = json.load(f, object_hook=decode)
            check(list(j) == ['path', 'dtype', 'shape', 'values'], '%s: keys %s' % (name, list(j)))
            check(j['path'] == name and j['shape'] == list(t.shape) and
                  j['dtype'] == str(t.dtype).replace('torch.', ''),
                  '%s: header %r' % (name, {k: j[k] for k in ('path', 'dtype', 'shape')}))
            if t.is_complex():
                want = [[z.real, z.imag] for z in t.tolist()]
            else:
                want = t.tolist()
            check(same(j['values'], want), '%s: values differ from tensor.tolist()' % name)
        full_text(d)
    if check.failures:
        return check.finish()
    print('ok: %d multi-chunk tensors streamed as tensor.tolist()' % len(cases))
    return 0


if __name__ == '__main__':
    sys.exit(main())
