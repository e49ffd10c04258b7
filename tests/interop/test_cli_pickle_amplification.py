#!/usr/bin/env python3
# Memory amplification through pickles (a new-user trial of session 7): a 60 KB zip whose
# data.pkl is deflated and inflates to 60 MiB of NONE opcodes passed every bound (the record is
# under the zip layer's 64 MiB ratio floor, and the pickle's allocation budget was counted from
# the *inflated* size), so `ptio tensors`/`show` built a 1.1 GB stack and `scan` 2.2 GB. Now a
# pickle inflated from a deflated record counts at most Limits::pickle.alloc_inflate_ratio (16)
# input bytes per compressed byte, and the scan's symbolic VM keeps the same budget:
#  - floods of cheap one-byte pushes (NONE, EMPTY_LIST, MEMOIZE) in a deflated data.pkl, in a
#    TorchScript archive's deflated constants.pkl, and three such records in one file: the
#    loading commands exit 2 with kPickleAllocationLimit naming the file, the record and the
#    offset; `scan` reports the file as suspicious (exit 1) with the limit as a finding; every
#    command's peak RSS (GNU time's) stays far below the 1.1 GB of before;
#  - a BINPUT flood to one memo index (which sized the memo for millions of slots) loads in
#    bounded memory;
#  - a real torch.save checkpoint of 20,000 tensors whose data.pkl was deflated by re-zipping
#    (zipfile ZIP_DEFLATED, level 9) still loads with PyTorch's values (sha256 of every tensor),
#    and so does a small, highly compressible pickle (a list of 500,000 zeros).
import os
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
FLOOD = 60 << 20  # opcodes: the trial's 60 MiB data.pkl
# Peak RSS allowed for one command on a 60 KB bomb. The budget is 64 MiB + 64 x 16 x the
# compressed bytes (~124 MiB) plus the 60 MiB inflated record and the binary; before the fix
# these runs took 1.1-2.2 GB. A sanitizer build's shadow memory is not held to it.
MAX_RSS = 512 << 20
check = ptio_interop.Checks()  # check(cond, what); check.finish()


sanitized = ptio_interop.sanitized

run = ptio_interop.run_with_rss  # (exit code, stdout, stderr, peak RSS in bytes)


def pk(body, proto=2):
    return bytes([0x80, proto]) + body + b'.'


def deflated_zip(path, records):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in records:
            z.writestr(name, data)


def rezip(src, dst):
    with zipfile.ZipFile(src) as z:
        deflated_zip(dst, [(i.filename, z.read(i.filename)) for i in z.infolist()])


def bombs(d):
    none = pk(b'N' * FLOOD)
    cases = {
        'none.pt': [('archive/data.pkl', none), ('archive/version', b'3\n')],
        'elist.pt': [('archive/data.pkl', pk(b']' * FLOOD)), ('archive/version', b'3\n')],
        'memoize.pt': [('archive/data.pkl', pk(b'N' + b'\x94' * FLOOD, 4)),
                       ('archive/version', b'3\n')],
        # Three flooded pickle records: `scan` reads every one (nbomb3.pt of the trial).
        'three.pt': [('archive/data.pkl', pk(b'}'))] +
                    [('archive/x%d.pkl' % i, none) for i in range(3)] +
                    [('archive/version', b'3\n')],
    }
    for name, records in cases.items():
        path = os.path.join(d, name)
        deflated_zip(path, records)
        check(os.path.getsize(path) < 200_000, '%s is %d bytes' % (name, os.path.getsize(path)))

    # A real TorchScript archive whose constants.pkl is replaced by a deflated flood.
    class M(torch.nn.Module):
        def forward(self, x):
            return x + 1
    ts = os.path.join(d, 'ts_src.pt')
    torch.jit.save(torch.jit.script(M()), ts)
    with zipfile.ZipFile(ts) as z:
        recs = [(i.filename, none if i.filename.endswith('/constants.pkl') else z.read(i.filename))
                for i in z.infolist()]
    deflated_zip(os.path.join(d, 'ts_constants.pt'), recs)

    record = {'none.pt': 'archive/data.pkl', 'elist.pt': 'archive/data.pkl',
              'memoize.pt': 'archive/data.pkl', 'ts_constants.pt': 'constants.pkl'}
    for name, rec in record.items():
        path = os.path.join(d, name)
        for cmd in ('tensors', 'show', 'info', 'verify'):
            code, out, err, rss = run(cmd, path)
            what = '%s %s' % (cmd, name)
            check(rss < MAX_RSS or sanitized(), '%s: peak RSS %d MiB' % (what, rss >> 20))
            if cmd == 'verify':  # CRCs only: it runs no pickle
                check(code == 0, '%s: exit %d (%s)' % (what, code, err[-300:]))
                continue
            if cmd == 'info':  # says what the file is, and the load error, on stdout
                text = out.decode('utf-8', 'replace')
                check(code == 2 and 'allocation limit of' in text and rec in text,
                      '%s: exit %d, want 2 with the limit: %s' % (what, code, text[-400:]))
                continue
            check(code == 2, '%s: exit %d, want 2 (%s)' % (what, code, err[-300:]))
            check(err.startswith('ptio: error: ' + path + ': ') and rec in err and ' @ ' in err,
                  '%s: file, record and offset not named: %s' % (what, err[-400:]))
            check('allocation limit of' in err and 'Limits::pickle.alloc_' in err and
                  'compressed bytes' in err,
                  '%s: not the allocation limit of a deflated pickle: %s' % (what, err[-400:]))

    for name in ('none.pt', 'elist.pt', 'memoize.pt', 'three.pt'):
        code, out, err, rss = run('scan', path := os.path.join(d, name))
        text = out.decode('utf-8', 'replace')
        check(code == 1, 'scan %s: exit %d, want 1 (suspicious): %s %s' % (name, code, text[-300:],
                                                                          err[-300:]))
        check('allocation limit of' in text and 'Limits::pickle.alloc_' in text,
              'scan %s: the limit is no finding: %s' % (name, text[-600:]))
        check(rss < MAX_RSS or sanitized(), 'scan %s: peak RSS %d MiB' % (name, rss >> 20))
        del path


def memo_flood(d):
    # BINPUT 0, 30 million times: one memo entry, not a memo sized for 30 million.
    path = os.path.join(d, 'binput.pt')
    deflated_zip(path, [('archive/data.pkl', pk(b'N' + b'q\x00' * (FLOOD // 2))),
                        ('archive/version', b'3\n')])
    code, out, err, rss = run('show', path)
    check(code == 0 and out.strip() == b'None', 'show binput.pt: exit %d %r %s' %
          (code, out[:100], err[-300:]))
    check(rss < MAX_RSS or sanitized(), 'show binput.pt: peak RSS %d MiB' % (rss >> 20))


def legitimate(d):
    sd = {'layer%d.weight' % i: torch.full((2,), float(i)) for i in range(20000)}
    sd['big'] = torch.arange(1000, dtype=torch.float64)
    src = os.path.join(d, 'sd20k.pt')
    torch.save(sd, src)
    dst = os.path.join(d, 'sd20k_deflated.pt')
    rezip(src, dst)
    with zipfile.ZipFile(dst) as z:
        info = [i for i in z.infolist() if i.filename.endswith('data.pkl')][0]
        check(info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 1_000_000 and
              info.file_size > 3 * info.compress_size,
              'sd20k_deflated.pt: data.pkl not deflated as expected: %r' % info)
    expected = ptio_interop.torch_listing(torch.load(dst))
    try:
        got = ptio_interop.ptio_listing(dst)
        diffs = ptio_interop.diff_listings(expected, got)
        check(not diffs, 'sd20k_deflated.pt: %s' % diffs[:5])
    except RuntimeError as e:
        check(False, str(e))

    # A small pickle that deflates ~250x: the base of the budget covers it.
    zeros = os.path.join(d, 'zeros.pt')
    torch.save({'zeros': [0] * 500_000, 'w': torch.ones(3)}, zeros)
    zz = os.path.join(d, 'zeros_deflated.pt')
    rezip(zeros, zz)
    code, out, err, rss = run('tensors', zz)
    check(code == 0 and b'w' in out, 'tensors zeros_deflated.pt: exit %d %s' % (code, err))
    code, out, err, rss = run('scan', zz)
    check(code == 0, 'scan zeros_deflated.pt: exit %d %s %s' % (code, out[-300:], err))


def main():
    with tempfile.TemporaryDirectory() as d:
        legitimate(d)
        memo_flood(d)
        bombs(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
