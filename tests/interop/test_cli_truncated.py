#!/usr/bin/env python3
# Truncated inputs and the read-only commands: every message names the input file and none
# talks about writing, since these commands write nothing.
#  - files PyTorch 1.13 wrote (torch.save zip, and legacy with _use_new_zipfile_serialization=False)
#    cut at several offsets: info, ls, show, tensors, tensors --stats, cat, diff, verify and scan
#    exit 2 naming the file (verify too since session 6: it gave 1, a failed check, while every
#    other command gave 2 for the same file);
#    legacy files also name the record and byte offset (`object pickle @ 0x...`);
#  - a file truncated by another process while a command reads it through its memory mapping
#    (SIGBUS: the process is stopped once the file is mapped, the file cut to 4 KiB, the process
#    continued): exit 2, `FILE: the input changed while it was read`, no "written" (the session-4
#    trial saw "an input file changed ...; nothing was written" with no name).
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def commands(path, whole):
    """Each read-only command on `path` (`whole` is the untruncated file, for diff)."""
    return {
        'info': ['info', path],
        'ls': ['ls', path],
        'show': ['show', path],
        'tensors': ['tensors', path],
        'tensors --stats': ['tensors', '--stats', path],
        'cat': ['cat', path, 'weight'],
        'cat --json': ['cat', '--json', path, 'weight'],
        'diff': ['diff', path, whole],
        'verify': ['verify', path],
        'scan': ['scan', path],
    }


def static_truncation(d):
    torch.manual_seed(0)
    sd = {'weight': torch.randn(30, 40), 'bias': torch.randn(40)}
    for kind in ('zip', 'legacy'):
        whole = os.path.join(d, kind + '.pt')
        torch.save(sd, whole, _use_new_zipfile_serialization=(kind == 'zip'))
        data = open(whole, 'rb').read()
        for frac in (0.02, 0.1, 0.5, 0.9, 0.99):
            off = int(len(data) * frac)
            cut = os.path.join(d, '%s-cut-%d.pt' % (kind, off))
            with open(cut, 'wb') as f:
                f.write(data[:off])
            for name, args in commands(cut, whole).items():
                if kind == 'legacy' and name == 'scan':
                    continue  # scan checks the pickles' safety; a legacy file's storages are no pickle
                p = subprocess.run([PTIO, *args], capture_output=True, timeout=60)
                out = (p.stdout + p.stderr).decode('utf-8', 'replace')
                want = 2
                where = '%s cut at %d of %d: %s' % (kind, off, len(data), name)
                check(p.returncode == want, '%s: exit %d, want %d: %r' % (where, p.returncode,
                                                                         want, out))
                check(cut in out, '%s: the message does not name %s: %r' % (where, cut, out))
                check('written' not in out, '%s: talks about writing: %r' % (where, out))
                if kind == 'legacy' and name not in ('ls', 'verify'):  # those: "not a zip"
                    check('@ 0x' in out, '%s: no byte offset: %r' % (where, out))


def mapped(pid, path):
    try:
        with open('/proc/%d/maps' % pid) as f:
            return any(line.rstrip().endswith(path) for line in f)
    except OSError:
        return False


def truncated_under_read(d):
    src = os.path.join(d, 'big.pt')
    torch.manual_seed(0)
    torch.save({'weight': torch.randn(16 << 20), 'bias': torch.randn(8)}, src)  # 64 MiB
    work = os.path.join(d, 'work.pt')
    cases = {
        'tensors --stats': ['tensors', '--stats', work],
        'cat --json': ['cat', '--json', work, 'weight'],
        'diff': ['diff', work, work],
        'verify': ['verify', work],
    }
    for name, args in cases.items():
        caught = False
        for attempt in range(8):
            shutil.copyfile(src, work)
            p = subprocess.Popen([PTIO, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            while p.poll() is None and time.monotonic() < deadline and not mapped(p.pid, work):
                time.sleep(0.0005)
            p.send_signal(signal.SIGSTOP)
            alive = p.poll() is None
            os.truncate(work, 4096)  # another process cuts the input under the mapping
            p.send_signal(signal.SIGCONT)
            _, err = p.communicate(timeout=120)
            err = err.decode('utf-8', 'replace')
            if not alive or p.returncode == 0:
                continue  # it had read everything before the cut: try again
            caught = True
            check(p.returncode == 2, '%s truncated under the read: exit %d, want 2: %r' %
                  (name, p.returncode, err))
            check(err.startswith('ptio: error: ') and work in err,
                  '%s truncated under the read: the message does not name %s: %r' %
                  (name, work, err))
            check('written' not in err, '%s truncated under the read: talks about writing: %r' %
                  (name, err))
            if 'SIGBUS' in err:  # the fault's place in the mapping: past the 4 KiB left
                m = re.search(r'\(the read at byte offset (\d+) \(0x([0-9a-f]+)\) of (.+)\)\n', err)
                check(m is not None and int(m.group(1)) == int(m.group(2), 16) and
                      4096 <= int(m.group(1)) < os.path.getsize(src) and m.group(3) == work,
                      '%s truncated under the read: no offset in %s past the cut: %r' %
                      (name, work, err))
            break
        check(caught, '%s never caught before it finished reading in 8 attempts' % name)


def main():
    with tempfile.TemporaryDirectory() as d:
        static_truncation(d)
        truncated_under_read(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
