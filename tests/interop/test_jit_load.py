#!/usr/bin/env python3
# ptio::jit::load against torch.jit.load on modules real PyTorch scripted and traced
# (jit_load_models.py): state_dict tensors (names, order, dtype, shape, strides, sha256),
# per-module parameters / buffers / children, class names, method schemas, plain attribute
# values, training flags, Final constants and extra files must equal what PyTorch reports.
import enum
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

import jit_load_models  # noqa: E402

PTIO = ptio_interop.PTIO_BIN


def ptio_json(*args):
    p = subprocess.run([PTIO, *args], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError('ptio %s failed (%d): %s' % (' '.join(args), p.returncode,
                                                         p.stderr.decode('utf-8', 'replace')))
    return json.loads(p.stdout)


def from_ptio(v):
    """ptio show --json value -> comparable Python value."""
    if isinstance(v, list):
        return [from_ptio(x) for x in v]
    if isinstance(v, dict):
        if 'tuple' in v:
            return tuple(from_ptio(x) for x in v['tuple'])
        if 'dict' in v:
            return {from_ptio(k): from_ptio(x) for k, x in v['dict']}
        if 'enum' in v:
            return ('enum', v['enum'].rsplit('.', 1)[1])
        if 'tensor' in v:
            return ('tensor', v['tensor'].get('sha256'))
        if 'object' in v:
            return ('object',)
        if 'float' in v:
            return float(v['float'])
        if 'complex' in v:
            return complex(*v['complex'])
        if 'device' in v:
            return ('device', v['device'])
    return v


def from_torch(v):
    if isinstance(v, enum.Enum):
        return ('enum', v.name)
    if isinstance(v, torch.Tensor):
        return ('tensor', ptio_interop.torch_listing({'t': v})[0]['sha256'])
    if isinstance(v, torch.device):
        return ('device', str(v))
    if isinstance(v, (torch.ScriptObject, torch.jit.ScriptModule)) or hasattr(v, '_c'):
        return ('object',)
    if isinstance(v, tuple):  # NamedTuples compare as plain tuples (their names are not pickled)
        return tuple(from_torch(x) for x in v)
    if isinstance(v, list):
        return [from_torch(x) for x in v]
    if isinstance(v, dict):
        return {k: from_torch(x) for k, x in v.items()}
    if type(v).__module__ != 'builtins':  # a TorchScript class instance
        return ('object',)
    return v


def check(name, m, extra, path, failures):
    def fail(msg):
        failures.append('%s: %s' % (name, msg))

    # state_dict: names, order and every tensor field.
    # keep_vars: the tensors as the module holds them (requires_grad kept), as the corpus lists.
    expected = ptio_interop.torch_listing(m.state_dict(keep_vars=True))
    # Below a module with __setstate__ PyTorch rebuilt the slots by running it; ptio keeps the
    # pickled state (compared below), so those entries are not in ptio's state_dict.
    opaque = [n + '.' if n else '' for n, s in m.named_modules()
              if '__setstate__' in s._c._method_names()]
    expected = [e for e in expected if not any(e['path'].startswith(p) for p in opaque)]
    got = ptio_json('tensors', '--json', path)
    for d in ptio_interop.diff_listings(expected, got):
        fail('state_dict: ' + d)

    # Tensor constants of the code (constants.pkl): those forward's code uses, as PyTorch maps them.
    consts = {'CONSTANTS.' + k: v for k, v in m.code_with_constants[1].const_mapping.items()
              if isinstance(v, torch.Tensor)}
    if consts:
        alltensors = {t['path']: t for t in ptio_json('tensors', '--json', '--all', path)}
        for k, v in consts.items():
            want = ptio_interop.torch_listing({k: v})[0]
            got_c = alltensors.get(k)
            if got_c is None or any(got_c.get(f) != want[f] for f in ('dtype', 'shape', 'sha256')):
                fail('constant %s: torch %r, ptio %r' % (k, want, got_c))

    info = ptio_json('info', '--json', path)
    if info['kind'] != 'torchscript':
        fail('kind %r' % info['kind'])
    mod = info['module']
    if mod['class'] != m._c._type().qualified_name():
        fail('class %r != %r' % (mod['class'], m._c._type().qualified_name()))
    if sorted(mod['extra_files']) != sorted(extra):
        fail('extra files %r != %r' % (mod['extra_files'], sorted(extra)))
    torch_modules = list(m.named_modules())
    ptio_modules = {x['name']: x for x in mod['modules']}
    if [n for n, _ in torch_modules] != [x['name'] for x in mod['modules']]:
        fail('named_modules %r != %r' % ([n for n, _ in torch_modules],
                                         [x['name'] for x in mod['modules']]))
    for mname, sub in torch_modules:
        pm = ptio_modules.get(mname)
        if pm is None:
            continue
        where = mname or '<root>'
        if pm['class'] != sub._c._type().qualified_name():
            fail('%s: class %r != %r' % (where, pm['class'], sub._c._type().qualified_name()))
        kinds = {a['name']: a['kind'] for a in pm['attributes']}
        tparams = [n for n, _ in sub.named_parameters(recurse=False)]
        tbufs = [n for n, _ in sub.named_buffers(recurse=False)]
        tkids = [n for n, _ in sub.named_children()]
        sd = dict(sub.state_dict(keep_vars=True))
        for names, kind in ((tparams, 'parameter'), (tbufs, 'buffer'), (tkids, 'module')):
            mine = [a['name'] for a in pm['attributes'] if a['kind'] == kind and
                    (kind == 'module' or a['name'] in sd)]
            if kind != 'module':
                mine = [n for n in mine if n in names or sd.get(n) is not None]
            if mine != names:
                fail('%s: %ss %r != %r' % (where, kind, mine, names))
        # Method schemas as str(schema) prints them (forward and exported methods, hooks aside).
        tmethods = {n: str(sub._c._get_method(n).schema) for n in sub._c._method_names()}
        pmethods = {x['name']: x['schema'] for x in pm['methods'] if not x.get('hook')}
        if tmethods != pmethods:
            for n in sorted(set(tmethods) | set(pmethods)):
                if tmethods.get(n) != pmethods.get(n):
                    fail('%s: method %s: torch %r, ptio %r' % (where, n, tmethods.get(n),
                                                               pmethods.get(n)))
        if '__setstate__' in tmethods:
            # PyTorch ran __setstate__; ptio keeps the state __getstate__ returned.
            shown = ptio_json('show', '--json', path, mname) if mname else \
                ptio_json('show', '--json', path)
            state = sub._c._get_method('__getstate__')()
            if from_ptio(shown.get('state')) != from_torch(state):
                fail('%s: state %r != %r' % (where, from_ptio(shown.get('state')),
                                             from_torch(state)))
            continue
        # Plain attribute values, as ptio show --json reads them.
        for a in pm['attributes']:
            if a['kind'] != 'attribute' or a['name'] == '_is_full_backward_hook':
                continue
            try:
                tv = getattr(sub, a['name'])
            except Exception:  # noqa: BLE001 (1.13 asserts on some script-class attributes)
                continue
            attr_path = (mname + '.' if mname else '') + a['name']
            pv = from_ptio(ptio_json('show', '--json', path, attr_path))
            if from_torch(tv) != pv:
                fail('%s: attribute %s: torch %r, ptio %r' % (where, a['name'], from_torch(tv), pv))
        if 'training' in kinds:
            pv = ptio_json('show', '--json', path, (mname + '.' if mname else '') + 'training')
            if pv != sub.training:
                fail('%s: training %r != %r' % (where, pv, sub.training))
    # Final constants of the root class.
    consts = {c['name'] for c in ptio_modules.get('', {}).get('constants', [])}
    for cname in getattr(type(m), '__constants__', ()) or ():
        if cname not in consts and cname != 'training':
            fail('constant %s missing (ptio has %r)' % (cname, sorted(consts)))
    # Extra files: content through ptio extract.
    if extra:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([PTIO, 'extract', path, '--extra', d], check=True, capture_output=True)
            for k, v in extra.items():
                with open(os.path.join(d, k), 'rb') as f:
                    if f.read() != v:
                        fail('extra file %s content differs' % k)
        want = {k: '' for k in extra}
        torch.jit.load(path, _extra_files=want)
        if want != extra:
            fail('torch.jit.load extra files %r' % want)


def main():
    failures = []
    count = 0
    with tempfile.TemporaryDirectory() as d:
        for name, m, extra in jit_load_models.models():
            path = os.path.join(d, name + '.pt')
            torch.jit.save(m, path, _extra_files=extra)
            m = torch.jit.load(path)  # what PyTorch itself reads back
            before = len(failures)
            try:
                check(name, m, extra, path, failures)
            except Exception as e:  # noqa: BLE001
                failures.append('%s: %s' % (name, e))
            count += 1
            print('%s %s' % ('FAIL' if len(failures) > before else 'ok  ', name))
    for f in failures:
        print('FAIL', f)
    print('%d modules, %d failures' % (count, len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
