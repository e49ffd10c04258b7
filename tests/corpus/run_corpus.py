#!/usr/bin/env python3
# Runs `ptio tensors --json` on every corpus file of one origin and compares it with the listing
# PyTorch 1.13 recorded in expected/<origin>/<file>.json. Usage: run_corpus.py ORIGIN
# Files torch.load could not read are skipped with the reason printed; malicious files must not
# crash ptio (exit 0 or 2, no signal). TorchScript and mobile archives go through ptio::jit::load:
# their state_dict must equal torch.jit.load's (expected paths carry a `module.` prefix); files
# PyTorch could not load (missing ops, legacy layout) must still load in ptio, and their record
# listing and extra files are compared with what the expected JSON recorded.
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


def check_jit(name, path, exp, p, passed, failed):
    if p.returncode != 0:
        failed.append('%s: ptio::jit::load failed: %s' % (name, p.stderr.decode('utf-8', 'replace')))
        return
    jit_ok = [a for a in exp.get('attempts', []) if a.get('ok') and a['function'] == 'torch.jit.load']
    if jit_ok:
        got = json.loads(p.stdout)
        for g in got:
            g['path'] = 'module.' + g['path']
        diffs = compare(jit_ok[0]['tensors'], got)
        if diffs:
            failed.append('%s: %s' % (name, '; '.join(diffs[:8])))
        else:
            passed.append(name)
        return
    # PyTorch could not load it (missing ops or the legacy layout): nothing needs an op here.
    q = subprocess.run([PTIO, 'info', '--json', path], capture_output=True, timeout=120)
    if q.returncode != 0:
        failed.append('%s: ptio info failed: %s' % (name, q.stderr.decode('utf-8', 'replace')))
        return
    info = json.loads(q.stdout)
    mod = info.get('module', {})
    diffs = []
    cd = exp.get('container_details', {})
    if 'zip_entries' in cd and mod.get('archive', {}).get('records') not in (
            cd['zip_entries'], cd['zip_entries'] - 1):  # ptio omits the folder's own entry
        diffs.append('records: expected %s, ptio %s' % (cd['zip_entries'],
                                                        mod.get('archive', {}).get('records')))
    if sorted(mod.get('extra_files', [])) != sorted(exp.get('extra_files', [])):
        diffs.append('extra files %r != %r' % (mod.get('extra_files'), exp.get('extra_files')))
    # A legacy file whose model was re-saved later (same name, another commit) that PyTorch did
    # load: the tensors with the same names must be equal (attributes included: --all).
    base = os.path.basename(name).split('.')[0]
    folder = os.path.dirname(path)
    for sib in sorted(os.listdir(folder)):
        if sib.split('.')[0] != base or sib == os.path.basename(name):
            continue
        sexp = os.path.join(CORPUS, 'expected', os.path.dirname(name), sib + '.json')
        if not os.path.exists(sexp):
            continue
        sok = [a for a in json.load(open(sexp)).get('attempts', [])
               if a.get('ok') and a['function'] == 'torch.jit.load']
        if not sok or not sok[0]['tensors']:
            continue
        a = subprocess.run([PTIO, 'tensors', '--json', '--all', path], capture_output=True,
                           timeout=120)
        mine = {t['path']: t for t in json.loads(a.stdout)} if a.returncode == 0 else {}
        for t in sok[0]['tensors']:
            m = mine.get(t['path'][len('module.'):])
            if m is None or m.get('sha256') != t['sha256'] or m.get('shape') != t['shape']:
                diffs.append('%s differs from %s (re-saved sibling)' % (t['path'], sib))
            else:
                info.setdefault('sibling_matches', []).append('%s=%s' % (t['path'], sib))
    why = '; '.join(a.get('exception_message', '').strip().split('\n')[0][:80]
                    for a in exp.get('attempts', []) if not a.get('ok'))
    if diffs:
        failed.append('%s: %s' % (name, '; '.join(diffs)))
    else:
        passed.append('%s (torch.jit.load failed in 1.13: %s; ptio loaded %s, %d tensors%s)'
                      % (name, why, mod.get('class'), len(json.loads(p.stdout)),
                         '; equal to ' + ', '.join(info['sibling_matches'])
                         if info.get('sibling_matches') else ''))


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
            check_jit(name, path, exp, p, passed, failed)
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
