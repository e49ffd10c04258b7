# `ptio scan` has no false positives on PyTorch's own files: every non-malicious corpus file
# (torch.save zip/legacy, TorchScript, mobile .ptl, other real checkpoints) and files PyTorch 1.13
# writes now (state dicts in every format and protocol, numpy values, quantized/sparse tensors,
# scripted modules, lite-interpreter archives) scan as safe. `torch.save(model)` pickles the
# model's classes: that is "suspicious" (unknown globals), never "dangerous".
import csv
import json
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import torch

PTIO_BIN = os.environ.get('PTIO_BIN', 'ptio')
_HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('PTIO_SHARED') or os.path.join(_HERE, '..', '..', '..', 'shared')
CORPUS = os.path.join(SHARED, 'corpus')

# Corpus files that are not "safe", and why (a full pickled model names its Python classes).
EXPECTED_NOT_SAFE = {
    # Not pickles: no pickle completes, no global, only the parse error: nothing to scan (exit 2,
    # as for text or garbage starting with a byte that is no opcode).
    'burn/broken.pt': 'unreadable',               # 3 bytes 'abc': APPEND on an empty stack
    'fickling/a-file.pickle': 'dangerous',        # fickling's PoC: posix.system (the manifest
                                                  # files it under `other`, but it is an exploit)
    'pickle_jl/csr_mat.pkl': 'suspicious',        # scipy.sparse.csr_matrix: not a PyTorch file
    'picklescan/bad_pytorch.pt': 'unreadable',    # a PNG header (unknown opcode 0x1a)
    'picklescan/broken_model.pkl': 'dangerous',   # builtins.exec, then a truncated string
    'picklescan/not_a_pickle.bin': 'suspicious',  # text that only starts like a pickle
    # A zip holding only test.txt (encrypted): no pickle, so nothing to scan (exit 2), not "safe".
    'picklescan/benign_password_protected.zip': 'unreadable',
}


def scan(path):
    p = subprocess.run([PTIO_BIN, 'scan', '--json', path], capture_output=True, timeout=300)
    if p.returncode == 2:
        return {'verdict': 'unreadable', 'error': p.stderr.decode('utf-8', 'replace'),
                'globals': [], 'findings': []}
    r = json.loads(p.stdout)
    want = 0 if r['verdict'] == 'safe' else 1
    assert p.returncode == want, '%s: exit %d for verdict %s' % (path, p.returncode, r['verdict'])
    return r


def summary(r):
    bad = sorted({'%s.%s (%s)' % (g['module'], g['name'], g['class']) for g in r['globals']
                  if g['class'] != 'allowed'})
    msgs = [f['message'] for f in r['findings'] if f['severity'] != 'note']
    return '%s: globals %s findings %s %s' % (r['verdict'], bad, msgs, r.get('error', ''))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.bn = torch.nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.fc(x))


def written_now(d):
    """Files PyTorch writes at test time: name -> (path, expected verdict)."""
    torch.manual_seed(0)
    net = Net().eval()
    sd = net.state_dict()
    out = {}

    def save(name, obj, verdict='safe', **kw):
        p = os.path.join(d, name)
        torch.save(obj, p, **kw)
        out[name] = (p, verdict)

    save('state_dict.pt', sd)
    save('state_dict_legacy.pt', sd, _use_new_zipfile_serialization=False)
    save('state_dict_proto4.pt', sd, pickle_protocol=4)
    save('state_dict_legacy_proto4.pt', sd, _use_new_zipfile_serialization=False,
         pickle_protocol=4)
    save('values.pt', {'a': [1, 2.5, 'x', b'bytes', None, True, (1, 2)], 'set': {1, 2},
                       'cplx': 1 + 2j, 'size': torch.Size([2, 3]), 'dev': torch.device('cpu'),
                       'dtype': torch.float16, 'np': np.arange(6, dtype=np.float32).reshape(2, 3),
                       'np_scalar': np.float64(1.5), 'bytearray': bytearray(b'ab')})
    save('tensors.pt', {'q': torch.quantize_per_tensor(torch.rand(4), 0.1, 3, torch.quint8),
                        'sparse': torch.rand(3, 3).to_sparse(),
                        'half': torch.rand(2).half(), 'bf16': torch.rand(2).bfloat16(),
                        'param': torch.nn.Parameter(torch.rand(2)),
                        'view': torch.arange(10)[2:5], 'bool': torch.tensor([True])})
    save('optimizer.pt', torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9).state_dict())
    save('full_model.pt', net, 'suspicious')
    p = os.path.join(d, 'scripted.pt')
    torch.jit.script(net).save(p)
    out['scripted.pt'] = (p, 'safe')
    p = os.path.join(d, 'traced.pt')
    torch.jit.trace(net, torch.rand(4, 3)).save(p)
    out['traced.pt'] = (p, 'safe')
    p = os.path.join(d, 'lite.ptl')
    torch.jit.script(net)._save_for_lite_interpreter(p)
    out['lite.ptl'] = (p, 'safe')
    p = os.path.join(d, 'plain.pkl')
    with open(p, 'wb') as f:
        pickle.dump({'x': [1, 2, 3], 'y': {'z': 1.5}}, f, protocol=4)
    out['plain.pkl'] = (p, 'safe')
    return out


def main():
    with open(os.path.join(CORPUS, 'MANIFEST.tsv'), newline='') as f:
        rows = [r for r in csv.DictReader(f, delimiter='\t') if r['kind'] != 'malicious']
    failures, counts = [], {}
    for r in rows:
        path = os.path.join(CORPUS, r['file'])
        res = scan(path)
        counts[res['verdict']] = counts.get(res['verdict'], 0) + 1
        want = EXPECTED_NOT_SAFE.get(r['file'], 'safe')
        if res['verdict'] != want:
            failures.append('corpus %s (%s): %s' % (r['file'], r['kind'], summary(res)))
        elif res['verdict'] != 'safe':
            print('expected %s: %s' % (r['file'], summary(res)))
    print('corpus verdicts over %d non-malicious files: %s' % (len(rows), counts))

    with tempfile.TemporaryDirectory() as d:
        for name, (path, want) in written_now(d).items():
            res = scan(path)
            if res['verdict'] != want:
                failures.append('written now %s: expected %s, %s' % (name, want, summary(res)))
            if name == 'full_model.pt':
                unknown = {g['module'] + '.' + g['name'] for g in res['globals']
                           if g['class'] == 'unknown'}
                for cls in ('torch.nn.modules.linear.Linear', '__main__.Net'):
                    if cls not in unknown:
                        failures.append('full_model.pt: %s not reported unknown: %s' %
                                        (cls, sorted(unknown)))
                if any(g['class'] == 'dangerous' for g in res['globals']):
                    failures.append('full_model.pt: dangerous globals: %s' % summary(res))
    if failures:
        print('\n'.join(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
