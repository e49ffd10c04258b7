#!/usr/bin/env python3
# Runs `ptio tensors --json` on every corpus file of one origin and compares it with the listing
# PyTorch 1.13 recorded in expected/<origin>/<file>.json. Usage: run_corpus.py ORIGIN
# Files torch.load could not read, and TorchScript/mobile archives (issue #5, ptio::jit::load), are
# skipped with the reason printed; malicious files must not crash ptio (exit 0 or 2, no signal).
import json
import os
import subprocess
import sys

SHARED = os.environ['PTIO_SHARED']
PTIO = os.environ['PTIO_BIN']
CORPUS = os.path.join(SHARED, 'corpus')
FIELDS = ('path', 'dtype', 'shape', 'strides', 'storage_offset', 'requires_grad', 'sha256')


def rows(origin):
    with open(os.path.join(CORPUS, 'MANIFEST.tsv')) as f:
        header = f.readline().rstrip('\n').split('\t')
        for line in f:
            r = dict(zip(header, line.rstrip('\n').split('\t')))
            if r['file'].split('/', 1)[0] == origin:
                yield r


def compare(expected, got):
    out = []
    if len(expected) != len(got):
        out.append('tensor count: torch %d, ptio %d' % (len(expected), len(got)))
    for e, g in zip(expected, got):
        for k in FIELDS:
            if k in e and e[k] != g.get(k):
                out.append('%s: %s torch=%r ptio=%r' % (e.get('path'), k, e[k], g.get(k)))
    return out


def main():
    origin = sys.argv[1]
    passed, skipped, failed = [], [], []
    for r in rows(origin):
        name, kind = r['file'], r['kind']
        path = os.path.join(CORPUS, name)
        exp = json.load(open(os.path.join(CORPUS, 'expected', name + '.json')))
        ok = [a for a in exp.get('attempts', []) if a.get('ok') and a['function'].startswith('torch.load')]
        p = subprocess.run([PTIO, 'tensors', '--json', path], capture_output=True, timeout=120)
        if p.returncode < 0 or p.returncode not in (0, 2):
            failed.append('%s: ptio exited with %d: %s' % (name, p.returncode, p.stderr[-500:]))
            continue
        if kind in ('torchscript', 'mobile-ptl'):
            skipped.append('%s: %s archive, needs ptio::jit::load (issue #5)' % (name, kind))
            continue
        if not ok:
            why = '; '.join('%s: %s' % (a['function'], a.get('exception_message', '')[:80])
                            for a in exp.get('attempts', []))
            skipped.append('%s: torch.load failed in 1.13, nothing to compare (%s); ptio exit %d: %s'
                           % (name, why, p.returncode, p.stderr.decode('utf-8', 'replace').strip()[:150]))
            continue
        if p.returncode != 0:
            failed.append('%s: torch.load read it but ptio failed: %s' % (name, p.stderr.decode()))
            continue
        diffs = compare(ok[0]['tensors'], json.loads(p.stdout))
        if diffs:
            failed.append('%s: %s' % (name, '; '.join(diffs[:8])))
        else:
            passed.append(name)
    for s in skipped:
        print('SKIP', s)
    for s in passed:
        print('PASS', s)
    for s in failed:
        print('FAIL', s)
    print('%s: %d passed, %d skipped, %d failed' % (origin, len(passed), len(skipped), len(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
