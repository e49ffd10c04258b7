#!/usr/bin/env python3
# `ptio convert` to safetensors, .npz, torch.save zip/legacy, and TorchScript -> state_dict, checked
# against PyTorch's values. Safetensors is read back by a small reader here (json + struct + numpy:
# Debian 12 has no safetensors package) that also checks the layout rules of the safetensors
# writer: 8-byte LE header length, compact JSON padded with spaces to 8 bytes, `__metadata__`
# first, tensors ordered by dtype (8-byte first) then name, contiguous data_offsets covering the
# whole data, tied weights stored once and named in `__metadata__`.
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO_BIN
ST_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32',
            'F32', 'F64', 'I64', 'U64']
ST_NUMPY = {'BOOL': np.bool_, 'U8': np.uint8, 'I8': np.int8, 'I16': np.int16, 'I32': np.int32,
            'I64': np.int64, 'F16': np.float16, 'F32': np.float32, 'F64': np.float64,
            'BF16': np.uint16}
ST_TORCH = {torch.bool: 'BOOL', torch.uint8: 'U8', torch.int8: 'I8', torch.int16: 'I16',
            torch.int32: 'I32', torch.int64: 'I64', torch.float16: 'F16', torch.bfloat16: 'BF16',
            torch.float32: 'F32', torch.float64: 'F64'}


def read_safetensors(path, failures):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    raw = b[8:8 + n]
    if n % 8 or raw != raw.rstrip(b' ') + b' ' * (n - len(raw.rstrip(b' '))):
        failures.append('header length %d not padded with spaces to 8' % n)
    text = raw.decode('utf-8')
    header = json.loads(text)
    if json.dumps(header, separators=(',', ':'), ensure_ascii=False) != text.rstrip(' '):
        failures.append('header is not compact JSON: %r' % text)
    keys = list(header)
    if '__metadata__' in header and keys[0] != '__metadata__':
        failures.append('__metadata__ is not first')
    entries = [(k, v) for k, v in header.items() if k != '__metadata__']
    want_order = sorted(entries, key=lambda kv: (-ST_ORDER.index(kv[1]['dtype']), kv[0]))
    if [k for k, _ in entries] != [k for k, _ in want_order]:
        failures.append('tensor order %r, safetensors writes %r' %
                        ([k for k, _ in entries], [k for k, _ in want_order]))
    data = b[8 + n:]
    off = 0
    out = {}
    for k, v in entries:
        s, e = v['data_offsets']
        if s != off:
            failures.append('%s: data_offsets %r do not follow %d' % (k, v['data_offsets'], off))
        off = e
        if (8 + n + s) % np.dtype(ST_NUMPY[v['dtype']]).itemsize:
            failures.append('%s: data not aligned' % k)
        arr = np.frombuffer(data[s:e], dtype=ST_NUMPY[v['dtype']]).reshape(v['shape'])
        out[k] = (v['dtype'], arr)
    if off != len(data):
        failures.append('data is %d bytes, offsets cover %d' % (len(data), off))
    return header.get('__metadata__'), out


def torch_bits(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().view(np.uint16)
    return t.contiguous().numpy()


def main():
    failures = []
    torch.manual_seed(0)
    emb = torch.randn(5, 3)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = {
        'embed.weight': emb,
        'lm_head.weight': emb,  # tied: the same tensor
        'f64': torch.randn(3, dtype=torch.float64),
        'f16': torch.randn(2, 2).half(),
        'bf16': torch.randn(3).bfloat16(),
        'i64': torch.tensor([2**40, -1]),
        'i32': torch.tensor([1, 2, 3], dtype=torch.int32),
        'i16': torch.tensor([-7], dtype=torch.int16),
        'i8': torch.tensor([-128, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 255], dtype=torch.uint8),
        'flag': torch.tensor([True, False, True]),
        'base': base,
        'transposed': base.t(),  # same storage, different view: its own copy
        'row': base[2],  # a slice of base: its own copy
        'strided': base[:, ::2],  # non-contiguous
        'scalar': torch.tensor(2.5),
        'empty': torch.zeros(0, 3),
    }
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'src.pt')
        torch.save(sd, src)
        ref = torch.load(src)

        # safetensors
        out = os.path.join(d, 'out.safetensors')
        p = ptio_interop.run([PTIO, 'convert', src, out])
        report = p.stdout.decode()
        meta, got = read_safetensors(out, failures)
        if meta != {'format': 'pt', 'lm_head.weight': 'embed.weight'}:
            failures.append('__metadata__ %r' % meta)
        if 'tied: lm_head.weight is embed.weight' not in report:
            failures.append('tied weights not reported: %r' % report)
        for name in ('transposed', 'row', 'strided'):
            if 'copied: ' + name not in report:
                failures.append('%s not reported as copied: %r' % (name, report))
        if set(got) != set(ref) - {'lm_head.weight'}:
            failures.append('safetensors names %r' % sorted(got))
        for k, (dt, arr) in got.items():
            t = ref[k]
            if dt != ST_TORCH[t.dtype] or list(arr.shape) != list(t.shape) or \
                    not np.array_equal(arr, torch_bits(t)):
                failures.append('safetensors %s: %s %r != torch %s %r' % (k, dt, arr, t.dtype, t))

        # npz (numpy.load), stored and compressed; bfloat16 has no numpy dtype: error naming it
        npz = os.path.join(d, 'out.npz')
        p = subprocess.run([PTIO, 'convert', src, npz], capture_output=True)
        if p.returncode != 3 or b'bf16 (bfloat16)' not in p.stderr or os.path.exists(npz):
            failures.append('npz with bfloat16: rc %d %r' % (p.returncode, p.stderr))
        no_bf16 = {k: v for k, v in sd.items() if v.dtype != torch.bfloat16}
        no_bf16['c64'] = torch.tensor([1 + 2j, 3 - 4j])
        src2 = os.path.join(d, 'src2.pt')
        torch.save(no_bf16, src2)
        ref2 = torch.load(src2)
        for fmt in ('npz', 'npz-compressed'):
            ptio_interop.run([PTIO, 'convert', src2, npz, '--to', fmt])
            z = np.load(npz)
            if sorted(z.files) != sorted(ref2):
                failures.append('%s names %r' % (fmt, z.files))
            for k, t in ref2.items():
                a = z[k]
                if a.dtype != t.numpy().dtype or a.shape != tuple(t.shape) or \
                        not np.array_equal(a, t.numpy()):
                    failures.append('%s %s: %r != %r' % (fmt, k, a, t))

        # safetensors lacks complex and quantized dtypes: one error naming both, no file left
        bad = os.path.join(d, 'bad.pt')
        torch.save({'ok': torch.ones(1), 'z': torch.tensor([1j]),
                    'q': torch.quantize_per_tensor(torch.ones(2), 0.5, 0, torch.qint8)}, bad)
        st = os.path.join(d, 'bad.safetensors')
        p = subprocess.run([PTIO, 'convert', bad, st], capture_output=True)
        err = p.stderr.decode()
        if p.returncode != 3 or 'z (complex64)' not in err or 'q (qint8)' not in err or \
                os.path.exists(st) or err.count('\n') != 1:
            failures.append('unsupported dtypes: rc %d %r' % (p.returncode, err))

        # torch.save zip and legacy: torch.load gives the same values and sharing
        for fmt, args in (('zip', []), ('legacy', ['--legacy']), ('to-legacy', ['--to', 'legacy'])):
            o = os.path.join(d, 'out_%s.pt' % fmt)
            ptio_interop.run([PTIO, 'convert', src, o, *args])
            back = torch.load(o)
            for k, t in ref.items():
                if not torch.equal(back[k], t) or back[k].stride() != t.stride():
                    failures.append('%s %s differs' % (fmt, k))
            if back['embed.weight'].data_ptr() != back['lm_head.weight'].data_ptr():
                failures.append('%s: tied weights no longer shared' % fmt)

        # TorchScript module -> its state_dict
        m = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()))
        ts = os.path.join(d, 'scripted.pt')
        torch.jit.save(m, ts)
        o = os.path.join(d, 'from_script.pt')
        ptio_interop.run([PTIO, 'convert', ts, o, '--to', 'state_dict'])
        back = torch.load(o)
        want = m.state_dict()
        if list(back) != list(want) or any(not torch.equal(back[k], want[k]) or
                                           back[k].requires_grad for k in want):
            failures.append('TorchScript state_dict %r != %r' % (back, want))
        o = os.path.join(d, 'from_script.safetensors')
        ptio_interop.run([PTIO, 'convert', ts, o])
        _, got = read_safetensors(o, failures)
        if sorted(got) != sorted(want) or any(not np.array_equal(got[k][1], want[k].numpy())
                                              for k in want):
            failures.append('TorchScript -> safetensors differs')

        # A usage error: unknown --to
        p = subprocess.run([PTIO, 'convert', src, o, '--to', 'onnx'], capture_output=True)
        if p.returncode != 64:
            failures.append('--to onnx: rc %d' % p.returncode)
    if failures:
        print('\n'.join(failures))
        return 1
    print('ok: safetensors, npz, zip, legacy and TorchScript state_dict conversions match torch')
    return 0


if __name__ == '__main__':
    sys.exit(main())
