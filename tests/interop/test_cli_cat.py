#!/usr/bin/env python3
# `ptio cat FILE PATH` prints each tensor exactly as PyTorch's repr() does (torch/_tensor_str.py:
# precision 4, int mode, sci mode, summarisation over 1000 elements with edgeitems 3, linewidth 80,
# dtype/size/requires_grad/quantizer suffixes), and `cat --json` gives tensor.tolist().
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402


def cases():
    torch.manual_seed(0)
    c = {}
    c['randn'] = torch.randn(3, 4)
    c['ints_as_float'] = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    c['sci_small'] = torch.tensor([1e-5, 1.0, 2.5])
    c['sci_large'] = torch.tensor([1e9, 1.0, -3.0])
    c['sci_int_mode'] = torch.tensor([1.0, 1e5, 3.0])
    c['nonfinite'] = torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5, 0.0])
    c['nonfinite_int_mode'] = torch.tensor([float('nan'), 2.0, -float('inf')])
    c['all_zero'] = torch.zeros(4)
    c['neg_zero'] = torch.tensor([-0.0, 0.0, 1.25])
    c['scalar_f'] = torch.tensor(3.14159)
    c['scalar_i'] = torch.tensor(-7)
    c['empty'] = torch.zeros(0)
    c['empty_2d'] = torch.zeros(2, 0, dtype=torch.int32)
    c['int32'] = torch.tensor([1, -200, 30000], dtype=torch.int32)
    c['int64_big'] = torch.tensor([2**62, -2**63, 5])
    c['uint8'] = torch.arange(250, 256, dtype=torch.uint8)
    c['int8'] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    c['bool'] = torch.tensor([[True, False], [False, True]])
    c['float64'] = torch.tensor([1.0 / 3, 2.0 / 3], dtype=torch.float64)
    c['float16'] = torch.tensor([0.1, 65504.0, -2.0], dtype=torch.float16)
    c['bfloat16'] = torch.tensor([0.1, 3.0, -1e20], dtype=torch.bfloat16)
    c['complex64'] = torch.tensor([1 + 2j, -0.5 - 1j, 3j])
    c['complex128'] = torch.tensor([[1.5 + 0j, -2 + 1e-6j]], dtype=torch.complex128)
    c['long_row'] = torch.randn(40)
    c['summarised_1d'] = torch.randn(2000)
    c['summarised_2d'] = torch.randn(50, 50)
    c['summarised_3d'] = torch.arange(4000, dtype=torch.float32).reshape(10, 20, 20)
    c['summarised_int'] = torch.arange(1500)
    c['exactly_1000'] = torch.linspace(-1, 1, 1000)
    c['wide_4d'] = torch.randn(2, 2, 2, 3) * 1000
    c['requires_grad'] = torch.nn.Parameter(torch.ones(2)).detach().requires_grad_(True)
    c['noncontig'] = torch.randn(4, 6).t()[1:3]
    c['qint8'] = torch.quantize_per_tensor(torch.tensor([-1.0, 0.0, 0.5, 2.0]), 0.1, 3,
                                           torch.qint8)
    c['quint8'] = torch.quantize_per_tensor(torch.randn(3, 3), 0.05, 128, torch.quint8)
    c['qint8_channel'] = torch.quantize_per_channel(
        torch.randn(2, 3), torch.tensor([0.1, 0.2], dtype=torch.float64),
        torch.tensor([0, 1]), 0, torch.qint8)
    c['meta'] = torch.empty(2, 3, device='meta')
    c['meta_int'] = torch.empty(2, dtype=torch.int16, device='meta')
    return c


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'cat.pt')
        tensors = cases()
        torch.save(tensors, path)
        for name, t in torch.load(path).items():
            p = subprocess.run([ptio_interop.PTIO_BIN, 'cat', path, name], capture_output=True)
            want = repr(t) + '\n'
            got = p.stdout.decode()
            if p.returncode != 0 or got != want:
                failures.append('%s: rc %d\n--- torch\n%s--- ptio\n%s%s' %
                                (name, p.returncode, want, got, p.stderr.decode()))
            # --json: tensor.tolist() (quantized: dequantized; non-finite as {"float": ...}).
            if t.is_meta:
                continue
            p = subprocess.run([ptio_interop.PTIO_BIN, 'cat', '--json', path, name],
                               capture_output=True)
            if p.returncode != 0:
                failures.append('%s --json: rc %d %s' % (name, p.returncode, p.stderr.decode()))
                continue
            j = json.loads(p.stdout)
            ref = t.dequantize() if t.is_quantized else t
            if ref.dtype in (torch.float16, torch.bfloat16):
                ref = ref.float()

            def norm(v):
                if isinstance(v, list):
                    return [norm(x) for x in v]
                if isinstance(v, dict):
                    return float(v['float'])
                if isinstance(v, complex):
                    return [v.real, v.imag]
                return v

            got_vals = norm(j['values'])
            want_vals = norm(ref.tolist())
            if repr(got_vals) != repr(want_vals) or j['dtype'] != str(t.dtype)[6:] or \
                    j['shape'] != list(t.shape):
                failures.append('%s --json: %r != %r' % (name, j, want_vals))
        # PyTorch's precision option: --precision 8 is torch.set_printoptions(precision=8).
        torch.set_printoptions(precision=8)
        want = repr(tensors['randn']) + '\n'
        torch.set_printoptions(precision=4)
        got = ptio_interop.run([ptio_interop.PTIO_BIN, 'cat', '--precision', '8', path,
                                'randn']).stdout.decode()
        if got != want:
            failures.append('--precision 8:\n%s\n%s' % (want, got))
        # Missing name: exit 64 with one line naming the command that lists the names.
        p = subprocess.run([ptio_interop.PTIO_BIN, 'cat', path, 'no.such'], capture_output=True)
        if p.returncode != 64 or p.stderr.decode().count('\n') != 1 or b'ptio tensors' not in p.stderr:
            failures.append('missing name: rc %d %r' % (p.returncode, p.stderr))
    if failures:
        print('\n'.join(failures))
        return 1
    print('ok: %d tensors printed as torch prints them' % len(cases()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
