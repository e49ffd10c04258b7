#!/usr/bin/env python3
# Tensors given to a class ptio does not rebuild (an unresolved global), from the new-user trial
# of session 9: `torch.save({'w': ones(2), 'h2': Holder2(zeros(4))})` with `Holder2.__reduce__`
# returning `(Holder2, (t,))` made `ptio tensors` list only `w` and `ptio convert` write one
# tensor (exit 0), while `show` printed `__main__.Holder2(tensor(float32, [4]))`. Objects rebuilt
# through BUILD state were listed. Now every tensor reachable through an unresolved global's
# call arguments, state and items is listed: `h2.<arg 0>` (REDUCE / NEWOBJ argument),
# `<kwarg NAME>`, `<state>` (a state that is not a dict), attribute names for a dict state,
# indices / keys for appended / set items; each with the sha256 of the value torch.load gives.
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

sha = ptio_interop.verify_with_torch.tensor_bytes_sha
check = ptio_interop.Checks()


class Holder2:  # REDUCE with the tensor as a constructor argument
    def __init__(self, t):
        self.t = t

    def __reduce__(self):
        return (Holder2, (self.t,))


class WithState:  # REDUCE argument and a non-dict (list) state
    def __init__(self, a, b=None):
        self.a, self.b = a, b

    def __reduce__(self):
        return (WithState, (self.a,), [self.b])

    def __setstate__(self, st):
        self.b = st[0]


class NewArgs:  # protocol 2 NEWOBJ (`cls.__new__(cls, t)`) plus a dict state
    def __new__(cls, t):
        o = object.__new__(cls)
        o.n = t
        return o

    def __getnewargs__(self):
        return (self.n,)


class Items(list):  # a list subclass: APPENDS onto the unknown class
    pass


class Mapping(dict):  # a dict subclass: SETITEMS onto it
    pass


def main():
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, 'custom.pt')
        nw = NewArgs(torch.arange(3.))
        nw.extra = torch.full((2,), 7.)
        obj = {
            'w': torch.ones(2),
            'h2': Holder2(torch.zeros(4)),
            'ws': WithState(torch.tensor([1, 2], dtype=torch.int32),
                            torch.tensor([3.5], dtype=torch.float64)),
            'nw': nw,
            'items': Items([torch.tensor([5.]), torch.tensor([6, 7])]),
            'map': Mapping(k=torch.tensor([True, False])),
        }
        torch.save(obj, f)
        back = torch.load(f, weights_only=False)
        want = [
            ('w', back['w']),
            ('h2.<arg 0>', back['h2'].t),
            ('ws.<arg 0>', back['ws'].a),
            ('ws.<state>.0', back['ws'].b),
            ('nw.<arg 0>', back['nw'].n),
            ('nw.n', back['nw'].n),  # the dict state holds it again
            ('nw.extra', back['nw'].extra),
            ('items.0', back['items'][0]),
            ('items.1', back['items'][1]),
            ('map.k', back['map']['k']),
        ]
        p = ptio_interop.run([ptio_interop.PTIO_BIN, 'tensors', '--json', f], check=False)
        check(p.returncode == 0, 'tensors: exit %d %s' % (p.returncode, p.stderr[-300:]))
        got = json.loads(p.stdout) if p.returncode == 0 else []
        check([g['path'] for g in got] == [n for n, _ in want],
              'tensors paths %s, want %s' % ([g['path'] for g in got], [n for n, _ in want]))
        by_path = {g['path']: g for g in got}
        for name, t in want:
            g = by_path.get(name)
            if not check(g is not None, 'tensors: %s missing' % name):
                continue
            check(g.get('sha256') == sha(t), '%s: sha256 %s, torch %s' % (name, g.get('sha256'),
                                                                        sha(t)))
            check(g['shape'] == list(t.shape), '%s: shape %s' % (name, g['shape']))
            check(g['dtype'] == str(t.dtype).replace('torch.', ''), '%s: dtype %s' %
                  (name, g['dtype']))

        # show prints the same values where tensors lists them.
        p = ptio_interop.run([ptio_interop.PTIO_BIN, 'show', f], check=False)
        text = p.stdout.decode()
        check('__main__.Holder2(tensor(float32, [4]))' in text, 'show: %s' % text[:400])

        # convert writes every listed tensor (safetensors header names them).
        out = os.path.join(d, 'out.safetensors')
        p = ptio_interop.run([ptio_interop.PTIO_BIN, 'convert', f, out], check=False)
        if check(p.returncode == 0, 'convert: exit %d %s' % (p.returncode, p.stderr[-300:])):
            with open(out, 'rb') as fh:
                n = struct.unpack('<Q', fh.read(8))[0]
                header = json.loads(fh.read(n))
            names = {k for k in header if k != '__metadata__'}
            check({'w', 'h2.<arg 0>', 'ws.<arg 0>', 'ws.<state>.0', 'items.1'} <= names,
                  'convert wrote %s' % sorted(names))

        # diff of the file with itself pairs every one of them.
        p = ptio_interop.run([ptio_interop.PTIO_BIN, 'diff', '--json', f, f], check=False)
        if check(p.returncode == 0, 'diff: exit %d %s' % (p.returncode, p.stderr[-300:])):
            rows = json.loads(p.stdout)['tensors']
            check(len(rows) == len(want), 'diff compared %d tensors, want %d' %
                  (len(rows), len(want)))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
