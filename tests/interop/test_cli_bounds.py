#!/usr/bin/env python3
# Resource bounds of the ptio CLI on hostile input (issue #8's standard: a clear coded error
# naming the file, never unbounded memory, a crash or a half-written file). Peak memory is the
# child's max RSS from wait4(2).
#  - decompression bombs: a zip of a few MB holding one DEFLATE-compressed record of GBs of zeros.
#    A storage the pickle declares as 3 GiB is refused by info/tensors/show/cat (kLimitExceeded
#    naming the file, the record, declared vs allowed bytes and --max-inflated-bytes) before
#    anything is allocated; a storage of 16 bytes in a 3 GiB record inflates only its 16 bytes;
#    --max-inflated-bytes moves the bound to the byte; `verify` reports the bomb as a failed check
#    and, allowed to, checks a 256 MiB record's CRC by streaming inflate in constant memory;
#    17 deflated records of 64 MiB each (each within the per-record bounds) exceed the archive's
#    1 GiB inflate budget; a real torch.jit.save archive loads;
#  - expanded (stride-0) views: plain `tensors` reads no elements so charges nothing; `diff` of
#    two files sharing a [1e9] expansion compares one slice (equal / 1e9 mismatches) instead of
#    refusing; expanded on one side only is still charged, with the option to raise it;
#  - `tensors --json/--stats` of a ~300 MB tensor streams it: sha256 equals hashlib's over
#    PyTorch's t.contiguous().numpy().tobytes(), peak RSS stays far below the tensor;
#  - the input of `convert` truncated by another process mid-write: exit 2 with a clear error,
#    no `<out>.tmp.XXXXXX` left, OUT untouched.
import collections
import ctypes
import ctypes.util
import hashlib
import json
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = os.path.abspath(ptio_interop.PTIO_BIN) if os.sep in ptio_interop.PTIO_BIN else \
    ptio_interop.PTIO_BIN
check = ptio_interop.Checks()  # check(cond, what); check.finish()
MiB = 1 << 20
GiB = 1 << 30


def run(*args, timeout=120):
    """(exit status, stdout, stderr, peak RSS in bytes) of `ptio ARGS`, the RSS measured by
    /usr/bin/time (the child of a small process: a child forked from this Python would report
    this interpreter's RSS as its own peak)."""
    with tempfile.NamedTemporaryFile() as m:
        try:
            p = subprocess.run(['/usr/bin/time', '-f', '%M', '-o', m.name, PTIO, *args],
                               capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1, b'', 'timed out after %d s' % timeout, 0
        with open(m.name) as f:
            last = (f.read().split() or ['0'])[-1]
        rss = int(last) * 1024 if last.isdigit() else 0
        return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace'), rss


# ---- hand-made zip archives --------------------------------------------------------------

class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Tensor:  # pickles as torch.save pickles a uint8 tensor over a whole storage
    def __init__(self, storage):
        self.storage = storage

    def __reduce__(self):
        n = self.storage.numel
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, (n,), (1,), False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ('storage', torch.ByteStorage, obj.key, 'cpu', obj.numel)
        return None


def data_pkl(numel):
    import io
    b = io.BytesIO()
    _Pickler(b, protocol=2).dump({'x': _Tensor(_Storage('0', numel))})
    return b.getvalue()


_libz = ctypes.CDLL(ctypes.util.find_library('z'))
_libz.crc32_combine.restype = ctypes.c_ulong
_libz.crc32_combine.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long]


def zeros_crc(n):
    """CRC-32 of n zero bytes (n a multiple of 1 MiB), by doubling with zlib's crc32_combine."""
    crc, piece, plen, left = 0, zlib.crc32(bytes(MiB)), MiB, n // MiB
    while left:
        if left & 1:
            crc = _libz.crc32_combine(crc, piece, plen)
        piece = _libz.crc32_combine(piece, piece, plen)
        plen *= 2
        left >>= 1
    return crc


def deflated_zeros(n):
    """A raw deflate stream of n zero bytes (n a multiple of 1 MiB) built without compressing n
    bytes: after a full flush, every 1 MiB of zeros compresses to the same bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(bytes(MiB)) + co.flush(zlib.Z_FULL_FLUSH)
    again = co.compress(bytes(MiB)) + co.flush(zlib.Z_FULL_FLUSH)
    assert again == co.compress(bytes(MiB)) + co.flush(zlib.Z_FULL_FLUSH)
    return first + again * (n // MiB - 1) + co.flush()


def write_zip(path, entries):
    """entries: (name, payload, method, uncompressed size, crc) with payload already compressed
    for method 8. Sizes below 4 GiB (no ZIP64)."""
    local, central = bytearray(), bytearray()
    for name, payload, method, size, crc in entries:
        n = name.encode()
        off = len(local)
        local += struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, method, 0, 0x21, crc,
                             len(payload), size, len(n), 0) + n + payload
        central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, method, 0, 0x21, crc,
                               len(payload), size, len(n), 0, 0, 0, 0, 0, off) + n
    eocd = struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, len(entries), len(entries), len(central),
                       len(local), 0)
    with open(path, 'wb') as f:
        f.write(bytes(local) + bytes(central) + eocd)


def bomb(path, record_bytes, storage_numel, crc=None):
    pkl = data_pkl(storage_numel)
    stream = deflated_zeros(record_bytes)
    write_zip(path, [
        ('archive/data.pkl', pkl, 0, len(pkl), zlib.crc32(pkl)),
        ('archive/byteorder', b'little', 0, 6, zlib.crc32(b'little')),
        ('archive/data/0', stream, 8, record_bytes,
         zeros_crc(record_bytes) if crc is None else crc),
        ('archive/version', b'3\n', 0, 2, zlib.crc32(b'3\n')),
    ])
    return path


def bomb_error(what, text, path, declared):
    """Checks a refusal names the file, the record, declared vs allowed bytes (100x the
    compressed size, at least 64 MiB) and the option that raises the bound."""
    check(path + ': archive/data/0 @ ' in text, '%s: file and record not named: %s' % (what, text))
    m = re.search(r'would inflate to (\d+) bytes from (\d+) compressed bytes \((\d+):1\); '
                  r'allowed (\d+) bytes', text)
    if check(m is not None, '%s: no declared vs allowed bytes: %s' % (what, text)):
        n, c, ratio, allowed = map(int, m.groups())
        check(n == declared and allowed == max(64 * MiB, 100 * c) and ratio == declared // c and
              c < os.path.getsize(path), '%s: wrong numbers: %s' % (what, m.group(0)))
    check('--max-inflated-bytes' in text, '%s: no hint how to raise the bound: %s' % (what, text))


def bombs(d):
    big = bomb(os.path.join(d, 'bomb3g.pt'), 3 * GiB, 3 * GiB)
    size = os.path.getsize(big)
    check(size < 8 * MiB, 'bomb3g.pt is %d bytes, meant to be small' % size)
    for args in (['info', big], ['tensors', big], ['tensors', '--json', big], ['show', big],
                 ['cat', big, 'x'], ['verify', big]):
        t0 = time.monotonic()
        rc, out, err, rss = run(*args)
        what = 'bomb3g: ptio ' + ' '.join(a for a in args if a != big)
        if args[0] == 'verify':  # a failed check (the record was not inflated)
            check(rc == 1 and b'[LimitExceeded]' in out, '%s: exit %d %s' % (what, rc, out))
            bomb_error(what, out.decode(), big, 3 * GiB)
        elif args[0] == 'info':  # what the file is, then why it cannot be loaded
            check(rc == 2 and b'cannot be loaded: ' in out, '%s: exit %d %s' % (what, rc, out))
            bomb_error(what, out.decode(), big, 3 * GiB)
        else:
            check(rc == 2 and err.startswith('ptio: error: ' + big + ': '),
                  '%s: exit %d, want 2 (%s)' % (what, rc, err))
            bomb_error(what, err, big, 3 * GiB)
        check(0 < rss < 64 * MiB, '%s: peak RSS %d MiB' % (what, rss // MiB))
        check(time.monotonic() - t0 < 10, '%s: took %.1f s' % (what, time.monotonic() - t0))

    # A 16-byte storage in a 3 GiB deflated record: only its 16 bytes are inflated.
    small = bomb(os.path.join(d, 'bomb_small_storage.pt'), 3 * GiB, 16)
    t0 = time.monotonic()
    rc, out, err, rss = run('tensors', '--json', small)
    if check(rc == 0, 'small storage in a 3 GiB record: exit %d %s' % (rc, err)):
        row = json.loads(out)[0]
        check(row['sha256'] == hashlib.sha256(bytes(16)).hexdigest() and row['shape'] == [16],
              'small storage in a 3 GiB record: %r' % row)
    check(0 < rss < 64 * MiB and time.monotonic() - t0 < 10,
          'small storage in a 3 GiB record: %d MiB, %.1f s' % (rss // MiB, time.monotonic() - t0))

    # 128 MiB at ~1000:1: refused by default, read with --max-inflated-bytes (the opt-in), the
    # bound moving to the byte.
    mid = bomb(os.path.join(d, 'bomb128m.pt'), 128 * MiB, 128 * MiB)
    rc, _, err, _ = run('tensors', '--json', mid)
    check(rc == 2, '128 MiB bomb without the option: exit %d %s' % (rc, err))
    bomb_error('128 MiB bomb', err, mid, 128 * MiB)
    rc, out, err, _ = run('tensors', '--json', '--max-inflated-bytes', '128MiB', mid)
    if check(rc == 0, '--max-inflated-bytes 128MiB: exit %d %s' % (rc, err)):
        check(json.loads(out)[0]['sha256'] == hashlib.sha256(bytes(128 * MiB)).hexdigest(),
              '--max-inflated-bytes 128MiB: wrong sha256')
    rc, _, err, _ = run('tensors', '--max-inflated-bytes', '134217727', mid)
    check(rc == 2 and 'would inflate to 134217728 bytes; allowed 134217727 bytes '
          '(Limits::zip.max_inflated_size)' in err and '--max-inflated-bytes' in err,
          '--max-inflated-bytes 134217727: exit %d %s' % (rc, err))
    rc, _, err, _ = run('info', '--max-inflated-bytes', '-1', mid)
    check(rc == 64 and 'negative' in err, '--max-inflated-bytes -1: exit %d %s' % (rc, err))

    # verify, allowed to, checks the CRC by streaming inflate: constant memory for a 256 MiB
    # record; a wrong CRC is found the same way.
    gig = bomb(os.path.join(d, 'bomb256m.pt'), 256 * MiB, 16)
    rc, out, err, rss = run('verify', '--max-inflated-bytes', '256MiB', gig)
    check(rc == 0 and b'ok: ' in out, 'verify 256 MiB record: exit %d %s %s' % (rc, out, err))
    check(0 < rss < 64 * MiB, 'verify 256 MiB record: peak RSS %d MiB' % (rss // MiB))
    bad = bomb(os.path.join(d, 'bomb_badcrc.pt'), 128 * MiB, 16, crc=0x12345678)
    rc, out, err, rss = run('verify', '--max-inflated-bytes', '1GiB', bad)
    check(rc == 1 and b'archive/data/0' in out and b'CRC-32' in out and b'12345678' in out,
          'verify of a wrong CRC: exit %d %s %s' % (rc, out, err))
    check(0 < rss < 64 * MiB, 'verify 128 MiB record: peak RSS %d MiB' % (rss // MiB))
    for p in (big, small, mid, gig, bad):
        os.unlink(p)


def archive_budget(d):
    """Many deflated records, each within the per-record bounds (64 MiB of zeros: not above the
    ratio check's 64 MiB floor), adding up past the per-archive budget (1 GiB for a file this
    small): refused naming the file, the record, the budget, and the opt-in."""
    n = 17
    pkl_buf = __import__('io').BytesIO()
    _Pickler(pkl_buf, protocol=2).dump(
        {'t%d' % i: _Tensor(_Storage(str(i), 64 * MiB)) for i in range(n)})
    pkl = pkl_buf.getvalue()
    stream, crc = deflated_zeros(64 * MiB), zeros_crc(64 * MiB)
    path = os.path.join(d, 'many_records.pt')
    write_zip(path, [('archive/data.pkl', pkl, 0, len(pkl), zlib.crc32(pkl)),
                     ('archive/byteorder', b'little', 0, 6, zlib.crc32(b'little'))] +
              [('archive/data/%d' % i, stream, 8, 64 * MiB, crc) for i in range(n)] +
              [('archive/version', b'3\n', 0, 2, zlib.crc32(b'3\n'))])
    check(os.path.getsize(path) < 2 * MiB, 'many_records.pt is %d bytes' % os.path.getsize(path))
    for args in (['info', path], ['tensors', '--json', path]):
        rc, out, err, rss = run(*args)
        text = out.decode() + err
        what = 'many deflated records: ptio ' + args[0]
        check(rc == 2 and 'budget is 1073741824 bytes (Limits::zip.max_inflated_total' in text and
              re.search(path + r': archive/data/\d+ @ ', text) is not None and
              '--max-inflated-bytes' in text, '%s: exit %d %s' % (what, rc, text))
        check(0 < rss < 1200 * MiB, '%s: peak RSS %d MiB' % (what, rss // MiB))
    # verify streams every record in constant memory: not charged, every CRC right.
    rc, out, err, rss = run('verify', path)
    check(rc == 0 and 0 < rss < 64 * MiB,
          'many deflated records: verify exit %d, %d MiB %s %s' % (rc, rss // MiB, out, err))
    os.unlink(path)
    # A real torch.jit.save archive (code and debug records deflated) still loads.
    jit = os.path.join(d, 'scripted.pt')
    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())),
                   jit)
    rc, out, err, _ = run('show', jit)
    check(rc == 0 and b'Linear' in out,
          'torch.jit.save output: show exit %d %s %s' % (rc, out, err))


# ---- expanded views ----------------------------------------------------------------------

def expanded(d):
    square = os.path.join(d, 'square.pt')  # [1e6, 1e6] of one element: 4e12 bytes as a copy
    torch.save({'x': torch.zeros(1, 1).expand(10**6, 10**6), 'w': torch.arange(3.0)}, square)
    rc, out, err, _ = run('tensors', square)
    check(rc == 0 and b'[1000000, 1000000]' in out and b'w ' in out,
          'plain tensors of an expanded view: exit %d %s %s' % (rc, out, err))
    rc, _, err, _ = run('tensors', '--json', square)  # sha256 reads the elements: charged
    check(rc == 2 and '--max-expanded-bytes' in err and '4000000000000' in err,
          'tensors --json of an expanded view: exit %d %s' % (rc, err))

    zeros = os.path.join(d, 'zeros.pt')
    ones = os.path.join(d, 'ones.pt')
    torch.save({'w': torch.ones(3), 'x': torch.zeros(1).expand(10**9)}, zeros)
    torch.save({'w': torch.ones(3), 'x': torch.ones(1).expand(10**9)}, ones)
    t0 = time.monotonic()
    rc, out, err, rss = run('diff', '--json', zeros, zeros)
    if check(rc == 0, 'diff X X of a [1e9] expanded view: exit %d %s' % (rc, err)):
        x = [t for t in json.loads(out)['tensors'] if t['name'] == 'x'][0]
        check(x['status'] == 'equal' and x['mismatched'] == 0 and x['numel'] == 10**9,
              'diff X X: %r' % x)
    rc, out, err, _ = run('diff', '--json', zeros, ones)
    if check(rc == 1, 'diff zeros ones (expanded): exit %d %s' % (rc, err)):
        x = [t for t in json.loads(out)['tensors'] if t['name'] == 'x'][0]
        check(x['status'] == 'different' and x['mismatched'] == 10**9 and
              x['max_abs_diff'] == 1.0 and x['max_rel_diff'] == 1.0, 'diff zeros ones: %r' % x)
    check(time.monotonic() - t0 < 20 and 0 < rss < 64 * MiB,
          'diff of expanded views: %.1f s, %d MiB' % (time.monotonic() - t0, rss // MiB))
    # Expanded on one side only: the expansion is read, so it is charged (and can be raised).
    one = os.path.join(d, 'one_side.pt')
    full = os.path.join(d, 'full.pt')
    torch.save({'x': torch.zeros(1).expand(10**6)}, one)
    torch.save({'x': torch.zeros(10**6)}, full)
    rc, _, err, _ = run('diff', one, full, '--max-expanded-bytes', '1000')
    check(rc == 2 and err.startswith('ptio: error: ' + one) and '--max-expanded-bytes' in err,
          'diff with one side expanded over the bound: exit %d %s' % (rc, err))
    rc, _, err, _ = run('diff', one, full)
    check(rc == 0, 'diff with one side expanded: exit %d %s' % (rc, err))

    # 2^62 float32 elements = 2^64 bytes: the byte count wrapped to 0, the view was charged nothing,
    # `cat` segfaulted and convert wrote a safetensors header with data_offsets [0, 0] (new-user
    # trial). Every command that reads all its elements refuses it now; nothing is written. Plain
    # `cat` reads the 36 it prints (charged those), and prints what PyTorch prints.
    wrap = os.path.join(d, 'wrap.pt')
    wrapped = torch.zeros(4).as_strided((2**31, 2**31), (0, 0))
    torch.save({'x': wrapped}, wrap)
    rc, out, err, _ = run('cat', wrap, 'x', timeout=60)
    check(rc == 0 and out.decode() == repr(wrapped) + '\n',
          'cat of a 2^64-byte expanded view: exit %d %s %r' % (rc, err, out[:200]))
    for args in (('cat', '--full', wrap, 'x'), ('cat', '--json', wrap, 'x'),
                 ('tensors', '--stats', wrap),
                 ('tensors', '--json', wrap), ('show', '--json', wrap),
                 ('convert', wrap, os.path.join(d, 'wrap.safetensors')),
                 ('convert', wrap, os.path.join(d, 'wrap.npz'))):
        rc, _, err, _ = run(*args, timeout=60)
        check(rc == 2 and '--max-expanded-bytes' in err,
              '%s of a 2^64-byte expanded view: exit %d %s' % (' '.join(args[:1]), rc, err))
    check(not os.path.exists(os.path.join(d, 'wrap.safetensors')) and
          not os.path.exists(os.path.join(d, 'wrap.npz')), '2^64-byte view: an output was written')
    # Sizes past 2^64 - 1 wrapped silently; a negative --depth was "over the maximum".
    rc, _, err, _ = run('tensors', '--json', full, '--max-expanded-bytes', '99999999999999999999999')
    check(rc == 64 and 'larger than 2^64' in err, 'huge size: exit %d %s' % (rc, err))
    rc, _, err, _ = run('tensors', '--json', full, '--max-expanded-bytes', '1.5GiB')
    check(rc == 64 and 'is not a size' in err, 'fractional size: exit %d %s' % (rc, err))
    rc, _, err, _ = run('show', full, '--depth', '-1')
    check(rc == 64 and 'negative' in err, 'show --depth -1: exit %d %s' % (rc, err))
    # A closed stdout pipe is an output failure (exit 4), not death by SIGPIPE (141). The read end
    # is closed before ptio starts: closed after, a listing that fits in the pipe's buffer could
    # be written before the close, and exit 0 (a race that failed this check once).
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.Popen([PTIO, 'tensors', full], stdout=w, stderr=subprocess.PIPE)
    finally:
        os.close(w)
    p.communicate(timeout=60)
    check(p.returncode == 4, 'closed stdout pipe: exit %d' % p.returncode)


# ---- streamed sha256 and statistics -------------------------------------------------------

def streamed(d):
    path = os.path.join(d, 'big.pt')
    g = torch.Generator().manual_seed(7)
    big = torch.randn(75 * 10**6, generator=g)  # 300 MB of float32
    strided = torch.randn(2000, 3000, generator=g).t()  # a transposed (strided) view
    torch.save({'big': big, 'strided': strided}, path)
    want = {'big': hashlib.sha256(big.contiguous().numpy().tobytes()).hexdigest(),
            'strided': hashlib.sha256(strided.contiguous().numpy().tobytes()).hexdigest()}
    lo, hi = big.min().item(), big.max().item()
    del big, strided
    rc, out, err, rss = run('tensors', '--json', path)
    if check(rc == 0, 'tensors --json of 300 MB: exit %d %s' % (rc, err)):
        got = {r['path']: r['sha256'] for r in json.loads(out)}
        check(got == want, 'sha256 differs from hashlib over PyTorch bytes: %r vs %r' % (got, want))
    check(0 < rss < 100 * MiB, 'tensors --json of a 300 MB tensor: peak RSS %d MiB' % (rss // MiB))
    rc, out, err, rss = run('tensors', '--json', '--stats', '--filter', 'big', path)
    if check(rc == 0, 'tensors --stats of 300 MB: exit %d %s' % (rc, err)):
        s = json.loads(out)[0]['stats']
        check(s['min'] == lo and s['max'] == hi and s['nan'] == 0 and abs(s['mean']) < 1e-3 and
              abs(s['std'] - 1) < 1e-3, 'tensors --stats of 300 MB: %r' % s)
    check(0 < rss < 100 * MiB, 'tensors --stats of a 300 MB tensor: peak RSS %d MiB' % (rss // MiB))
    return path


# ---- input truncated under convert -------------------------------------------------------

def leftovers(d):
    return sorted(n for n in os.listdir(d) if '.tmp.' in n)


def truncated_input(d, src):
    out = os.path.join(d, 'out.pt')
    with open(out, 'w') as f:
        f.write('original')
    caught = False
    for attempt in range(5):
        work = os.path.join(d, 'in.pt')
        subprocess.run(['cp', src, work], check=True)
        p = subprocess.Popen([PTIO, 'convert', work, out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        tmp = []
        while p.poll() is None and time.monotonic() < deadline:
            tmp = leftovers(d)
            if tmp and os.path.getsize(os.path.join(d, tmp[0])) > MiB:
                break
            time.sleep(0.002)
        if p.poll() is not None or not tmp:
            p.wait()
            continue  # finished before it was seen mid-write: try again
        p.send_signal(signal.SIGSTOP)
        alive = p.poll() is None
        os.truncate(work, 4096)  # another process cuts the input under the mapping
        p.send_signal(signal.SIGCONT)
        _, err = p.communicate(timeout=60)
        err = err.decode('utf-8', 'replace')
        if not alive:
            continue
        caught = True
        check(p.returncode == 2, 'truncated input: exit %d, want 2 (%s)' % (p.returncode, err))
        check(err.startswith('ptio: error: ') and err.count('\n') == 1 and
              ('changed while it was read' in err or 'truncated' in err),
              'truncated input: no clear one-line error: %r' % err)
        check(leftovers(d) == [], 'truncated input: temporary left behind: %s' % leftovers(d))
        check(open(out).read() == 'original', 'truncated input: OUT was touched')
        break
    check(caught, 'convert never seen mid-write in 5 attempts')
    for n in leftovers(d):
        os.unlink(os.path.join(d, n))


def main():
    with tempfile.TemporaryDirectory() as d:
        bombs(d)
        archive_budget(d)
        expanded(d)
        src = streamed(d)
        truncated_input(d, src)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
