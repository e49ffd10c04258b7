#!/usr/bin/env python3
# Golden-output tests of the ptio CLI: the human and JSON forms of tensors, cat, diff, info, verify
# and convert, and the one-line errors (Git LFS pointer, HTML page, truncated download, TorchScript
# vs checkpoint, newer file format), on small fixtures written here by real PyTorch. Each command's
# stdout, stderr and exit code must equal tests/cli/golden/<name>.txt. PTIO_UPDATE_GOLDEN=1
# rewrites the golden files (review the diff before committing).
#
# Also: exit codes 0/1/2/64, --help/--version, and colour only on a terminal without NO_COLOR.
import collections
import os
import pty
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = os.path.abspath(ptio_interop.PTIO_BIN) if os.sep in ptio_interop.PTIO_BIN else \
    ptio_interop.PTIO_BIN
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'cli', 'golden')
UPDATE = os.environ.get('PTIO_UPDATE_GOLDEN') == '1'


def fixtures(d):
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
    torch.save({'fc.weight': w, 'fc.bias': torch.tensor([0.5, -1.0]),
                'steps': torch.tensor(7)}, os.path.join(d, 'small.pt'))
    w2 = w.clone()
    w2[1, 2] = 1.3
    torch.save({'fc.weight': w2, 'fc.bias': torch.tensor([0.5, -1.0], dtype=torch.float64),
                'extra': torch.ones(2, dtype=torch.int32)}, os.path.join(d, 'small2.pt'))
    near = w.clone()
    near[0, 0] += 1e-6
    torch.save({'fc.weight': near, 'fc.bias': torch.tensor([0.5, -1.0]),
                'steps': torch.tensor(7)}, os.path.join(d, 'near.pt'))
    torch.save({'x': torch.tensor([float('nan'), float('inf'), 1.0, -2.0]),
                'h': torch.tensor([1.5, -0.25, 3.0], dtype=torch.float16),
                'b': torch.tensor([True, False, True, True]),
                'c': torch.tensor([1 + 1j, 3 - 1j]),
                'q': torch.quantize_per_tensor(torch.tensor([-1.0, 0.0, 0.5]), 0.25, 2, torch.quint8),
                'big': torch.arange(2000, dtype=torch.float32) / 7},
               os.path.join(d, 'mixed.pt'))
    # diff edge cases: int64 values a double cannot tell apart, and an infinity against a finite
    # value (torch.equal / torch.isclose say both differ, whatever the tolerance).
    torch.save({'x': torch.tensor([2**53, 2**62])}, os.path.join(d, 'int_a.pt'))
    torch.save({'x': torch.tensor([2**53 + 1, 2**62 + 1])}, os.path.join(d, 'int_b.pt'))
    torch.save({'x': torch.tensor([1.0, 2.0])}, os.path.join(d, 'inf_a.pt'))
    torch.save({'x': torch.tensor([float('inf'), 2.0])}, os.path.join(d, 'inf_b.pt'))
    m = torch.jit.script(torch.nn.Linear(3, 2))
    torch.jit.save(m, os.path.join(d, 'script.pt'))
    with open(os.path.join(d, 'lfs.pt'), 'w') as f:
        f.write('version https://git-lfs.github.com/spec/v1\noid sha256:' + '0' * 64 +
                '\nsize 1234\n')
    with open(os.path.join(d, 'page.pt'), 'w') as f:
        f.write('<!DOCTYPE html>\n<html><body>Sign in</body></html>\n')
    data = open(os.path.join(d, 'small.pt'), 'rb').read()
    with open(os.path.join(d, 'truncated.pt'), 'wb') as f:
        f.write(data[:len(data) // 2])
    # A file claiming a newer format version than PyTorch/ptio read (version record 99).
    import zipfile
    with zipfile.ZipFile(os.path.join(d, 'small.pt')) as zin, \
            zipfile.ZipFile(os.path.join(d, 'newer.pt'), 'w') as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename.endswith('/version'):
                body = b'99\n'
            zout.writestr(info.filename, body)
    # small.pt with one byte of a tensor record changed: a CRC-32 mismatch for `verify`.
    with zipfile.ZipFile(os.path.join(d, 'small.pt')) as z:
        info = z.getinfo('small/data/0')
    raw = bytearray(data)
    name_len, extra_len = struct.unpack('<HH', raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len] ^= 0xff
    with open(os.path.join(d, 'badcrc.pt'), 'wb') as f:
        f.write(raw)
    torch.save(OD_VALUE, os.path.join(d, 'od.pt'))
    os.mkdir(os.path.join(d, 'adir'))


# A value without tensors whose `ptio show` must equal Python's repr() (OrderedDict's form is
# Python 3.11's here, the Debian Python PyTorch 1.13 runs on).
OD_VALUE = {'o': collections.OrderedDict([('a', 1), ('b', [1, 2.5])]),
            'e': collections.OrderedDict(), 'n': {'k': collections.OrderedDict(x=(1,))}}


CASES = [
    ('tensors', ['tensors', 'small.pt']),
    ('tensors_json', ['tensors', '--json', 'small.pt']),
    ('tensors_stats', ['tensors', '--stats', 'mixed.pt']),
    ('tensors_stats_json', ['tensors', '--stats', '--json', '--filter', 'fc.*', 'small.pt']),
    ('tensors_script', ['tensors', 'script.pt']),
    ('cat', ['cat', 'small.pt', 'fc.weight']),
    ('cat_big', ['cat', 'mixed.pt', 'big']),
    ('cat_json', ['cat', '--json', 'mixed.pt', 'x']),
    ('diff', ['diff', 'small.pt', 'small2.pt']),
    ('diff_json', ['diff', '--json', 'small.pt', 'small2.pt']),
    ('diff_equal', ['diff', 'small.pt', 'small.pt']),
    ('diff_near', ['diff', 'small.pt', 'near.pt']),
    ('diff_near_atol', ['diff', '--atol', '1e-5', 'small.pt', 'near.pt']),
    ('diff_script', ['diff', 'script.pt', 'small.pt']),
    ('info', ['info', 'small.pt']),
    ('info_json', ['info', '--json', 'small.pt']),
    ('verify', ['verify', 'small.pt']),
    ('verify_json', ['verify', '--json', 'small.pt']),
    ('convert_safetensors', ['convert', 'small.pt', 'out.safetensors']),
    ('error_lfs', ['tensors', 'lfs.pt']),
    ('error_html', ['diff', 'page.pt', 'small.pt']),
    ('error_truncated', ['cat', 'truncated.pt', 'fc.weight']),
    ('error_newer', ['tensors', 'newer.pt']),
    ('error_checkpoint_as_script', ['extract', '--code', 'code_out', 'small.pt']),
    ('error_no_such_file', ['info', 'missing.pt']),
    ('error_usage', ['diff', 'small.pt']),
    # Every error names its file first (FILE: ...).
    ('error_convert_dtypes', ['convert', 'mixed.pt', 'mixed.safetensors']),
    ('error_convert_npz_dtypes', ['convert', 'mixed.pt', 'mixed.npz']),
    ('error_show_attr', ['show', 'script.pt', 'weight.nope']),
    # --set NAME=DIR: one ptio line naming the file and why, not libstdc++'s message.
    ('error_extra_set_dir', ['extra', 'script.pt', '--set', 'x=adir', '-o', 'out.pt']),
    # A torch.save checkpoint given as MODEL: the format diagnosis, not "no constants.pkl".
    ('error_apply_checkpoint_as_model', ['apply', 'small.pt', 'small.pt', '-o', 'out.pt']),
    # Invalid globs are usage errors naming the pattern; a bracketed glob stays a glob.
    ('usage_filter_glob', ['tensors', '--filter', '[', 'small.pt']),
    ('usage_filter_glob_class', ['tensors', '--filter', '[[:nope:]]', 'small.pt']),
    ('tensors_filter_brackets', ['tensors', '--filter', '[s]t*[s]', 'small.pt']),
    # CRCs in hex (8 digits, as unzip -v) in ls, ls --json and verify.
    ('ls', ['ls', 'small.pt']),
    ('ls_json', ['ls', '--json', 'small.pt']),
    ('verify_crc', ['verify', 'badcrc.pt']),
    ('verify_crc_json', ['verify', '--json', 'badcrc.pt']),
    ('show_ordereddict', ['show', 'od.pt']),
    # Errors that concern a file name it first (a checkpoint for --to torchscript: exit 3).
    ('error_convert_to_torchscript', ['convert', '--to', 'torchscript', 'small.pt', 'x.pt']),
    ('usage_extra_remove', ['extra', 'script.pt', '--remove', 'nope', '-o', 'out.pt']),
]

# Exit codes every command must give (beyond the golden cases above).
EXIT_CODES = [
    (['--version'], 0), (['--help'], 0), ([], 64), (['nosuchcommand'], 64),
    (['tensors', '--nosuchflag', 'small.pt'], 64), (['diff', '--atol', '-1', 'small.pt', 'small.pt'], 64),
    (['diff', 'small.pt', 'small2.pt'], 1), (['diff', 'small.pt', 'small.pt'], 0),
    (['diff', 'small.pt', 'lfs.pt'], 2), (['verify', 'truncated.pt'], 2), (['verify', 'lfs.pt'], 2), (['verify', 'small.pt'], 0),
    (['cat', 'small.pt', 'nope'], 64), (['scan', 'small.pt'], 0), (['scan', 'page.pt'], 2),
    (['info', 'page.pt'], 2), (['convert', 'lfs.pt', 'x.safetensors'], 2),
    (['diff', 'int_a.pt', 'int_b.pt'], 1), (['diff', '--rtol', '1', 'inf_a.pt', 'inf_b.pt'], 1),
    (['diff', 'inf_b.pt', 'inf_b.pt'], 0),
    (['convert', '--legacy', 'small.pt', 'x.safetensors'], 64),
    (['convert', '--layout', 'torch-1.13', 'small.pt', 'x.npz'], 64),
    # The table in docs/cli.md: 3 readable but unsupported, 4 output not written, 64 for names
    # the file does not hold (cat, show ATTR, extract RECORD alike).
    (['convert', 'mixed.pt', 'x.safetensors'], 3), (['show', 'small.pt', 'fc.weight'], 3),
    (['convert', 'small.pt', 'adir/missing/x.pt'], 4), (['show', 'script.pt', 'nope'], 64),
    (['extract', 'small.pt', 'nope.pkl', '-o', 'x.pkl'], 64),
    (['diff', '--atol', 'nan', 'small.pt', 'small.pt'], 64),
]


def run(args, cwd, env=None):
    p = subprocess.run([PTIO, *args], cwd=cwd, capture_output=True, env=env)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def run_tty(args, cwd, env):
    """Runs ptio with stdout and stderr on a pseudo-terminal; returns the bytes it printed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(PTIO, [PTIO, *args], env)
    out = b''
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        fixtures(d)
        env = dict(os.environ)
        env.pop('NO_COLOR', None)
        for name, args in CASES:
            rc, out, err = run(args, d, env)
            got = '$ ptio %s\n[exit %d]\n%s%s' % (' '.join(args), rc, out,
                                                  ''.join('[stderr] ' + l + '\n'
                                                          for l in err.splitlines()))
            path = os.path.join(GOLDEN, name + '.txt')
            if UPDATE:
                with open(path, 'w') as f:
                    f.write(got)
                continue
            want = open(path).read() if os.path.exists(path) else '(missing %s)' % path
            if got != want:
                failures.append('%s differs from %s:\n--- want\n%s--- got\n%s' % (name, path, want, got))
            # Errors are one line, without a stack trace.
            if name.startswith('error_') and name != 'error_usage' and (err.count('\n') != 1 or
                                                                         'Traceback' in err):
                failures.append('%s: stderr is not one line: %r' % (name, err))
        for args, want in EXIT_CODES:
            rc, out, err = run(args, d, env)
            if rc != want:
                failures.append('ptio %s: exit %d, want %d (%s)' % (' '.join(args), rc, want, err))
        # Every command has --help with a usage line and examples; exits 0.
        rc, out, _ = run(['--help'], d, env)
        commands = [l.split()[0] for l in out.split('Subcommands:')[1].splitlines()
                    if l.startswith('  ') and not l.startswith('   ')]
        for c in ('info', 'ls', 'show', 'extract', 'verify', 'scan', 'tensors', 'cat', 'diff',
                  'convert'):
            if c not in commands:
                failures.append('command %s missing from --help: %r' % (c, commands))
        for c in commands:
            rc, out, _ = run([c, '--help'], d, env)
            if rc != 0 or 'Usage: ' not in out or 'Exit codes:' not in out:
                failures.append('%s --help: rc %d %r' % (c, rc, out))
            if c in ('info', 'ls', 'show', 'extract', 'verify', 'scan', 'tensors', 'cat', 'diff',
                     'convert') and 'Examples:\n  ptio ' + c not in out:
                failures.append('%s --help has no examples' % c)
        # extract RECORD: the full entry name (as scan prints it) or the name inside the folder.
        with zipfile.ZipFile(os.path.join(d, 'small.pt')) as z:
            want_pkl = z.read('small/data.pkl')
        for rec in ('small/data.pkl', 'data.pkl'):
            out_path = os.path.join(d, 'extracted.pkl')
            if os.path.exists(out_path):
                os.remove(out_path)
            rc, out, err = run(['extract', 'small.pt', rec, '-o', 'extracted.pkl'], d, env)
            got = open(out_path, 'rb').read() if os.path.exists(out_path) else None
            if rc != 0 or got != want_pkl:
                failures.append('extract small.pt %s: rc %d %r, %s' %
                                (rec, rc, err, 'bytes differ' if got else 'no output'))
        # show: Python's repr of a value without tensors, as /usr/bin/python3 prints it.
        rc, out, err = run(['show', 'od.pt'], d, env)
        if rc != 0 or out != repr(OD_VALUE) + '\n':
            failures.append('show od.pt: rc %d\n  got  %r\n  want %r' % (rc, out, repr(OD_VALUE)))
        rc, out, _ = run(['--version'], d, env)
        if not out.startswith('ptio '):
            failures.append('--version: %r' % out)
        # Colour: on a terminal, never with NO_COLOR, never into a pipe.
        tty = run_tty(['diff', 'small.pt', 'small2.pt'], d, env)
        if b'\x1b[' not in tty:
            failures.append('no colour on a terminal: %r' % tty)
        if b'\x1b[' in run_tty(['diff', 'small.pt', 'small2.pt'], d, dict(env, NO_COLOR='1')):
            failures.append('colour despite NO_COLOR')
        if '\x1b[' in run(['diff', 'small.pt', 'small2.pt'], d, env)[1]:
            failures.append('colour into a pipe')
    if UPDATE:
        print('golden files rewritten in', GOLDEN)
        return 0
    if failures:
        print('\n'.join(failures))
        return 1
    print('ok: %d golden outputs, %d exit codes, help, version, colour' % (len(CASES), len(EXIT_CODES)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
