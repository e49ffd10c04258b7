#!/usr/bin/env python3
# Tensor subclasses and tensors with Python attributes (torch._tensor._rebuild_from_type_v2 and
# torch >= 2.0's _rebuild_parameter_with_state) both ways with PyTorch 1.13: PyTorch writes, ptio
# reads every value, class and attribute (`show --json`, `tensors --json`); ptio writes (`convert`,
# zip and legacy), PyTorch loads the same classes with the same attributes, and weights_only=True
# refuses ptio's file exactly when it refuses torch.save's own. 1.13 cannot write a plain tensor's
# or a Parameter's attributes (its torch.save drops them): those files are made as torch >= 2.0's
# torch.save makes them (a reducer_override giving its reductions), and loaded with torch >= 2.0's
# rebuild functions, re-implemented below from their documented behaviour.
import collections
import json
import os
import pickle
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()


class MyT(torch.Tensor):
    pass


class SlotT(torch.Tensor):
    __slots__ = ('s1',)


# --- torch >= 2.0's behaviour, for what 1.13 cannot do --------------------------------------
def _set_obj_state(obj, state):
    # torch._utils._set_obj_state: a dict of attributes or (dict or None, slots dict).
    dict_state, slots_state = state if isinstance(state, tuple) else (state, None)
    for d in (dict_state, slots_state):
        for k, v in (d or {}).items():
            setattr(obj, k, v)
    return obj


def rebuild_from_type_v2_new(func, new_type, args, state):
    # torch >= 2.0: the state is set on plain tensors too (1.13 returns func(*args) for them).
    ret = func(*args)
    if type(ret) is not new_type:
        ret = ret.as_subclass(new_type)
    return _set_obj_state(ret, state)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    param = torch.nn.Parameter(data, requires_grad)
    param._backward_hooks = backward_hooks
    return _set_obj_state(param, state)


rebuild_parameter_with_state.__module__ = 'torch._utils'
rebuild_parameter_with_state.__qualname__ = rebuild_parameter_with_state.__name__ = \
    '_rebuild_parameter_with_state'


class Torch2:
    """While active: torch._utils._rebuild_parameter_with_state exists and
    torch._tensor._rebuild_from_type_v2 behaves as in torch >= 2.0."""

    def __enter__(self):
        self.old = torch._tensor._rebuild_from_type_v2
        torch._utils._rebuild_parameter_with_state = rebuild_parameter_with_state
        torch._tensor._rebuild_from_type_v2 = rebuild_from_type_v2_new
        rebuild_from_type_v2_new.__module__ = 'torch._tensor'
        rebuild_from_type_v2_new.__qualname__ = rebuild_from_type_v2_new.__name__ = \
            '_rebuild_from_type_v2'

    def __exit__(self, *exc):
        torch._tensor._rebuild_from_type_v2 = self.old
        del torch._utils._rebuild_parameter_with_state


class Torch2Pickler(pickle.Pickler):
    """torch >= 2.0's Tensor/Parameter.__reduce_ex__ for a plain tensor or a Parameter with
    attributes (1.13's drop them)."""

    def reducer_override(self, obj):
        if type(obj) is torch.Tensor and obj.__dict__:
            func, args = obj._reduce_ex_internal(2)
            return (torch._tensor._rebuild_from_type_v2, (func, torch.Tensor, args, obj.__dict__))
        if type(obj) is torch.nn.Parameter and obj.__dict__:
            return (torch._utils._rebuild_parameter_with_state,
                    (obj.data, obj.requires_grad, collections.OrderedDict(), obj.__dict__))
        return NotImplemented


class torch2_pickle:  # a pickle_module for torch.save
    Pickler = Torch2Pickler
    Unpickler = pickle.Unpickler
    load = pickle.load


# --- helpers ----------------------------------------------------------------------------------
def decode(j):
    """A `show --json` value as Python (tensors as their JSON dict under 'tensor')."""
    if isinstance(j, list):
        return [decode(x) for x in j]
    if isinstance(j, dict):
        if 'dict' in j:
            return {decode(k): decode(v) for k, v in j['dict']}
        if 'tuple' in j:
            return tuple(decode(x) for x in j['tuple'])
        if 'tensor' in j:
            return {'tensor': j['tensor']}
        raise AssertionError('unexpected JSON %r' % j)
    return j


def show(path):
    p, text = ptio_interop.ptio('show', '--json', path)
    check(p.returncode == 0, 'ptio show %s: %s' % (path, text))
    return decode(json.loads(p.stdout)) if p.returncode == 0 else None


def same(a, b):
    """Values equal, tensors by type, dtype, shape and elements."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and torch.equal(a.detach(), b.detach()))
    return a == b


def attrs(t):
    out = dict(t.__dict__)
    for s in getattr(type(t), '__slots__', ()):
        if hasattr(t, s):
            out[s] = getattr(t, s)
    return out


def same_attrs(a, b):
    x, y = attrs(a), attrs(b)
    return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)


def load_error(path, **kw):
    try:
        torch.load(path, **kw)
        return None
    except Exception as e:  # noqa: BLE001 (whatever torch raises)
        return type(e).__name__


def data_pkl(path):
    z = zipfile.ZipFile(path)
    return z.read([n for n in z.namelist() if n.endswith('/data.pkl')][0])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        run(tmp)
    return check.finish()


def run(tmp):
    # 1. PyTorch 1.13 writes subclass instances (with attributes, slots, a tensor attribute, a view
    #    sharing storage, requires_grad).
    base = torch.arange(6.)
    sub = base.as_subclass(MyT)
    sub.foo, sub.bar, sub.lst = 3, 'x', [1, 2.5, None]
    sub.extra = torch.tensor([7, 8], dtype=torch.int16)
    view = sub[2:]  # MyT too (__torch_function__), with no attributes of sub's
    view.v = 1  # (none at all would pickle as None on Python 3.11: see 3.)
    slots = torch.zeros(2, dtype=torch.float64).as_subclass(SlotT)
    slots.s1, slots.d = 9, 'dd'
    grad = torch.ones(3).as_subclass(MyT).requires_grad_()
    grad.tag = 'g'
    obj = {'sub': sub, 'view': view, 'slots': slots, 'grad': grad, 'plain': torch.ones(2)}
    src = os.path.join(tmp, 'sub.pt')
    torch.save(obj, src)

    # ptio reads: classes and states (show --json), values (tensors --json vs PyTorch's listing).
    got = show(src)
    if got is not None:
        check(got['sub']['tensor'].get('python_type') == '__main__.MyT', 'sub type: %r' % got['sub'])
        st = decode(got['sub']['tensor'].get('python_state', {'dict': []}))
        check(st.get('foo') == 3 and st.get('bar') == 'x' and st.get('lst') == [1, 2.5, None],
              'sub state: %r' % st)
        check(st.get('extra', {}).get('tensor', {}).get('dtype') == 'int16',
              'sub.extra: %r' % st.get('extra'))
        check(got['view']['tensor'].get('python_type') == '__main__.MyT'
              and decode(got['view']['tensor'].get('python_state')) == {'v': 1},
              'view: %r' % got['view'])
        check(got['slots']['tensor'].get('python_type') == '__main__.SlotT', 'slots type')
        check(decode(got['slots']['tensor'].get('python_state', {'dict': []})) ==
              ({'d': 'dd'}, {'s1': 9}), 'slots state: %r' % got['slots'])
        check(got['grad']['tensor'].get('requires_grad') is True, 'grad requires_grad')
        check('python_type' not in got['plain']['tensor']
              and 'python_state' not in got['plain']['tensor'], 'plain: %r' % got['plain'])
    rows = ptio_interop.ptio_listing(src)
    loaded = torch.load(src)
    for d in ptio_interop.diff_listings(ptio_interop.torch_listing(loaded), rows):
        check(False, 'torch-written listing: ' + d)
    by_path = {r['path']: r for r in rows}
    check(by_path.get('sub', {}).get('python_type') == '__main__.MyT'
          and by_path['sub'].get('python_state', {}).get('dict', [None])[0] == ['foo', 3],
          'tensors --json sub: %r' % by_path.get('sub'))
    check('python_type' not in by_path.get('plain', {'python_type': 1}), 'tensors --json plain')
    p, text = ptio_interop.ptio('tensors', src)
    check(p.returncode == 0 and 'python_type=__main__.MyT python_state=foo,bar,lst,extra' in text,
          'tensors table: %s' % text)
    # cat prints as PyTorch's repr: a subclass's __name__ instead of `tensor`. (Not 'grad': 1.13's
    # as_subclass of a tensor that requires grad gives a non-leaf, printed with grad_fn=.)
    for k in ('sub', 'view', 'slots', 'plain'):
        p, text = ptio_interop.ptio('cat', src, k)
        check(p.returncode == 0 and p.stdout.decode().rstrip('\n') == repr(loaded[k]),
              'cat %s: %r, torch %r' % (k, p.stdout, repr(loaded[k])))

    # One 1 MB string shared (memoized) by the attributes of 100 tensors: `tensors --json` would
    # repeat it per row (100 MB); it stops at its 64 MiB budget. The table names attributes only.
    big = 'x' * (1 << 20)
    many = []
    for _ in range(100):
        m = torch.zeros(1).as_subclass(MyT)
        m.s = big
        many.append(m)
    msrc = os.path.join(tmp, 'many.pt')
    torch.save(many, msrc)
    p, text = ptio_interop.ptio('tensors', '--json', msrc)
    check(p.returncode == 2 and '64 MiB' in text and len(p.stdout) == 0,
          'tensors --json on many.pt: %d %s' % (p.returncode, text[-300:]))
    p, text = ptio_interop.ptio('tensors', msrc)
    check(p.returncode == 0 and len(p.stdout) < 20000 and 'python_state=s' in text,
          'tensors on many.pt: %d %d bytes' % (p.returncode, len(p.stdout)))

    # 2. ptio writes (zip with 1.13's layout, and legacy); PyTorch loads the same classes, states,
    #    values, sharing; the zip is byte-identical to torch.save's.
    for fmt in ('zip', 'legacy'):
        os.makedirs(os.path.join(tmp, fmt))
        out = os.path.join(tmp, fmt, 'sub.pt')  # the same archive folder name as src
        args = ['convert', src, out] + (['--legacy'] if fmt == 'legacy' else
                                        ['--layout', 'torch-1.13'])
        p, text = ptio_interop.ptio(*args)
        if not check(p.returncode == 0, 'convert %s: %s' % (fmt, text)):
            continue
        if fmt == 'zip':
            check(data_pkl(out) == data_pkl(src), 'data.pkl differs from torch.save\'s')
            check(open(out, 'rb').read() == open(src, 'rb').read(),
                  'zip differs from torch.save\'s')
        back = torch.load(out)
        for k in obj:
            check(type(back[k]) is type(obj[k]), '%s %s: type %s' % (fmt, k, type(back[k])))
            check(torch.equal(back[k].detach().as_subclass(torch.Tensor),
                              obj[k].detach().as_subclass(torch.Tensor)), '%s %s: values' % (fmt, k))
            check(same_attrs(back[k], obj[k]), '%s %s: attributes %r, torch %r' %
                  (fmt, k, attrs(back[k]), attrs(obj[k])))
            check(back[k].requires_grad == obj[k].requires_grad, '%s %s: requires_grad' % (fmt, k))
        check(back['view'].storage().data_ptr() == back['sub'].storage().data_ptr(),
              '%s: view no longer shares sub\'s storage' % fmt)
        # weights_only=True: 1.13 refuses a subclass in torch.save's own file and in ptio's.
        check(load_error(src, weights_only=True) is not None, 'torch weights_only loads sub.pt')
        check(load_error(out, weights_only=True) == load_error(src, weights_only=True),
              '%s: weights_only=True gives %s, torch.save\'s file %s' %
              (fmt, load_error(out, weights_only=True), load_error(src, weights_only=True)))

    # safetensors keeps the elements only, and says so.
    p, text = ptio_interop.ptio('convert', src, os.path.join(tmp, 'sub.safetensors'))
    check(p.returncode == 0 and 'written as plain tensors' in text and 'sub, view, slots, grad' in
          text, 'convert to safetensors: %s' % text)

    # 3. An empty subclass instance: Python 3.11 pickles its state as None, which 1.13's
    #    _rebuild_from_type_v2 cannot load (None.items()); ptio reads it and writes {}.
    empty = torch.arange(3.).as_subclass(MyT)
    esrc, eout = os.path.join(tmp, 'empty.pt'), os.path.join(tmp, 'empty_out.pt')
    torch.save(empty, esrc)
    got = show(esrc)
    check(got is not None and got['tensor'].get('python_type') == '__main__.MyT'
          and 'python_state' not in got['tensor'], 'empty: %r' % got)
    p, text = ptio_interop.ptio('convert', esrc, eout)
    if check(p.returncode == 0, 'convert empty: %s' % text):
        e = torch.load(eout)
        check(type(e) is MyT and e.__dict__ == {} and torch.equal(e.as_subclass(torch.Tensor),
                                                                    torch.arange(3.)),
              'empty back: %r' % e)

    # 4. A plain tensor and a Parameter with attributes, as torch >= 2.0 writes them.
    plain = torch.arange(4.)
    plain.foo = 5
    param = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    param.note, param.n = 'p', 2
    nobj = {'plain': plain, 'param': param}
    nsrc = os.path.join(tmp, 'new.pt')
    with Torch2():
        torch.save(nobj, nsrc, pickle_module=torch2_pickle)
    pk = data_pkl(nsrc)
    check(b'_rebuild_parameter_with_state' in pk and b'_rebuild_from_type_v2' in pk,
          'the torch >= 2.0 file does not use its reductions')
    got = show(nsrc)
    if got is not None:
        check('python_type' not in got['plain']['tensor']
              and decode(got['plain']['tensor'].get('python_state')) == {'foo': 5},
              'plain: %r' % got['plain'])
        check(got['param']['tensor'].get('is_parameter') is True
              and decode(got['param']['tensor'].get('python_state')) == {'note': 'p', 'n': 2},
              'param: %r' % got['param'])
    with Torch2():
        loaded = torch.load(nsrc)
    for d in ptio_interop.diff_listings(ptio_interop.torch_listing(loaded),
                                        ptio_interop.ptio_listing(nsrc)):
        check(False, 'torch >= 2.0 listing: ' + d)
    for fmt in ('zip', 'legacy'):
        out = os.path.join(tmp, 'new_%s.pt' % fmt)
        p, text = ptio_interop.ptio('convert', nsrc, out, *(['--legacy'] if fmt == 'legacy'
                                                              else []))
        if not check(p.returncode == 0, 'convert new %s: %s' % (fmt, text)):
            continue
        # Real 1.13 (no emulation): the Parameter keeps its attributes (ptio writes it as
        # _rebuild_from_type_v2(_rebuild_parameter, Parameter, ...), which 1.11+ loads); the
        # plain tensor's attributes are dropped, as 1.13 drops them from torch >= 2.0's files.
        back = torch.load(out)
        check(type(back['param']) is torch.nn.Parameter and same_attrs(back['param'], param)
              and torch.equal(back['param'].data, param.data)
              and back['param'].requires_grad, '%s: param in 1.13: %r %r' %
              (fmt, back['param'], attrs(back['param'])))
        check(type(back['plain']) is torch.Tensor and torch.equal(back['plain'], plain),
              '%s: plain in 1.13' % fmt)
        with Torch2():
            back2 = torch.load(out)
        check(same_attrs(back2['plain'], plain) and same_attrs(back2['param'], param),
              '%s: torch >= 2.0 loses attributes: %r %r' %
              (fmt, attrs(back2['plain']), attrs(back2['param'])))
        with Torch2():
            orig2 = torch.load(nsrc)
        check(same_attrs(orig2['plain'], plain), 'emulation check')
        # 1.13 weights_only refuses both torch >= 2.0's file and ptio's.
        check(load_error(out, weights_only=True) is not None,
              '%s: 1.13 weights_only loads ptio\'s file' % fmt)
        check(load_error(nsrc, weights_only=True) is not None,
              '1.13 weights_only loads the torch >= 2.0 file')


if __name__ == '__main__':
    sys.exit(main())
