#!/usr/bin/env python3
# The CLI's consistency rules (docs/cli.md "Conventions"), on files written here by real PyTorch:
#  - one exit-code table for every command: 0 ok, 1 a finding, 2 an unreadable input (a text file
#    and garbage alike for `scan`), 3 a readable input the command does not support, 4 an output
#    that could not be written, 64 a usage error (a bad option value, a name the file does not
#    hold: `cat NAME`, `show ATTR`, `extract RECORD`);
#  - every writing command prints `wrote OUT (...)` with its tensor count; `convert` of a
#    lite-interpreter `.ptl` warns that bytecode.pkl is not written;
#  - `apply` converts dtypes as PyTorch's load_state_dict (`param.copy_`) does: every converted
#    value equals what PyTorch 1.13 loads from the same checkpoint;
#  - `extract --extra` checks every name before writing anything; a 253-byte OUT (its temporary
#    would exceed NAME_MAX) is written; a read-only OUT needs --force; option checks (`--atol nan`,
#    `--depth` over its maximum, an empty OUT, a file name starting with '-').
import json
import os
import stat
import subprocess
import sys
import tempfile
import warnings
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = os.path.abspath(ptio_interop.PTIO_BIN) if os.sep in ptio_interop.PTIO_BIN else \
    ptio_interop.PTIO_BIN
check = ptio_interop.Checks()  # check(cond, what); check.finish()


def run(*args, cwd=None):
    return subprocess.run([PTIO, *args], capture_output=True, timeout=120, cwd=cwd)


def expect(args, code, what, cwd=None, needle=None):
    p = run(*args, cwd=cwd)
    err = p.stderr.decode('utf-8', 'replace')
    check(p.returncode == code, '%s (ptio %s): exit %d, want %d: %s' %
          (what, ' '.join(args), p.returncode, code, err.strip()))
    if needle is not None:
        check(needle in err, '%s: %r not in stderr: %s' % (what, needle, err.strip()))
    return p


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


def fixtures(d):
    f = {k: os.path.join(d, v) for k, v in
         (('sd', 'sd.pt'), ('sd2', 'sd2.pt'), ('script', 'script.pt'), ('cplx', 'cplx.pt'),
          ('sparse', 'sparse.pt'), ('text', 'notes.txt'), ('garbage', 'garbage.bin'),
          ('ptl', 'lite.ptl'))}
    torch.manual_seed(0)
    torch.save(Net().state_dict(), f['sd'])
    torch.save(Net().state_dict(), f['sd2'])
    torch.jit.save(torch.jit.script(Net()), f['script'], _extra_files={'meta.txt': b'hello'})
    torch.save({'c': torch.ones(2, dtype=torch.complex64)}, f['cplx'])
    torch.save({'s': torch.eye(2).to_sparse()}, f['sparse'])
    with open(f['text'], 'w') as fh:
        fh.write('just some notes\nnot a checkpoint\n')
    with open(f['garbage'], 'wb') as fh:
        fh.write(bytes(range(256)) * 8)
    torch.jit.script(Net())._save_for_lite_interpreter(f['ptl'])
    return f


def exit_codes(d, f):
    out = os.path.join(d, 'o.pt')
    # 0 and 1.
    expect(['info', f['sd']], 0, 'ok')
    expect(['diff', f['sd'], f['sd2']], 1, 'diff finding')
    # 2: inputs that cannot be read; `scan` gives text and garbage the same code.
    expect(['info', os.path.join(d, 'missing.pt')], 2, 'missing file')
    expect(['scan', f['text']], 2, 'scan of a text file', needle='nothing to scan')
    expect(['scan', f['garbage']], 2, 'scan of garbage')
    expect(['tensors', f['text']], 2, 'tensors of a text file')
    # 3: readable, but the command does not support it.
    expect(['convert', f['cplx'], os.path.join(d, 'c.safetensors')], 3,
           'dtype safetensors lacks', needle='complex64')
    expect(['show', f['sd'], 'fc.weight'], 3, 'show ATTR on a checkpoint')
    expect(['extract', f['sd'], '--code', os.path.join(d, 'code')], 3, 'extract --code of a checkpoint')
    expect(['apply', f['sd'], f['sd'], '-o', out], 3, 'apply with a checkpoint as MODEL')
    expect(['extra', f['sd'], '--set', 'a=' + f['text'], '-o', out], 3, 'extra on a checkpoint')
    expect(['convert', '--to', 'torchscript', f['sd'], out], 3, 'convert --to torchscript')
    expect(['cat', f['sparse'], 's'], 3, 'cat of a sparse tensor')
    check(not os.path.exists(out), 'a refused command wrote its output')
    # 4: outputs that cannot be written.
    expect(['convert', f['sd'], os.path.join(d, 'no', 'such', 'dir', 'o.pt')], 4,
           'convert into a missing folder')
    expect(['convert', f['script'], os.path.join(d, 'no', 'o.pt')], 4,
           'convert (TorchScript) into a missing folder')
    # (extract creates missing folders: a file where a folder should be stops it.)
    expect(['extract', f['sd'], 'data.pkl', '-o', os.path.join(f['text'], 'x.pkl')], 4,
           'extract RECORD below a file')
    expect(['apply', f['script'], f['sd2'], '-o', os.path.join(d, 'no', 'o.pt')], 4,
           'apply into a missing folder')
    expect(['extra', f['script'], '-o', os.path.join(d, 'no', 'o.pt')], 4,
           'extra -o into a missing folder')
    if os.path.exists('/dev/full'):
        with open('/dev/full', 'wb') as full:
            p = subprocess.run([PTIO, 'tensors', f['sd']], stdout=full, stderr=subprocess.PIPE)
        check(p.returncode == 4 and b'standard output' in p.stderr,
              'stdout on /dev/full: exit %d %r' % (p.returncode, p.stderr))
    # 64: usage, including names the file does not hold.
    expect(['cat', f['sd'], 'fc.nope'], 64, 'cat NAME not in the file')
    expect(['show', f['script'], 'fc.nope'], 64, 'show ATTR not in the module', needle='nope')
    expect(['extract', f['sd'], 'nope.pkl', '-o', os.path.join(d, 'n.pkl')], 64,
           'extract RECORD not in the archive', needle='nope.pkl')
    expect(['extra', f['script'], '--remove', 'nope', '-o', out], 64, 'extra --remove NAME')
    expect(['tensors', '--nosuch', f['sd']], 64, 'unknown option')
    # Every --help lists the same table.
    for c in ('info', 'convert', 'extract', 'apply', 'scan', 'diff'):
        p = run(c, '--help')
        check(b'3 a readable input' in p.stdout and b'4 an output' in p.stdout,
              '%s --help lacks exit codes 3/4' % c)


def option_checks(d, f):
    for bad in ('nan', '-1', '-1e-300', 'abc', 'NaN'):
        p = expect(['diff', '--atol', bad, f['sd'], f['sd']], 64, '--atol ' + bad)
        err = p.stderr.decode()
        check(len(err) < 400 and ("'" + bad + "'") in err,
              '--atol %s: message does not quote the value briefly: %r' % (bad, err))
    expect(['diff', '--rtol', 'nan', f['sd'], f['sd']], 64, '--rtol nan')
    expect(['diff', '--atol', 'inf', f['sd'], f['sd2']], 0, '--atol inf (everything within)')
    expect(['show', '--depth', '1000', f['sd']], 0, 'show --depth 1000')
    expect(['show', '--depth', '5000', f['sd']], 64, 'show --depth over the maximum',
           needle='1000')
    expect(['convert', f['sd'], ''], 64, 'convert to an empty OUT', needle='empty')
    expect(['extract', f['sd'], 'data.pkl', '-o', ''], 64, 'extract -o ""')
    expect(['extra', f['script'], '-o', ''], 64, 'extra -o ""', needle='empty')
    # A file name starting with '-': a usage error with the hint.
    lead = os.path.join(d, '-lead.pt')
    with open(f['sd'], 'rb') as a, open(lead, 'wb') as b:
        b.write(a.read())
    p = expect(['info', '-lead.pt'], 64, 'info -lead.pt', cwd=d)
    err = p.stderr.decode()
    check('./-lead.pt' in err and '--' in err, 'info -lead.pt: no hint: %r' % err)
    expect(['info', '--', '-lead.pt'], 0, 'info -- -lead.pt', cwd=d)
    expect(['info', './-lead.pt'], 0, 'info ./-lead.pt', cwd=d)


def human_size(n):
    # common.cpp's human_size: bytes below 1 KiB, else one decimal of KiB/MiB/GiB.
    if n < 1024:
        return '%d B' % n
    v, units = float(n), ['KiB', 'MiB', 'GiB', 'TiB']
    u = -1
    while v >= 1024 and u < 3:
        v /= 1024
        u += 1
    return '%.1f %s' % (v, units[u])


def wrote_lines(d, f):
    def line(p):
        return p.stdout.decode().splitlines()[-1] if p.stdout else ''
    n = len(torch.load(f['sd']))
    for out, fmt in (('a.pt', 'torch.save zip'), ('a.safetensors', 'safetensors'),
                     ('a.npz', 'npz')):
        p = expect(['convert', f['sd'], os.path.join(d, out)], 0, 'convert ' + out)
        size = os.path.getsize(os.path.join(d, out))
        want = 'wrote %s (%s, %d tensors, %s)' % (os.path.join(d, out), fmt, n, human_size(size))
        check(line(p) == want, 'convert %s: %r, want %r' % (out, line(p), want))
    ts = os.path.join(d, 'ts.pt')
    p = expect(['convert', f['script'], ts], 0, 'convert TorchScript')
    check(p.stdout.decode().startswith('wrote %s (TorchScript, 2 tensors, ' % ts),
          'convert TorchScript: %r' % p.stdout)
    p = expect(['extra', f['script'], '--set', 'n.txt=' + f['text'], '-o', ts], 0, 'extra -o')
    check(p.stdout.decode().startswith('wrote %s (TorchScript, 2 tensors, ' % ts),
          'extra -o: %r' % p.stdout)
    p = expect(['apply', f['script'], f['sd2'], '-o', ts], 0, 'apply')
    check(p.stdout.decode().startswith('wrote %s (TorchScript, 2 tensors, ' % ts),
          'apply: %r' % p.stdout)
    rec = os.path.join(d, 'rec.pkl')
    p = expect(['extract', f['sd'], 'data.pkl', '-o', rec], 0, 'extract RECORD')
    check(line(p) == 'wrote %s (%s)' % (rec, human_size(os.path.getsize(rec))),
          'extract: %r' % p.stdout)
    # A lite-interpreter archive: re-saved as plain TorchScript, with a warning about bytecode.pkl.
    lite_out = os.path.join(d, 'lite_out.pt')
    p = expect(['convert', f['ptl'], lite_out], 0, 'convert .ptl', needle='bytecode.pkl')
    check('warning' in p.stderr.decode(), 'convert .ptl: no warning: %r' % p.stderr)
    if p.returncode == 0:
        with zipfile.ZipFile(lite_out) as z:
            check(not any(n.endswith('bytecode.pkl') for n in z.namelist()),
                  'convert .ptl: the warning says bytecode.pkl is not written, but it is')
        torch.jit.load(lite_out)  # what the warning promises
    p = expect(['convert', f['script'], os.path.join(d, 'ts2.pt')], 0, 'convert TorchScript')
    check(b'bytecode' not in p.stderr, 'a plain TorchScript convert warns: %r' % p.stderr)


def outputs(d, f):
    # A 253-byte OUT: valid, though OUT.tmp.XXXXXX would exceed NAME_MAX.
    for name in ('x' * 250 + '.pt', 'y' * 240 + '.safetensors'):
        out = os.path.join(d, name)
        p = expect(['convert', f['sd'], out], 0, 'convert to a %d-byte name' % len(name))
        check(os.path.exists(out), '%d-byte OUT not written' % len(name))
        check(not [n for n in os.listdir(d) if '.tmp.' in n], 'temporary left behind')
    # A read-only target: refused (exit 4, untouched) unless --force.
    ro = os.path.join(d, 'ro.pt')
    with open(ro, 'wb') as fh:
        fh.write(b'keep me')
    os.chmod(ro, 0o444)
    for args in (['convert', f['sd'], ro], ['extract', f['sd'], 'data.pkl', '-o', ro],
                 ['extra', f['script'], '-o', ro], ['apply', f['script'], f['sd2'], '-o', ro]):
        expect(args, 4, args[0] + ' onto a read-only OUT', needle='--force')
        check(open(ro, 'rb').read() == b'keep me', args[0] + ' replaced a read-only OUT')
    expect(['convert', '--force', f['sd'], ro], 0, 'convert --force onto a read-only OUT')
    check(torch.load(ro).keys() == torch.load(f['sd']).keys(), 'convert --force: wrong content')
    # extract --extra with a name the file system refuses (a 300-byte component): nothing written.
    bad = os.path.join(d, 'badextra.pt')
    torch.jit.save(torch.jit.script(Net()), bad,
                   _extra_files={'a.txt': b'a', 'n' * 300: b'long', 'z.txt': b'z'})
    dest = os.path.join(d, 'extra_out')
    p = expect(['extract', bad, '--extra', dest], 3, 'extract --extra with a 300-byte name',
               needle='300 bytes')
    check(not os.path.exists(os.path.join(dest, 'a.txt')), 'extract --extra half-extracted')
    # The same archive's good names still extract one by one.
    good = os.path.join(d, 'good.pt')
    torch.jit.save(torch.jit.script(Net()), good, _extra_files={'a.txt': b'a', 'b.txt': b'bb'})
    p = expect(['extract', good, '--extra', dest], 0, 'extract --extra')
    check(open(os.path.join(dest, 'b.txt'), 'rb').read() == b'bb', 'extract --extra content')
    check(p.stdout.decode().splitlines()[-1] == 'wrote 2 files to %s (3 B)' % dest,
          'extract --extra: %r' % p.stdout)
    # A file that cannot be written (a folder is in the way): the others are still written, exit 4.
    dest2 = os.path.join(d, 'extra_out2')
    os.makedirs(os.path.join(dest2, 'a.txt'))
    p = expect(['extract', good, '--extra', dest2], 4, 'extract --extra onto a folder')
    check(os.path.exists(os.path.join(dest2, 'b.txt')), 'extract --extra stopped at the failure')


class Typed(torch.nn.Module):
    """One parameter or buffer per destination dtype PyTorch's copy_ converts into."""
    DTYPES = {'f32': torch.float32, 'f64': torch.float64, 'f16': torch.float16,
              'bf16': torch.bfloat16, 'u8': torch.uint8, 'i8': torch.int8, 'i16': torch.int16,
              'i32': torch.int32, 'i64': torch.int64, 'b': torch.bool, 'c64': torch.complex64,
              'c128': torch.complex128}

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(9))
        for k, dt in self.DTYPES.items():
            self.register_buffer(k, torch.zeros(9, dtype=dt))
        self.register_buffer('strided', torch.zeros(3, 6)[:, ::2])  # copy_ keeps the view

    def forward(self, x):
        return x


def same(a, b):
    # Bit-identical, except that NaN matches NaN whatever its payload (PyTorch's float32 ->
    # bfloat16 gives 0xffff, float64 -> bfloat16 0x7fc0 or 0xffff depending on its vectorised
    # path; ptio always gives the quiet NaN 0x7fc0).
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.is_floating_point() or a.is_complex():
        nan_a, nan_b = torch.isnan(a), torch.isnan(b)
        if not torch.equal(nan_a, nan_b):
            return False
        a, b = torch.where(nan_a, torch.zeros_like(a), a), torch.where(nan_b, torch.zeros_like(b), b)
    if a.dtype == torch.bfloat16:
        a, b = a.view(torch.int16), b.view(torch.int16)
    return a.contiguous().numpy().tobytes() == b.contiguous().numpy().tobytes()


def apply_dtypes(d):
    model = os.path.join(d, 'typed.pt')
    torch.jit.save(torch.jit.script(Typed()), model)
    floats = [1.5, -1.5, 300.0, -1.0, 1e10, float('nan'), float('inf'), 2.5, 1e-8]
    sources = {
        'f64': torch.tensor(floats, dtype=torch.float64),
        'f32': torch.tensor(floats, dtype=torch.float32),
        'f16': torch.tensor([1.5, -1.5, 300.0, -1.0, 65504, float('nan'), float('-inf'), 2.5, 0.1],
                            dtype=torch.float16),
        'bf16': torch.tensor(floats, dtype=torch.bfloat16),
        'i64': torch.tensor([70000, -129, 2**40 + 5, 2**62, -1, 0, 1, 255, 256]),
        'i32': torch.tensor([70000, -129, 2**31 - 1, -2**31, -1, 0, 1, 255, 256], dtype=torch.int32),
        'u8': torch.tensor([0, 1, 127, 128, 200, 255, 2, 3, 4], dtype=torch.uint8),
        'b': torch.tensor([True, False] * 4 + [True]),
        'c64': torch.tensor([complex(1.5, 2), 2j, complex(-3.7, 1)] * 3, dtype=torch.complex64),
        'c128': torch.tensor([complex(1e10, 1), complex(float('nan'), 0), -2.5] * 3,
                             dtype=torch.complex128),
    }
    # Every (source dtype -> destination dtype) pair, in state_dicts of one source dtype each.
    for src_name, src in sources.items():
        sd = {k: src.clone() for k in Typed.DTYPES}
        sd['w'] = src.clone()
        sd['strided'] = torch.arange(9, dtype=torch.float64).reshape(3, 3)
        ckpt = os.path.join(d, 'sd_%s.pt' % src_name)
        torch.save(sd, ckpt)
        ref = torch.jit.load(model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            ref.load_state_dict(torch.load(ckpt))
        torch_warned = any('imaginary part' in str(w.message) for w in caught)
        out = os.path.join(d, 'typed_%s.pt' % src_name)
        p = run('apply', model, ckpt, '-o', out)
        err = p.stderr.decode()
        if not check(p.returncode == 0, 'apply %s: exit %d: %s' % (src_name, p.returncode, err)):
            continue
        # PyTorch warns once per process (TORCH_WARN_ONCE): ptio on every complex -> real copy.
        check(('imaginary part' in err) == src.is_complex(),
              'apply %s: complex->real warning wrong: %s' % (src_name, err))
        if src_name == 'c64':
            check(torch_warned, 'PyTorch did not warn for complex64 -> real')
        got = torch.jit.load(out).state_dict()
        want = ref.state_dict()
        for k in want:
            check(same(got[k], want[k]),
                  'apply %s -> %s (%s): ptio %s, PyTorch %s' %
                  (src_name, k, want[k].dtype, got[k].tolist(), want[k].tolist()))
        check(got['strided'].stride() == (6, 2), 'apply: strided buffer lost its strides')
    # A dtype pair ptio does not convert (quantized): still a named mismatch, exit 1.
    sd = {k: torch.zeros(9, dtype=dt) for k, dt in Typed.DTYPES.items()}
    sd['w'] = torch.quantize_per_tensor(torch.zeros(9), 0.1, 0, torch.qint8)
    sd['strided'] = torch.zeros(3, 3)
    ckpt = os.path.join(d, 'sd_q.pt')
    torch.save(sd, ckpt)
    expect(['apply', model, ckpt, '-o', os.path.join(d, 'q.pt')], 1, 'apply qint8 into float',
           needle='dtype mismatch for w')


def main():
    with tempfile.TemporaryDirectory() as d:
        f = fixtures(d)
        exit_codes(d, f)
        option_checks(d, f)
        wrote_lines(d, f)
        outputs(d, f)
        apply_dtypes(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
