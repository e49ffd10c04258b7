#!/usr/bin/env python3
# `ptio tensors --stats --json` gives, per tensor, what PyTorch computes in double:
# t.double().min(), .max(), .mean(), .std() (unbiased), and the NaN/Inf counts; quantized tensors
# dequantized; complex: mean (re, im) and PyTorch's complex std, no min/max.
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402


def num(v):
    if isinstance(v, dict):
        return float(v['float'])
    return v


def close(a, b):
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def main():
    torch.manual_seed(1)
    t = {
        'f32': torch.randn(100, 7),
        'f64': torch.randn(50, dtype=torch.float64) * 1e6,
        'f16': torch.randn(33).half(),
        'bf16': torch.randn(33).bfloat16(),
        'i64': torch.randint(-2**40, 2**40, (20,)),
        'i8': torch.randint(-128, 127, (20,), dtype=torch.int8),
        'u8': torch.randint(0, 255, (20,), dtype=torch.uint8),
        'bool': torch.rand(30) > 0.5,
        'nan_inf': torch.tensor([1.0, float('nan'), float('inf'), -float('inf'), 2.0]),
        'inf_only': torch.tensor([1.0, float('inf')]),
        'one': torch.tensor([3.0]),
        'noncontig': torch.randn(6, 5).t()[::2],
        'q': torch.quantize_per_tensor(torch.randn(10), 0.1, 5, torch.qint8),
        'qc': torch.quantize_per_channel(torch.randn(3, 4), torch.tensor([0.1, 0.2, 0.3]),
                                         torch.tensor([0, 1, -1]), 0, torch.qint8),
        'c64': torch.randn(8, dtype=torch.complex64),
    }
    failures = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 's.pt')
        torch.save(t, path)
        p = ptio_interop.run([ptio_interop.PTIO_BIN, 'tensors', '--stats', '--json', path])
        got = {r['path']: r['stats'] for r in json.loads(p.stdout)}
        for k, v in torch.load(path).items():
            x = v.dequantize() if v.is_quantized else v
            x = x.to(torch.complex128) if x.is_complex() else x.double()
            s = got[k]
            want = {'nan': int(torch.isnan(x).sum()), 'inf': int(torch.isinf(x).sum())}
            if x.is_complex():
                m = x.mean()
                want.update(min=None, max=None, mean=[m.real.item(), m.imag.item()],
                            std=x.std().item())
                ok = s['min'] is None and s['max'] is None and \
                    close(num(s['mean'][0]), want['mean'][0]) and \
                    close(num(s['mean'][1]), want['mean'][1])
            else:
                want.update(min=x.min().item(), max=x.max().item(), mean=x.mean().item(),
                            std=x.std().item())
                ok = all(close(num(s[f]), want[f]) for f in ('min', 'max', 'mean'))
            ok = ok and close(num(s['std']), want['std']) and s['nan'] == want['nan'] and \
                s['inf'] == want['inf']
            if not ok:
                failures.append('%s: ptio %r, torch %r' % (k, s, want))
    if failures:
        print('\n'.join(failures))
        return 1
    print('ok: --stats equals torch for %d tensors' % len(t))
    return 0


if __name__ == '__main__':
    sys.exit(main())
