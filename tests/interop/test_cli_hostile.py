#!/usr/bin/env python3
# Hostile and awkward input to the ptio CLI (issue #8's standard: a clear coded error naming the
# file, never a crash, a hang, unbounded memory or a half-written file), on files written here by
# real PyTorch:
#  - expanded (stride-0) views: a tiny file declaring [1e9] or [1e6, 1e6] elements is refused by
#    every command that would materialise it (tensors --json/--stats, cat --json, convert to
#    safetensors/npz, show --json; diff and plain tensors: test_cli_bounds.py), naming the file,
#    the tensor and needed vs allowed bytes; a legitimately expanded tensor keeps PyTorch's sha256
#    and converts; --max-expanded-bytes moves the bound to the byte;
#  - SIGINT/SIGTERM/SIGHUP during `ptio convert` leave no `<out>.tmp.XXXXXX` and OUT untouched,
#    and ptio dies of the signal;
#  - `show` on a damaged zip gives the diagnosis `tensors` gives; `show` on a zip whose data.pkl
#    calls os.system shows it (inspection) without running it;
#  - `scan` of a zip without pickles is "nothing to scan" (exit 2), not "safe"; `scan` resumes
#    after garbage between a legacy file's pickles and finds the exploit behind it.
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = os.path.abspath(ptio_interop.PTIO_BIN) if os.sep in ptio_interop.PTIO_BIN else \
    ptio_interop.PTIO_BIN
check = ptio_interop.Checks()  # check(cond, what); check.finish()


def run(*args, timeout=60):
    try:
        return subprocess.run([PTIO, *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # the old behaviour: grinding through 1e9 elements
        return subprocess.CompletedProcess(args, -1, b'', b'timed out after %d s' % timeout)


def leftovers(d):
    return sorted(n for n in os.listdir(d) if '.tmp.' in n)


def expanded_views(d):
    huge = os.path.join(d, 'huge.pt')  # 4 bytes of storage, 4e9 bytes of view
    torch.save({'w': torch.ones(3), 'x': torch.zeros(1).expand(10**9)}, huge)
    square = os.path.join(d, 'square.pt')  # [1e6, 1e6]: 4e12 bytes ("out of memory" before)
    torch.save({'x': torch.zeros(1, 1).expand(10**6, 10**6)}, square)
    check(os.path.getsize(huge) < 4096, 'huge.pt is not tiny')
    cases = [
        (['tensors', '--json', huge], huge, 4 * 10**9),
        (['tensors', '--stats', huge], huge, 4 * 10**9),
        (['tensors', '--stats', square], square, 4 * 10**12),
        (['cat', '--json', huge, 'x'], huge, 4 * 10**9),
        (['cat', '--full', huge, 'x'], huge, 4 * 10**9),
        (['show', '--json', huge], huge, 4 * 10**9),
        (['convert', huge, os.path.join(d, 'o.safetensors')], huge, 4 * 10**9),
        (['convert', huge, os.path.join(d, 'o.npz')], huge, 4 * 10**9),
        (['convert', square, os.path.join(d, 'o2.npz')], square, 4 * 10**12),
    ]
    for args, f, need in cases:
        t0 = time.monotonic()
        p = run(*args)
        err = p.stderr.decode('utf-8', 'replace')
        name = ' '.join(a if a not in (huge, square) else os.path.basename(a) for a in args)
        check(p.returncode == 2, '%s: exit %d (%s)' % (name, p.returncode, err))
        check(err.startswith('ptio: error: ' + f + ': '), '%s: file not named first: %s' %
              (name, err))
        check("tensor '" in err and str(need) in err and 'allowed 1073741828' in err,
              '%s: tensor, needed %d and allowed bytes not named: %s' % (name, need, err))
        check('--max-expanded-bytes' in err, '%s: no hint how to raise the bound: %s' %
              (name, err))
        check(time.monotonic() - t0 < 20, '%s: took %.1f s' % (name, time.monotonic() - t0))
    check(not os.path.exists(os.path.join(d, 'o.safetensors')) and
          not os.path.exists(os.path.join(d, 'o.npz')), 'a refused convert wrote its output')
    check(leftovers(d) == [], 'temporaries left: %s' % leftovers(d))
    # Plain `cat` reads (and is charged) only the 6 elements it prints: PyTorch's summary.
    p = run('cat', huge, 'x')
    check(p.returncode == 0 and p.stdout.decode() == repr(torch.zeros(1).expand(10**9)) + '\n',
          'cat huge.pt x: exit %d %s %r' % (p.returncode, p.stderr, p.stdout[:200]))
    # Listing what needs no element (a torch.save copy keeps the view as it is) still works.
    p = run('convert', huge, os.path.join(d, 'copy.pt'))
    check(p.returncode == 0, 'convert huge.pt copy.pt: %s' % p.stderr)

    # A legitimately expanded tensor (arange(4) as [4, 5], stride [1, 0]: 80 bytes from 16).
    small = os.path.join(d, 'expanded.pt')
    e = torch.arange(4.).reshape(4, 1).expand(4, 5)
    torch.save({'e': e}, small)
    want = ptio_interop.torch_listing(torch.load(small))
    got = ptio_interop.ptio_listing(small)
    check(ptio_interop.diff_listings(want, got) == [] and got[0].get('sha256'),
          'expanded sha256 differs from torch: %s' % ptio_interop.diff_listings(want, got))
    # The excess is 64 bytes: 64 allowed passes, 63 is refused; units are accepted.
    p = run('tensors', '--json', '--max-expanded-bytes', '64', small)
    check(p.returncode == 0, '--max-expanded-bytes 64: %s' % p.stderr)
    p = run('tensors', '--json', '--max-expanded-bytes', '63', small)
    err = p.stderr.decode()
    check(p.returncode == 2 and 'needs 80 bytes, allowed 79' in err,
          '--max-expanded-bytes 63: exit %d %s' % (p.returncode, err))
    out = os.path.join(d, 'e.npz')
    p = run('convert', '--max-expanded-bytes', '1KiB', small, out)
    check(p.returncode == 0, 'convert --max-expanded-bytes 1KiB: %s' % p.stderr)
    if p.returncode == 0:
        import numpy as np
        check(np.array_equal(np.load(out)['e'], e.numpy()), 'converted expanded values differ')


def big_checkpoint(path, mib):
    torch.save({'t%d' % i: torch.full((1 << 18,), float(i)) for i in range(mib)}, path)


def interrupt_convert(d):
    src = os.path.join(d, 'big.pt')
    big_checkpoint(src, 384)  # 384 MiB: the write takes long enough to be stopped mid-way
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_IGN:  # e.g. SIGHUP under nohup: ptio keeps it
            continue
        out = os.path.join(d, 'out.pt')
        with open(out, 'w') as f:
            f.write('original')
        caught = False
        for attempt in range(5):
            p = subprocess.Popen([PTIO, 'convert', src, out], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            # Wait for the temporary to hold bytes, freeze the process (so the signal surely
            # lands mid-write), queue the signal, thaw it.
            deadline = time.monotonic() + 60
            tmp = []
            while p.poll() is None and time.monotonic() < deadline:
                tmp = leftovers(d)
                if tmp and os.path.getsize(os.path.join(d, tmp[0])) > (1 << 20):
                    break
                time.sleep(0.002)
            if p.poll() is not None or not tmp:
                p.wait()
                continue  # finished before it was seen mid-write: try again
            p.send_signal(signal.SIGSTOP)
            alive = p.poll() is None and leftovers(d) != []
            p.send_signal(sig)
            p.send_signal(signal.SIGCONT)
            p.wait(timeout=60)
            if not alive:
                continue
            caught = True
            check(p.returncode == -sig, '%s: exit status %r, expected death by the signal' %
                  (sig.name, p.returncode))
            check(leftovers(d) == [], '%s: temporary left behind: %s' % (sig.name, leftovers(d)))
            check(open(out).read() == 'original', '%s: OUT was touched' % sig.name)
            break
        check(caught, '%s: convert never seen mid-write in 5 attempts' % sig.name)
        for n in leftovers(d):
            os.unlink(os.path.join(d, n))
    os.unlink(src)


def show_diagnosis(d):
    good = os.path.join(d, 'good.pt')
    torch.save({'a': torch.ones(2)}, good)
    data = bytearray(open(good, 'rb').read())
    # Bad central directory: its first entry's signature overwritten.
    cd = data.find(b'PK\x01\x02')
    data[cd:cd + 4] = b'XXXX'
    bad_cd = os.path.join(d, 'bad_cd.pt')
    open(bad_cd, 'wb').write(data)
    # A zip with no data.pkl (and nothing else PyTorch knows).
    nopkl = os.path.join(d, 'nopkl.pt')
    with zipfile.ZipFile(nopkl, 'w') as z:
        z.writestr('archive/notes.txt', 'hello')
    for f in (bad_cd, nopkl):
        s, t = run('show', f), run('tensors', f)
        check(s.returncode == 2 and s.stderr == t.stderr,
              'show %s: exit %d %r; tensors says %r' % (os.path.basename(f), s.returncode,
                                                         s.stderr, t.stderr))
        check(b'opcode' not in s.stderr and b'pickle' not in s.stderr.lower(),
              'show %s: a pickle error: %r' % (os.path.basename(f), s.stderr))

    # A torch.save zip whose data.pkl calls os.system: shown, never run.
    marker = os.path.join(d, 'ran')

    class Evil:
        def __reduce__(self):
            return (os.system, ('touch ' + marker,))
    evil = os.path.join(d, 'evil.pt')
    torch.save({'w': torch.ones(2), 'evil': Evil()}, evil)
    p = run('show', evil)
    out = p.stdout.decode()
    check(p.returncode == 0 and "system('touch " + marker + "')" in out,
          'show evil.pt: exit %d %r %r' % (p.returncode, out, p.stderr))
    p = run('show', '--json', evil)
    check(p.returncode == 0, 'show --json evil.pt: exit %d %r' % (p.returncode, p.stderr))
    if p.returncode == 0:
        doc = json.loads(p.stdout)
        vals = dict(doc['dict'])
        check(vals['evil'].get('global') in ('posix.system', 'os.system') and
              vals['evil'].get('args') == {'tuple': ['touch ' + marker]},
              'show --json evil.pt: %r' % vals['evil'])
    check(not os.path.exists(marker), 'os.system ran')


def scan_cases(d):
    plain = os.path.join(d, 'plain.zip')
    with zipfile.ZipFile(plain, 'w') as z:
        z.writestr('archive/readme.txt', 'hello')
        z.writestr('archive/data/0', b'\x00' * 16)
    p = run('scan', plain)
    err = p.stderr.decode()
    check(p.returncode == 2 and 'nothing to scan' in err and b'safe' not in p.stdout,
          'scan plain.zip: exit %d %r %r' % (p.returncode, p.stdout, err))

    # A legacy file with garbage after its first pickle and an exploit behind the garbage.
    legacy = os.path.join(d, 'legacy.pt')
    torch.save({'a': torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    data = open(legacy, 'rb').read()
    first_end = data.index(b'.') + 1  # the magic number pickle: PROTO, LONG1, STOP
    evil = b'\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.'
    garbage = b'\xff\xfe\xfd\xfc'
    hidden = os.path.join(d, 'hidden.pt')
    open(hidden, 'wb').write(data[:first_end] + garbage + evil + data[first_end:])
    p = run('scan', '--json', hidden)
    check(p.returncode == 1, 'scan hidden.pt: exit %d %r' % (p.returncode, p.stderr))
    if p.stdout:
        r = json.loads(p.stdout)
        g = [x for x in r['globals'] if x['module'] == 'posix']
        check(r['verdict'] == 'dangerous' and len(g) == 1 and
              g[0]['offset'] == first_end + len(garbage) + 2,
              'scan hidden.pt: exploit after the garbage not found: %r' % r)
        check(any(f['severity'] == 'suspicious' and f['offset'] == first_end
                  for f in r['findings']), 'scan hidden.pt: the garbage is no finding: %r' %
              r['findings'])


def new_user_findings(d):
    """Found by a new-user trial: extract over its own input, output lost on a full device, a
    negative --max-expanded-bytes that wrapped to no limit at all."""
    sd = os.path.join(d, 'sd.pt')
    torch.save({'w': torch.arange(6.0)}, sd)
    before = open(sd, 'rb').read()
    r = run('extract', sd, 'data.pkl', '-o', sd)
    check(r.returncode == 64, 'extract -o INPUT: exit %d, want 64' % r.returncode)
    check(b'is the input archive itself' in r.stderr, 'extract -o INPUT: %r' % r.stderr)
    check(open(sd, 'rb').read() == before, 'extract -o INPUT changed the archive')
    out = os.path.join(d, 'rec.pkl')
    r = run('extract', sd, 'data.pkl', '-o', out)
    check(r.returncode == 0 and os.path.getsize(out) > 0, 'extract -o OUT: %r' % r.stderr)
    if os.path.exists('/dev/full'):
        for args in (['tensors', sd], ['info', sd], ['ls', sd, '--json'], ['show', sd]):
            with open('/dev/full', 'wb') as full:
                p = subprocess.run([PTIO, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
            check(p.returncode == 4 and b'cannot write to standard output' in p.stderr,
                  '%s > /dev/full: exit %d %r' % (' '.join(args[:1]), p.returncode, p.stderr))
    for bad in ('-5', '-1GiB'):
        r = run('tensors', sd, '--max-expanded-bytes', bad)
        check(r.returncode == 64 and b'negative' in r.stderr,
              '--max-expanded-bytes %s: exit %d %r' % (bad, r.returncode, r.stderr))
    r = run('tensors', sd, '--max-expanded-bytes', '5MiB')
    check(r.returncode == 0, '--max-expanded-bytes 5MiB: exit %d' % r.returncode)


def main():
    with tempfile.TemporaryDirectory() as d:
        new_user_findings(d)
        expanded_views(d)
        show_diagnosis(d)
        scan_cases(d)
        interrupt_convert(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
