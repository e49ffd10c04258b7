# Shared helpers of the torch.save/torch.load interop tests: PyTorch's listing of a loaded object
# (the same Walker and sha256 as ../shared/corpus/verify_with_torch.py), ptio invocation, diffing.
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('PTIO_SHARED') or next(
    (p for p in (os.path.join(_HERE, '..', '..', '..', 'shared'),
                 os.path.join(_HERE, '..', '..', '..', '..', 'shared')) if os.path.isdir(p)), '')
sys.path.insert(0, os.path.join(SHARED, 'corpus'))
import verify_with_torch  # noqa: E402  (the corpus's own listing code: one definition of sha256)

PTIO_BIN = os.environ.get('PTIO_BIN', 'ptio')
# The binary as an absolute path when it was given as a path (for tests that change directory).
PTIO = os.path.abspath(PTIO_BIN) if os.sep in PTIO_BIN else PTIO_BIN
TOOLS_DIR = os.environ.get('PTIO_TOOLS_DIR', '')

# GNU time: the peak RSS of ptio itself (wait4 in the test's process would count the forked copy
# of that Python, torch and all, before the exec).
TIME = '/usr/bin/time'


def sanitized():
    """Whether PTIO is a sanitizer build (its shadow memory is not held to RSS bounds)."""
    try:
        return b'__asan_init' in open(PTIO, 'rb').read()
    except OSError:
        return False


def run_with_rss(*args, timeout=120):
    """Runs ptio; returns (exit code, stdout, stderr, peak RSS in bytes, 0 when unknown)."""
    with tempfile.TemporaryDirectory() as t:
        rss_file = os.path.join(t, 'rss')
        cmd = [PTIO, *args]
        if os.path.exists(TIME):
            cmd = [TIME, '-f', '%M', '-o', rss_file, *cmd]
        # Its own process group: on a timeout ptio is killed too, not only GNU time.
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return -1, b'', 'timed out after %d s' % timeout, 0
        rss = 0
        if os.path.exists(rss_file):
            lines = open(rss_file).read().split()
            rss = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
        return p.returncode, out, err.decode('utf-8', 'replace'), rss


# Fields `ptio tensors --json` prints, compared with what PyTorch reports.
FIELDS = ('path', 'dtype', 'shape', 'strides', 'storage_offset', 'requires_grad', 'sha256')


def torch_listing(obj):
    """PyTorch's listing of `obj`: list of dicts with FIELDS (plus storage_group)."""
    w = verify_with_torch.Walker()
    w.walk(obj, '')
    return w.tensors


def normalise(rec):
    return {k: rec[k] for k in FIELDS if k in rec}


def ptio_listing(path, extra=()):
    p = subprocess.run([PTIO_BIN, 'tensors', '--json', *extra, path], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError('ptio tensors failed (%d) on %s: %s' %
                           (p.returncode, path, p.stderr.decode('utf-8', 'replace')))
    return json.loads(p.stdout)


def diff_listings(expected, got):
    """Differences between PyTorch's listing and ptio's, as a list of strings (empty: equal)."""
    out = []
    if len(expected) != len(got):
        out.append('tensor count: torch %d, ptio %d (torch paths %s, ptio paths %s)' %
                   (len(expected), len(got), [e.get('path') for e in expected],
                    [g.get('path') for g in got]))
    for e, g in zip(expected, got):
        e, g = normalise(e), normalise(g)
        for k in FIELDS:
            if k in e and e.get(k) != g.get(k):
                out.append('%s: %s torch=%r ptio=%r' % (e.get('path'), k, e.get(k), g.get(k)))
            elif k not in e and k in g and k != 'sha256':
                out.append('%s: ptio has %s=%r, torch none' % (e.get('path'), k, g.get(k)))
    return out


def storage_groups(listing):
    """Sharing structure: storage_group renumbered by first appearance (None kept)."""
    seen, out = {}, []
    for r in listing:
        g = r.get('storage_group')
        if g is None:
            out.append(None)
            continue
        seen.setdefault(g, len(seen))
        out.append(seen[g])
    return out


def run(cmd, check=True):
    p = subprocess.run(cmd, capture_output=True)
    if check and p.returncode != 0:
        raise RuntimeError('%s failed (%d): %s%s' % (' '.join(map(str, cmd)), p.returncode,
                                                     p.stdout.decode('utf-8', 'replace'),
                                                     p.stderr.decode('utf-8', 'replace')))
    return p


class Checks:
    """Collects failed checks: check(cond, what) records `what` when cond is false and returns
    cond; finish() prints the failures (or 'ok') and returns the exit status."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
        return cond

    def finish(self):
        if self.failures:
            print('\n'.join(self.failures))
            return 1
        print('ok')
        return 0


def ptio(*args, stdout=subprocess.PIPE, timeout=120):
    """Runs the ptio binary with `args`; returns (the subprocess.CompletedProcess: returncode,
    stdout bytes (None when `stdout` is not PIPE), stderr bytes; and stdout + stderr decoded as one
    text, for messages)."""
    p = subprocess.run([PTIO, *args], stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
    return p, ((p.stdout or b'') + p.stderr).decode('utf-8', 'replace')


def zip_data_start(data, info):
    """Offset in the zip bytes `data` of the first data byte of record `info` (a ZipInfo)."""
    n, e = struct.unpack('<HH', data[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + n + e


def damage_record(src, dst, suffix, find=None, at=100):
    """Copies the zip `src` to `dst` with one byte of its record ending in `suffix` changed (the
    byte `at` into it flipped, or the first occurrence of `find` there, whose first byte becomes
    'X'); the headers keep the original CRC-32. Returns (record name, data offset)."""
    import zipfile
    info = [i for i in zipfile.ZipFile(src).infolist() if i.filename.endswith(suffix)][0]
    d = bytearray(open(src, 'rb').read())
    start = zip_data_start(d, info)
    if find is not None:
        at = bytes(d[start:start + info.file_size]).index(find)
        d[start + at] = ord('X')
    else:
        d[start + at] ^= 0xff
    with open(dst, 'wb') as f:
        f.write(d)
    return info.filename, start


def scripted_linear(path, in_features, out_features, times2=False, extra_files=None):
    """torch.jit.save of a scripted module with one `fc` Linear(in_features, out_features) whose
    forward returns fc(x) (times 2 with `times2`), with `extra_files`, at `path`."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(in_features, out_features)

        def forward(self, x):
            return self.fc(x)

    class NetTimes2(Net):
        def forward(self, x):
            return self.fc(x) * 2

    m = torch.jit.script(NetTimes2() if times2 else Net())
    torch.jit.save(m, path, _extra_files=extra_files or {})
    return path
