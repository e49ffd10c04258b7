#!/usr/bin/env python3
# Diagnostics of the ptio CLI found by the session-6 new-user trial, on files PyTorch 1.13 wrote:
#  - an error while writing OUT (a file-size limit) printed an empty record slot,
#    `out.pt: @ 0x10000: write failed`; now `out.pt @ 0x10000: write failed`;
#  - "did you mean" was substring-based only: `cat FILE fc1.wight` suggested nothing; names
#    within a few edits (a swapped pair counting as one) are suggested too, nearest first, also
#    among 20,000 names;
#  - `verify` of a zero-filled file named the offset where the end record was searched for
#    (`@ 0x0: not a zip archive ...`) and of a truncated zip exited 1 while every other command
#    exits 2: both now exit 2 with the diagnosis `tensors`/`info` give; a CRC mismatch stays 1;
#  - `show` of random bytes gave a pickle error (`unknown opcode`), not the diagnosis of `info` and
#    `tensors`; `show --json` named a sparse layout `torch.sparse_coo` (tensors: `sparse_coo`),
#    gave a sparse tensor `"strides": []`, and left out what `tensors --json` says of quantized
#    tensors and parameters;
#  - `extract FILE --code ""` (and `--extra ""`, an empty RECORD) said "give exactly one of ...",
#    not which value is empty, as `-o ""` does.
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def run(*args, cwd=None, preexec_fn=None):
    p = subprocess.run([PTIO, *args], capture_output=True, cwd=cwd, timeout=300,
                       preexec_fn=preexec_fn)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(2, 3)
        self.fc2 = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def write_error(d):
    import resource
    src = os.path.join(d, 'many.pt')
    torch.save({'t%d' % i: torch.rand(1000) for i in range(300)}, src)  # ~1.2 MB
    out = os.path.join(d, 'limited.pt')

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
    rc, _, err = run('convert', src, out, preexec_fn=cap)
    check(rc == 4 and re.search(re.escape(out) + r' @ 0x[0-9a-f]+: write failed', err) and
          (out + ': @') not in err, 'convert under a 64 KiB file-size limit: %d %r' % (rc, err))


def suggestions(d):
    cases = [
        (['cat', 'ckpt.pt', 'fc1.wight'], 'did you mean: fc1.weight'),   # a letter left out
        (['cat', 'ckpt.pt', 'fc1.wieght'], 'did you mean: fc1.weight'),  # two letters swapped
        (['cat', 'ckpt.pt', 'FC1.BAIS'], 'did you mean: fc1.bias'),      # and case
        (['cat', 'ckpt.pt', 'fc1.weights'], 'did you mean: fc1.weight'),  # one letter too many
        (['show', 'scripted.pt', 'fc1.wieght'], 'did you mean: weight'),
        (['show', 'scripted.pt', 'fc3'], 'did you mean: fc1, fc2'),
        (['extract', 'ckpt.pt', 'dat.pkl', '-o', 'x'], 'did you mean: data.pkl'),
        # The substring matches still come first.
        (['cat', 'ckpt.pt', 'Weight'], 'did you mean: fc1.weight, fc2.weight?'),
    ]
    for args, want in cases:
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and want in err, '%s: %d %r, want %r' % (args, rc, err, want))
    for args in (['cat', 'ckpt.pt', 'zzzzzzzz'], ['cat', 'ckpt.pt', 'fc9.zzzz'],
                 ['show', 'scripted.pt', 'fc1.zz']):
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and 'did you mean' not in err, '%s suggests: %r' % (args, err))
    # 20,000 names: the nearest (distance 1) before those at distance 2, at most 5.
    big = os.path.join(d, 'names.pt')
    torch.save({'layer%d.weight' % i: torch.zeros(1) for i in range(20000)}, big)
    rc, _, err = run('cat', big, 'layer1234.wieght')
    m = re.search(r'did you mean: ([^?]*)\?', err)
    got = m.group(1).split(', ') if m else []
    check(rc == 64 and got[:1] == ['layer1234.weight'] and len(got) == 5,
          'cat names.pt layer1234.wieght: %d %r' % (rc, err))


def verify_unreadable(d):
    zero = os.path.join(d, 'zero.pt')
    with open(zero, 'wb') as f:
        f.write(bytes(1 << 20))  # 1 MiB of zeros: the end record search starts at 0xeffeb
    data = open(os.path.join(d, 'ckpt.pt'), 'rb').read()
    trunc = os.path.join(d, 'trunc.pt')
    with open(trunc, 'wb') as f:
        f.write(data[:len(data) // 2])
    for f in (zero, trunc):
        _, _, want = run('tensors', f)
        for args in (['verify', f], ['verify', '--json', f]):
            rc, out, err = run(*args)
            check(rc == 2 and err == want and out == '',
                  '%s: %d %r %r, want 2 and what tensors says: %r' % (args, rc, out, err, want))
    rc, _, err = run('verify', zero)
    check('zero-filled file: the file holds only zero bytes' in err and '@ 0x' not in err,
          'verify zero.pt: %r' % err)
    # An archive whose directory reads but whose record fails its CRC-32: still 1.
    bad = bytearray(data)
    name = b'ckpt/data/0'
    head = data.find(name, 0, data.find(b'PK\x01\x02')) - 30  # that record's local header
    name_len, extra_len = struct.unpack_from('<HH', data, head + 26)
    bad[head + 30 + name_len + extra_len] ^= 0xFF  # the first byte of the stored storage
    badcrc = os.path.join(d, 'badcrc.pt')
    with open(badcrc, 'wb') as f:
        f.write(bad)
    rc, out, _ = run('verify', badcrc)
    check(rc == 1 and '[ZipCrcMismatch]' in out, 'verify badcrc.pt: %d %r' % (rc, out))


def show_like_the_others(d):
    rnd = os.path.join(d, 'random.bin')
    with open(rnd, 'wb') as f:
        f.write(bytes((i * 7 + 3) % 256 for i in range(4096)))  # starts 0x03 0x0a: no pickle
    text = os.path.join(d, 'notes.txt')
    with open(text, 'w') as f:
        f.write('just some notes\n')
    for f in (rnd, text):
        rc, out, err = run('show', f)
        _, _, want = run('tensors', f)
        _, info, _ = run('info', f)
        diagnosis = info.splitlines()[1].strip() if len(info.splitlines()) > 1 else '?'
        check(rc == 2 and err == want and diagnosis in err and 'opcode' not in err,
              'show %s: %d %r; tensors says %r, info %r' % (f, rc, err, want, info))
    # show --json's tensor keys are those of tensors --json, with the same values.
    kinds = os.path.join(d, 'kinds.pt')
    torch.manual_seed(0)
    torch.save({
        'sparse': torch.eye(3).to_sparse(),
        'q': torch.quantize_per_tensor(torch.randn(4), 0.1, 3, torch.qint8),
        'qc': torch.quantize_per_channel(torch.randn(2, 3), torch.tensor([0.1, 0.2]),
                                         torch.tensor([0, 1]), 0, torch.qint8),
        'meta': torch.empty(2, 3, device='meta'),
        'param': torch.nn.Parameter(torch.ones(2)),
        'plain': torch.arange(6.0).reshape(2, 3)[:, 1:],
    }, kinds)
    rc, out, err = run('show', '--json', kinds)
    shown = {k: v['tensor'] for k, v in json.loads(out)['dict']} if rc == 0 else {}
    rc2, out2, err2 = run('tensors', '--json', kinds)
    listed = {row['path']: row for row in json.loads(out2)} if rc2 == 0 else {}
    check(rc == 0 and rc2 == 0 and set(shown) == set(listed),
          'show/tensors --json kinds.pt: %d %r / %d %r' % (rc, err, rc2, err2))
    for name, s in shown.items():
        t = listed.get(name, {})
        for k, v in s.items():
            check(k in t and t[k] == v, 'show --json %s: %s=%r, tensors --json has %r' %
                  (name, k, v, t.get(k, '(absent)')))
        for k in ('strides', 'storage_offset', 'sha256', 'is_parameter', 'qscheme', 'q_scale',
                  'q_zero_point', 'q_per_channel_axis'):
            check((k in s) == (k in t), 'show --json %s: %s %s, in tensors --json %s' %
                  (name, k, 'present' if k in s else 'absent', 'present' if k in t else 'absent'))
    check(shown.get('sparse', {}).get('layout') == 'sparse_coo' and
          shown.get('q', {}).get('q_scale') == 0.1 and shown.get('q', {}).get('q_zero_point') == 3
          and shown.get('qc', {}).get('qscheme') == 'per_channel_affine' and
          shown.get('param', {}).get('is_parameter') is True, 'show --json kinds.pt: %r' % shown)


def empty_values(d):
    cases = [
        (['extract', 'scripted.pt', '--code', ''], '--code DIR is an empty folder name'),
        (['extract', 'scripted.pt', '--extra', ''], '--extra DIR is an empty folder name'),
        (['extract', 'ckpt.pt', '', '-o', 'x.bin'], 'RECORD is an empty record name'),
    ]
    for args, want in cases:
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and want in err and 'exactly one' not in err,
              '%s: %d %r, want %r' % (args, rc, err, want))
    check(not os.path.exists(os.path.join(d, 'x.bin')), 'extract "" wrote x.bin')


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        net = Net()
        torch.save(net.state_dict(), os.path.join(d, 'ckpt.pt'))
        torch.jit.save(torch.jit.script(net), os.path.join(d, 'scripted.pt'))
        write_error(d)
        suggestions(d)
        verify_unreadable(d)
        show_like_the_others(d)
        empty_values(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
