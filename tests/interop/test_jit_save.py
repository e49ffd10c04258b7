#!/usr/bin/env python3
# ptio::jit::save against real PyTorch 1.13. Modules scripted and traced by PyTorch
# (jit_load_models.py plus the version / container cases below) are saved by torch.jit.save,
# loaded and saved again by ptio (tests/tools/ptio_jit_save_tool.cpp); PyTorch loads ptio's file
# and runs forward and every exported method on fixed inputs, which must give what the original
# module gives in this same run. For these unmodified modules data.pkl, constants.pkl, data/,
# constants/, the .debug_pkl tables and the version record must be byte-identical to PyTorch's
# and the code files must have the same text. Also: corpus TorchScript files that PyTorch 1.13
# loads, lite (.ptl) archives, saving twice, extra files, bad extra names, short writers.
import os
import subprocess
import sys
import tempfile
import zipfile
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch import Tensor  # noqa: E402

import jit_load_models  # noqa: E402
from jit_load_models import Color, Point  # noqa: E402

TOOL = os.path.join(ptio_interop.TOOLS_DIR, 'ptio_jit_save_tool')


class DivTraced(nn.Module):
    def forward(self, x):
        return torch.div(x, 2) + x / 3  # aten::div -> file format version 4


class GeluLinspace(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        y = torch.nn.functional.gelu(x, approximate='tanh')  # version 10 -> .data/version
        return y + torch.linspace(0.0, 1.0, steps=4)


class Containers(nn.Module):
    nested: List[List[int]]
    tensors: Dict[str, Tensor]
    tlist: List[Tensor]
    maybe: Optional[List[int]]
    pair: Tuple[Tensor, int]
    empty: Dict[str, List[float]]
    flags: List[bool]

    def __init__(self):
        super().__init__()
        self.nested = [[1, 2], [], [3]]
        self.tensors = {'a': torch.arange(3.0), 'b': torch.ones(2, 2)}
        self.tlist = [torch.zeros(2), torch.full([2], 7.0)]
        self.maybe = None
        self.pair = (torch.tensor([1, 2]), 5)
        self.empty = {}
        self.cplx = complex(1.5, -2.0)
        self.dev = torch.device('cpu')
        self.text = 'h\u00e9llo \u2603'
        self.flags = [True, False]
        self.w = nn.Parameter(torch.randn(4, 3))
        self.register_buffer('row', self.w.data[1])  # a view of the parameter's storage

    def forward(self, x: Tensor) -> Tensor:
        s = torch.zeros(1)
        for k, t in self.tensors.items():
            s = s + t.sum()
        for t in self.tlist:
            s = s + t.sum()
        n = 0
        for l in self.nested:
            n += len(l)
        return x @ self.w + self.row + s + n + self.pair[1] + torch.full([3], 2)

    @torch.jit.export
    def describe(self, k: int) -> Tuple[str, complex, List[bool], int]:
        return self.text + str(k), self.cplx, self.flags, len(self.empty)


def extra_models():
    out = []
    out.append(('div_traced', torch.jit.trace(DivTraced(), torch.arange(6.0).reshape(2, 3)), {}))
    out.append(('gelu_linspace', torch.jit.script(GeluLinspace()), {}))
    out.append(('containers', torch.jit.script(Containers()), {'z.txt': b'zz', 'a.bin': b'\0\1'}))
    return out


def inputs():
    """method -> list of argument tuples, per model name (fixed values)."""
    g = torch.Generator().manual_seed(1)
    x4 = torch.randn(2, 4, generator=g)
    conv_in = torch.randn(1, 1, 6, generator=g)
    everything = {
        'forward': [(x4,), (x4, 1), (x4, 3, True)],
        'head': [(x4,), (x4, 'b')],
        'tint': [(Color.GREEN, Point(1, 2.0))],
        'mk': [(3,)],
        'conv': [(conv_in, [1])],
    }
    return {
        'everything': everything,
        'everything_train': everything,
        'stateful': {'forward': [(torch.randn(2, 3, generator=g),)], '__getstate__': [()]},
        'traced': {'forward': [(torch.randn(2, 3, 8, 8, generator=g),)]},
        'tied': {'forward': [(torch.randn(2, 3, generator=g),)]},
        'dynamic_quant': {'forward': [(torch.randn(3, 8, generator=g),)], '__len__': [()]},
        'static_quant': {'forward': [(torch.randn(1, 2, 5, 5, generator=g),)]},
        'div_traced': {'forward': [(torch.arange(6.0).reshape(2, 3),)]},
        'gelu_linspace': {'forward': [(torch.randn(4, generator=g),)]},
        'containers': {'forward': [(torch.randn(2, 4, generator=g),)], 'describe': [(4,)]},
    }


def same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and \
            bool(torch.equal(a.dequantize() if a.is_quantized else a,
                             b.dequantize() if b.is_quantized else b))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) == type(b) and a == b


def records(path):
    z = zipfile.ZipFile(path)
    folder = z.namelist()[0].split('/')[0]
    return {n[len(folder) + 1:]: z.read(n) for n in z.namelist()}, \
        [n[len(folder) + 1:] for n in z.namelist()]


def run_tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def compare_records(orig, out, fail, lite=False, old_version=False):
    """Byte identity of the records PyTorch and ptio both write for an unmodified module."""
    a, order_a = records(orig)
    b, order_b = records(out)
    skip = ('bytecode.pkl', 'byteorder', '.data/serialization_id')
    want = [n for n in order_a if not n.startswith('extra/') and n not in skip and
            not (lite and n.startswith('constants/'))]
    got = [n for n in order_b if not n.startswith('extra/') and not (lite and n.startswith('constants/'))]
    if old_version:
        want = [n for n in want if n != 'version']
        got = [n for n in got if n != 'version']
    if old_version:  # older writers put data.pkl last; 1.13's order is written
        want, got = sorted(want), sorted(got)
    if want != got:
        fail('record order: torch %s, ptio %s' % (want, got))
    for n in want:
        if n in b and a[n] != b[n]:
            if lite and n == 'constants.pkl':
                continue  # lite keys `<k>.storage` become plain `<k>`, as torch.jit.save writes
            fail('record %s differs (%d vs %d bytes)' % (n, len(a[n]), len(b[n])))
    if old_version and b.get('version') != b'3\n':
        fail('a version 1-2 archive must be re-saved as version 3, got %r' % b.get('version'))


def check_model(name, m, extra, tmp, ins, failures):
    def fail(msg):
        failures.append('%s: %s' % (name, msg))

    orig = os.path.join(tmp, name + '.pt')
    torch.jit.save(m, orig, _extra_files=extra)
    out_dir = os.path.join(tmp, 'ptio')
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, name + '.pt')
    args = [orig, out]
    plain_extra = {k: v for k, v in extra.items() if '/' not in k}
    for k, v in plain_extra.items():
        p = os.path.join(tmp, 'extra_' + k)
        with open(p, 'wb') as f:
            f.write(v)
        args += ['--extra', '%s=%s' % (k, p)]
    p = run_tool(*args)
    if p.returncode != 0:
        return fail('ptio save failed: ' + p.stderr)
    compare_records(orig, out, fail)
    # The extra files as torch.jit.load sees them.
    seen = {k: '' for k in plain_extra}
    loaded = torch.jit.load(out, _extra_files=seen)
    for k, v in plain_extra.items():
        if seen[k] != v:
            fail('extra file %s: %r, expected %r' % (k, seen[k], v))
    # forward and every exported method, on the module PyTorch scripted and on ptio's file.
    methods = set(loaded._c._method_names()) - {'__setstate__'}
    if set(ins) != methods:
        fail('inputs cover %s, the module has %s' % (sorted(ins), sorted(methods)))
    for meth, calls in ins.items():
        for call in calls:
            try:
                want = m._c._get_method(meth)(*call)
                got = loaded._c._get_method(meth)(*call)
            except Exception as e:  # noqa: BLE001
                fail('%s%r raised %s' % (meth, call, str(e).splitlines()[0]))
                continue
            if not same(want, got):
                fail('%s: ptio file gives %r, PyTorch %r' % (meth, got, want))
    # Saving twice (same file name, other folder) gives the same bytes.
    again_dir = os.path.join(tmp, 'again')
    os.makedirs(again_dir, exist_ok=True)
    again = os.path.join(again_dir, name + '.pt')
    p = run_tool(*([out, again] + args[2:]))
    if p.returncode != 0 or open(again, 'rb').read() != open(out, 'rb').read():
        fail('saving the saved file again gives other bytes (%s)' % p.stderr)
    # The lite format of the same module round-trips to a plain archive PyTorch runs.
    if name in ('everything', 'traced', 'containers'):
        ptl = os.path.join(tmp, name + '.ptl')
        m._save_for_lite_interpreter(ptl)
        ptl_out = os.path.join(tmp, name + '.from_ptl.pt')
        p = run_tool(ptl, ptl_out)
        if p.returncode != 0:
            return fail('ptio save of the .ptl failed: ' + p.stderr)
        compare_records(ptl, ptl_out, fail, lite=True)
        lm = torch.jit.load(ptl_out)
        call = ins['forward'][0]
        if not same(m.forward(*call), lm.forward(*call)):
            fail('from .ptl: forward differs')


def check_bad_input(tmp, failures):
    m = torch.jit.script(jit_load_models.TiedWeights())
    orig = os.path.join(tmp, 'bad_in.pt')
    torch.jit.save(m, orig)
    target = os.path.join(tmp, 'bad_target.pt')
    payload = os.path.join(tmp, 'payload.txt')
    with open(payload, 'wb') as f:
        f.write(b'x')
    for bad in ('dir/cfg.json', '../up', '..', 'a\\b'):
        with open(target, 'wb') as f:
            f.write(b'untouched')
        p = run_tool(orig, target, '--extra', '%s=%s' % (bad, payload))
        if p.returncode != 2 or 'code 606' not in p.stderr:
            failures.append('extra name %r: rc %d, %s' % (bad, p.returncode, p.stderr))
        if open(target, 'rb').read() != b'untouched':
            failures.append('extra name %r: the target was changed' % bad)
    leftovers = [n for n in os.listdir(tmp) if n.startswith('bad_target.pt.')]
    if leftovers:
        failures.append('temporary files left: %s' % leftovers)
    for cut in ('0', '100', '2000'):
        p = run_tool(orig, target, '--short-after', cut)
        if p.returncode != 2 or 'code 104' not in p.stderr:  # kIoShortWrite
            failures.append('short writer after %s bytes: rc %d, %s' % (cut, p.returncode, p.stderr))
    # Each target kind writes the same bytes.
    outs = []
    for to in ('path', 'stream', 'bytes', 'func'):
        d = os.path.join(tmp, 'to_' + to)
        os.makedirs(d, exist_ok=True)
        o = os.path.join(d, 'x.pt')
        p = run_tool(orig, o, '--to', to)
        if p.returncode != 0:
            failures.append('--to %s failed: %s' % (to, p.stderr))
            continue
        outs.append((to, records(o)))
        torch.jit.load(o)
    for to, r in outs[1:]:
        if r[0] != outs[0][1][0]:
            failures.append('--to %s writes other records than --to path' % to)


def code_of(m):
    """Every method's code as PyTorch prints it after loading (forward may not exist)."""
    return {n: m._c._get_method(n).code for n in m._c._method_names()}


def check_corpus(tmp, failures):
    corpus = os.path.join(ptio_interop.SHARED, 'corpus')
    manifest = os.path.join(corpus, 'MANIFEST.tsv')
    if not os.path.exists(manifest):
        print('no corpus; skipped')
        return 0
    done, n = set(), 0
    for line in open(manifest).read().splitlines()[1:]:
        cols = line.split('\t')
        f, kind = cols[0], cols[4]
        if kind not in ('torchscript', 'mobile-ptl') or f in done:
            continue
        done.add(f)
        path = os.path.join(corpus, f)
        try:
            want = torch.jit.load(path)
        except Exception:  # noqa: BLE001  (only files PyTorch 1.13 loads)
            continue
        out = os.path.join(tmp, 'corpus_' + os.path.basename(f) + '.pt')
        p = run_tool(path, out, '--keep-extra')
        if p.returncode != 0:
            failures.append('corpus %s: ptio save failed: %s' % (f, p.stderr))
            continue
        got = torch.jit.load(out)
        sd_w, sd_g = want.state_dict(), got.state_dict()
        if list(sd_w) != list(sd_g) or not all(same(sd_w[k], sd_g[k]) for k in sd_w):
            failures.append('corpus %s: state_dict differs' % f)
        if code_of(want) != code_of(got):
            failures.append('corpus %s: code differs' % f)
        recs, _ = records(path)
        version = int((recs.get('.data/version') or recs.get('version')).strip())
        compare_records(path, out, lambda msg: failures.append('corpus %s: %s' % (f, msg)),
                        lite='bytecode.pkl' in recs, old_version=version < 3)
        n += 1
    return n


def main():
    failures = []
    ins = inputs()
    with tempfile.TemporaryDirectory() as tmp:
        count = 0
        for name, m, extra in jit_load_models.models() + extra_models():
            check_model(name, m, extra, tmp, ins[name], failures)
            count += 1
        check_bad_input(tmp, failures)
        corpus = check_corpus(tmp, failures)
    for f in failures:
        print('FAIL', f)
    print('%d modules, %d corpus files, %d failures' % (count, corpus, len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
