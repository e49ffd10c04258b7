#!/usr/bin/env python3
# Messages of the ptio CLI found by the session-4 new-user trial, on files PyTorch 1.13 wrote:
#  - an argument starting with '-' that is no option of the command gets the same `./-name` /
#    `--` hint from every command (an OUT to be written such as `convert a.pt -o.pt` included,
#    with the command line rewritten with `--`), and that line works;
#  - `extract FILE RECORD -o ""` and `extra MODEL --set ... -o ""` say OUT is empty (exit 64),
#    not that -o OUT is missing;
#  - "did you mean" of `cat NAME`, `show FILE ATTR` and `extract FILE RECORD` finds names that
#    differ only in case (`Weight` -> `weight`);
#  - a file-size limit is exit 4 "File too large" for small and large outputs alike;
#  - a file whose stat size is 0 but which has bytes (/proc/self/status) is not called empty:
#    every reading command exits 2 saying its size is unknown; a pipe is "not a regular file";
#    so is `extra --set NAME=/proc/self/status` (session 5); an OUT linked to a pipe
#    (/dev/stdout) is refused as not a regular file, naming OUT (session 10);
#  - session 5: an empty FILE is exit 64 for every command; tensor names safetensors/npz cannot
#    hold are exit 3; an input truncated while convert writes from its mapping names the input.
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def run(*args, cwd=None, stdin=None):
    p = subprocess.run([PTIO, *args], capture_output=True, cwd=cwd, stdin=stdin, timeout=120)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(2, 3)
        self.Scale = 2.0

    def forward(self, x):
        return self.fc1(x) * self.Scale


def dash_hints(d):
    # Unknown '-name' arguments: one hint, the same for reading and writing commands.
    cases = [
        ('convert', ['ckpt.pt', '-o.pt'], 'ptio convert -- ckpt.pt -o.pt'),
        ('convert', ['ckpt.pt', '-x.pt', '--force'], 'ptio convert --force -- ckpt.pt -x.pt'),
        ('extract', ['ckpt.pt', '-q', '-o', 'x.bin'], 'ptio extract -o x.bin -- ckpt.pt -q'),
        ('info', ['-q'], 'ptio info -- -q'),
        ('tensors', ['--json', '-q'], 'ptio tensors --json -- -q'),
        ('diff', ['--atol', '1', '-q', 'ckpt.pt'], 'ptio diff --atol 1 -- -q ckpt.pt'),
    ]
    for cmd, args, line in cases:
        rc, _, err = run(cmd, *args, cwd=d)
        bad = [a for a in args if a.startswith('-q') or a.startswith('-o.') or a.startswith('-x')]
        check(rc == 64, '%s %s: exit %d, want 64' % (cmd, args, rc))
        check(('write ./%s or put -- before it (%s)' % (bad[0], line)) in err,
              '%s %s: no ./%s / -- hint with %r: %r' % (cmd, args, bad[0], line, err))
    rc, _, err = run('convert', 'ckpt.pt', '-o', 'out.pt', cwd=d)
    check(rc == 64 and 'convert takes OUT as its second argument, without -o' in err,
          'convert -o OUT: no hint that OUT is positional: %d %r' % (rc, err))
    # The rewritten line does what the user meant: writes -o.pt.
    rc, out, err = run('convert', '--', 'ckpt.pt', '-o.pt', cwd=d)
    check(rc == 0 and os.path.exists(os.path.join(d, '-o.pt')),
          'convert -- ckpt.pt -o.pt: %d %r %r' % (rc, out, err))
    # An existing '-name' file: "is read as an option".
    rc, _, err = run('tensors', '-o.pt', cwd=d)
    check(rc == 64 and "'-o.pt' is read as an option; for the file of that name write ./-o.pt "
          "or put -- before it (ptio tensors -- -o.pt)" in err, 'tensors -o.pt: %d %r' % (rc, err))
    # The value of an option is not hinted (`-o -x` writes -x).
    rc, _, err = run('extract', 'ckpt.pt', 'data.pkl', '-o', '-x', '-q', cwd=d)
    check(rc == 64 and "'-x'" not in err and "'-q'" in err, 'extract -o -x -q: %r' % err)


def empty_out(d):
    for args in (['extract', 'ckpt.pt', 'data.pkl', '-o', ''],
                 ['extra', 'scripted.pt', '--set', 'a.txt=ckpt.pt', '-o', '']):
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and '-o OUT is an empty file name' in err and 'need' not in err,
              '%s: %d %r' % (args, rc, err))
    rc, _, err = run('extract', 'ckpt.pt', 'data.pkl', cwd=d)
    check(rc == 64 and 'RECORD needs -o OUT' in err, 'extract without -o: %d %r' % (rc, err))


def suggestions(d):
    cases = [
        (['cat', 'ckpt.pt', 'Weight'], 'did you mean: weight?'),
        (['cat', 'ckpt.pt', 'BIAS'], 'did you mean: bias?'),
        (['cat', 'scripted.pt', 'FC1.Weight'], 'did you mean: fc1.weight?'),
        (['show', 'scripted.pt', 'FC1'], 'did you mean: fc1?'),
        (['show', 'scripted.pt', 'fc1.Weight'], 'did you mean: weight?'),
        (['show', 'scripted.pt', 'scale'], 'did you mean: Scale?'),
        (['extract', 'ckpt.pt', 'Data.pkl', '-o', 'x'], 'did you mean: data.pkl?'),
        (['extract', 'ckpt.pt', 'DATA', '-o', 'x'], 'did you mean: data.pkl'),
    ]
    for args, want in cases:
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and want in err, '%s: %d %r, want %r' % (args, rc, err, want))
    rc, _, err = run('show', 'scripted.pt', 'fc1.zz', cwd=d)
    check(rc == 64 and 'did you mean' not in err, 'show fc1.zz suggests: %r' % err)


def size_unknown(d):
    for cmd in (['info'], ['ls'], ['show'], ['tensors'], ['scan'], ['verify']):
        rc, _, err = run(*cmd, '/proc/self/status', cwd=d)
        check(rc == 2 and err.startswith('ptio: error: /proc/self/status: its size is unknown') and
              'empty' not in err, '%s /proc/self/status: %d %r' % (cmd, rc, err))
    rc, _, err = run('cat', '/proc/self/status', 'x', cwd=d)
    check(rc == 2 and 'size is unknown' in err and 'empty' not in err, 'cat /proc: %r' % err)
    rc, _, err = run('diff', 'ckpt.pt', '/proc/self/status', cwd=d)
    check(rc == 2 and 'size is unknown' in err, 'diff with /proc: %r' % err)
    with open(os.path.join(d, 'ckpt.pt'), 'rb') as f:
        p = subprocess.run([PTIO, 'info', '/dev/stdin'],
                           capture_output=True, input=f.read(), timeout=60)
    err = p.stderr.decode()
    check(p.returncode == 2 and 'not a regular file' in err and 'empty' not in err,
          'info /dev/stdin from a pipe: %d %r' % (p.returncode, err))
    # OUT a link to a pipe (/dev/stdout piped): refused naming OUT as given, exit 4; it had
    # made a temporary in the working folder and failed to rename it to '' (naming the input).
    p = subprocess.run([PTIO, 'convert', 'ckpt.pt', '/dev/stdout'], cwd=d,
                       capture_output=True, timeout=60)
    err = p.stderr.decode()
    check(p.returncode == 4 and '/dev/stdout: not a regular file' in err and p.stdout == b'',
          'convert to /dev/stdout onto a pipe: %d %r' % (p.returncode, err))


def file_size_limit(d):
    """A file-size limit (ulimit -f) is exit 4 "File too large" whether the output is small
    (written by the caller's thread, which used to die of SIGXFSZ, status 153) or large (written by
    the flush thread, which blocks signals and saw EFBIG): no temporary left, OUT untouched."""
    import resource
    src = os.path.join(d, 'many.pt')
    torch.save({'t%d' % i: torch.rand(1000) for i in range(3000)}, src)  # ~12 MB, 3000 records
    out = os.path.join(d, 'limited.pt')
    for limit in (1 << 16, 4 << 20):
        with open(out, 'w') as f:
            f.write('keep')

        def cap(limit=limit):
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        p = subprocess.run([PTIO, 'convert', src, out], capture_output=True, timeout=120,
                           preexec_fn=cap)
        err = p.stderr.decode()
        left = [n for n in os.listdir(d) if '.tmp.' in n]
        check(p.returncode == 4 and 'File too large' in err and not left and
              open(out).read() == 'keep',
              'convert under a %d-byte file-size limit: %d %r, left %r' % (limit, p.returncode,
                                                                            err, left))


def address_space_limit(d):
    """Under an address-space limit (ulimit -v) smaller than the file, mmap fails: the commands that
    stream (verify, scan, ls, extract) read with pread instead of stopping at `mmap failed`, and a
    load that must copy the storages fails as out of memory (exit 2), not as mmap."""
    import resource
    src = os.path.join(d, 'big64.pt')
    torch.save({'a': torch.zeros(16 * 1024 * 1024), 'b': torch.arange(10)}, src)  # 64 MiB

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (48 << 20, 48 << 20))

    def limited(*args):
        p = subprocess.run([PTIO, *args], capture_output=True, timeout=120, preexec_fn=cap)
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    rc, out, err = limited('verify', src)
    check(rc == 0 and out.startswith('ok: ') and '4 records' in out,
          'verify under a 48 MiB address-space limit: %d %r %r' % (rc, out, err))
    rc, out, err = limited('scan', src)
    check(rc == 0 and 'verdict: safe' in out, 'scan under the limit: %d %r %r' % (rc, out, err))
    rc, out, err = limited('ls', src)
    check(rc == 0 and 'data/1' in out, 'ls under the limit: %d %r %r' % (rc, out, err))
    x = os.path.join(d, 'b.bin')
    rc, out, err = limited('extract', src, 'data/1', '-o', x)
    check(rc == 0 and open(x, 'rb').read() == torch.arange(10).numpy().tobytes(),
          'extract under the limit: %d %r %r' % (rc, out, err))
    rc, out, err = limited('tensors', src)
    check(rc == 2 and 'out of memory' in err and 'mmap' not in err,
          'tensors under the limit (the 64 MiB storage is copied): %d %r' % (rc, err))


def set_size_unknown(d):
    """`extra --set NAME=/proc/self/status` stored an empty file (exit 0): refused as every input
    of unknown size is (exit 2), OUT not written."""
    out = os.path.join(d, 'extra_out.pt')
    rc, _, err = run('extra', 'scripted.pt', '--set', 'a.txt=/proc/self/status', '-o', out, cwd=d)
    check(rc == 2 and '/proc/self/status: its size is unknown' in err and not os.path.exists(out),
          'extra --set a.txt=/proc/self/status: %d %r' % (rc, err))


def empty_file_name(d):
    """An empty FILE ('') is a usage error saying so (was `cannot open: No such file...`)."""
    cases = [['info', ''], ['ls', ''], ['show', ''], ['tensors', ''], ['scan', ''],
             ['verify', ''], ['cat', '', 'weight'], ['diff', 'ckpt.pt', ''],
             ['convert', '', 'o.pt'], ['extract', '', 'data.pkl', '-o', 'x.bin'],
             ['extra', ''], ['apply', '', 'ckpt.pt', '-o', 'y.pt']]
    for args in cases:
        rc, _, err = run(*args, cwd=d)
        check(rc == 64 and "FILE is an empty name ('')" in err,
              '%s: %d %r, want 64 saying FILE is empty' % (args, rc, err))


def unwritable_names(d):
    """Tensor names safetensors/npz cannot hold: the input reads, the output format cannot hold
    it: exit 3 (was 2)."""
    cases = {
        'empty': {'': torch.ones(2)},
        'dotdot': {'../x': torch.ones(2)},
    }
    for label, sd in cases.items():
        src = os.path.join(d, 'names_%s.pt' % label)
        torch.save(sd, src)
        for ext in ('safetensors', 'npz'):
            rc, _, err = run('convert', src, os.path.join(d, 'names.' + ext), '--force', cwd=d)
            if label == 'dotdot' and ext == 'safetensors':
                check(rc == 0, 'convert %s -> %s: %d %r' % (label, ext, rc, err))
                continue
            check(rc == 3 and err.startswith('ptio: error: '),
                  'convert %s -> %s: %d %r, want 3' % (label, ext, rc, err))
    # A duplicate name: a module and a tensor flattened to the same key ('a.b').
    src = os.path.join(d, 'names_dup.pt')
    torch.save({'a': {'b': torch.ones(1)}, 'a.b': torch.ones(1)}, src)
    for ext in ('safetensors', 'npz'):
        rc, _, err = run('convert', src, os.path.join(d, 'dup.' + ext), '--force', cwd=d)
        check(rc == 3 and "tensor name 'a.b' appears twice" in err,
              'convert duplicate -> %s: %d %r, want 3' % (ext, rc, err))


def truncated_while_written(d):
    """The input truncated while `convert` writes its tensors straight from the mapping: write(2)
    fails with EFAULT; the message names the input, as the SIGBUS path does, and says OUT was not
    written (it named OUT: '@ 0x...: write failed')."""
    import shutil
    import signal
    import time
    src = os.path.join(d, 'big_w.pt')
    torch.save({'weight': torch.randn(16 << 20)}, src)  # 64 MiB
    work = os.path.join(d, 'work_w.pt')

    def writing(name):
        """True once OUT's temporary holds over 4 MiB: the tensor is being written."""
        for n in os.listdir(d):
            if n.startswith(name + '.tmp.'):
                try:
                    if os.path.getsize(os.path.join(d, n)) > (4 << 20):
                        return True
                except OSError:
                    pass
        return False
    for ext in ('safetensors', 'pt'):
        out = os.path.join(d, 'trunc_out.' + ext)
        caught = False
        for attempt in range(8):
            shutil.copyfile(src, work)
            p = subprocess.Popen([PTIO, 'convert', work, out, '--force'],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while (p.poll() is None and time.monotonic() < deadline and
                   not writing(os.path.basename(out))):
                time.sleep(0.0005)
            p.send_signal(signal.SIGSTOP)
            alive = p.poll() is None
            os.truncate(work, 4096)
            p.send_signal(signal.SIGCONT)
            _, err = p.communicate(timeout=120)
            err = err.decode('utf-8', 'replace')
            if not alive or p.returncode == 0:
                continue
            caught = True
            check(p.returncode == 2 and
                  err.startswith('ptio: error: %s: the input changed while it was read' % work) and
                  ('%s was not written' % out) in err and 'write failed' not in err,
                  'convert -> %s truncated meanwhile: %d %r' % (ext, p.returncode, err))
            break
        check(caught, 'convert -> %s never caught before it finished in 8 attempts' % ext)


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        torch.save({'weight': torch.randn(3, 4), 'bias': torch.randn(3)},
                   os.path.join(d, 'ckpt.pt'))
        torch.jit.save(torch.jit.script(Net()), os.path.join(d, 'scripted.pt'))
        dash_hints(d)
        empty_out(d)
        suggestions(d)
        size_unknown(d)
        file_size_limit(d)
        address_space_limit(d)
        set_size_unknown(d)
        empty_file_name(d)
        unwritable_names(d)
        truncated_while_written(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
