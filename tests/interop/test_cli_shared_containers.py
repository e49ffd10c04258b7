#!/usr/bin/env python3
# Containers shared by identity (pickle memo BINGET), from the new-user trial of session 8:
#  - "billion laughs": a list `[l, l]` nested 30 times (2^30 paths, 31 distinct lists) or dicts of
#    ten keys all naming the previous level nested 9 times (10^9 paths), written by real
#    torch.save / pickle (under 2 KB), made `ptio show` (and --json) grow past 1.5 GB. `show`
#    now prints a shared container once (`&N ...`, then `*N`; JSON {"shared": N, "value": ...},
#    then {"ref": N}) in little memory, and `tensors`/`diff`/`convert`, which list every path,
#    stop at named_tensors' limit (exit 2, the limit named) in little memory;
#  - a sub-dict shared under two keys (`d = {'t': t}; torch.save({'a': d, 'b': d})`) was listed
#    once (`b.t` missing from tensors, diff and convert): both paths are listed now, with the
#    values torch.load gives for `a['t']` and `b['t']`; an nn.Module shared under two names
#    gives state_dict()'s keys;
#  - `show --max-output SIZE` refuses a longer output (exit 2, naming the option).
import json
import os
import pickle
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
# Peak RSS allowed for one command on a laughs file (before the fix: past 1.5 GB). A sanitizer
# build's shadow memory is not held to it.
MAX_RSS = 100 << 20
check = ptio_interop.Checks()  # check(cond, what); check.finish()


sanitized = ptio_interop.sanitized

run = ptio_interop.run_with_rss  # (exit code, stdout, stderr, peak RSS in bytes)


def resolve(doc, table=None):
    """Python value of a `show --json` document, with {"shared"/"ref"} resolved to one object."""
    table = {} if table is None else table
    if isinstance(doc, list):
        return [resolve(x, table) for x in doc]
    if isinstance(doc, dict):
        if set(doc) == {'ref'}:
            return table[doc['ref']]
        if set(doc) == {'shared', 'value'}:
            n = doc['shared']
            v = doc['value']
            # A placeholder first, filled in place, so that references inside it resolve.
            if isinstance(v, list):
                out = []
                table[n] = out
                out.extend(resolve(x, table) for x in v)
                return out
            if set(v) == {'dict'}:
                out = {}
                table[n] = out
                for k, x in v['dict']:
                    out[resolve(k, table)] = resolve(x, table)
                return out
            table[n] = r = resolve(v, table)
            return r
        if set(doc) == {'dict'}:
            return {resolve(k, table): resolve(x, table) for k, x in doc['dict']}
        if set(doc) == {'tuple'}:
            return tuple(resolve(x, table) for x in doc['tuple'])
        if 'tensor' in doc:
            return ('tensor', doc['tensor']['dtype'], tuple(doc['tensor']['shape']),
                    doc['tensor'].get('sha256'))
        return doc
    return doc


def torch_value(v):
    """The same shape of Python value from what torch.load returned (tensors summarised)."""
    if isinstance(v, torch.Tensor):
        return ('tensor', str(v.dtype).replace('torch.', ''), tuple(v.shape),
                ptio_interop.verify_with_torch.tensor_bytes_sha(v))
    if isinstance(v, list):
        return [torch_value(x) for x in v]
    if isinstance(v, tuple):
        return tuple(torch_value(x) for x in v)
    if isinstance(v, dict):
        return {k: torch_value(x) for k, x in v.items()}
    return v


def every_path(obj, path=''):
    """(path, tensor) for every path to a tensor in what torch.load returned, no deduplication
    (what a user iterating the loaded dicts and lists reaches)."""
    sub = (lambda k: path + '.' + str(k)) if path else str
    if isinstance(obj, torch.Tensor):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from every_path(v, sub(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from every_path(v, sub(i))


def laughs(d):
    t = torch.tensor([1., 2., 3., 4.])
    lvl = [t]
    for _ in range(30):
        lvl = [lvl, lvl]
    lists = os.path.join(d, 'laughs_list.pt')
    torch.save(lvl, lists)
    lvl = {'t': t}
    for _ in range(9):
        lvl = {k: lvl for k in 'abcdefghij'}
    dicts = os.path.join(d, 'laughs_dict.pt')
    torch.save(lvl, dicts)
    raw = os.path.join(d, 'laughs.pkl')
    lvl = [1]
    for _ in range(30):
        lvl = [lvl, lvl]
    with open(raw, 'wb') as f:
        pickle.dump(lvl, f, protocol=2)
    for f in (lists, dicts, raw):
        check(os.path.getsize(f) < 4096, '%s is %d bytes' % (f, os.path.getsize(f)))

    for f, levels in ((lists, 31), (dicts, 10), (raw, 31)):
        name = os.path.basename(f)
        code, out, err, rss = run('show', f)
        text = out.decode('utf-8', 'replace')
        check(code == 0, 'show %s: exit %d %s' % (name, code, err[-300:]))
        check(len(out) < 20000, 'show %s: %d bytes of output' % (name, len(out)))
        # Every distinct container once: labels &1..&(levels - 1), the innermost level unshared
        # in the list cases ([t] / [1] is reached twice too: it is labelled as well).
        labels = text.count('&')
        check(labels >= levels - 1, 'show %s: %d labels, want >= %d: %s' %
              (name, labels, levels - 1, text[:300]))
        check(rss < MAX_RSS or sanitized(), 'show %s: peak RSS %d MiB' % (name, rss >> 20))
        code, out, err, rss = run('show', '--json', f)
        check(code == 0, 'show --json %s: exit %d %s' % (name, code, err[-300:]))
        check(len(out) < 40000, 'show --json %s: %d bytes of output' % (name, len(out)))
        check(rss < MAX_RSS or sanitized(), 'show --json %s: peak RSS %d MiB' % (name, rss >> 20))
        try:
            doc = json.loads(out)
        except ValueError as e:
            check(False, 'show --json %s: not JSON (%s): %r' % (name, e, out[:200]))
            continue
        # The structure torch.load / pickle.load give back, resolved from the references.
        got = resolve(doc)
        want = torch.load(f) if f.endswith('.pt') else pickle.load(open(f, 'rb'))
        cur_got, cur_want = got, want
        for _ in range(levels - 1):
            if isinstance(cur_want, dict):
                check(list(cur_got) == list(cur_want) and
                      all(cur_got[k] is cur_got['a'] for k in cur_got),
                      'show --json %s: a level is not the shared dict' % name)
                cur_got, cur_want = cur_got['a'], cur_want['a']
            else:
                check(len(cur_got) == 2 and cur_got[0] is cur_got[1],
                      'show --json %s: a level is not the shared list' % name)
                cur_got, cur_want = cur_got[0], cur_want[0]
        check(cur_got == torch_value(cur_want), 'show --json %s: innermost %r, torch %r' %
              (name, cur_got, torch_value(cur_want)))

    for f in (lists, dicts):
        name = os.path.basename(f)
        npz = os.path.join(d, 'o.npz')
        for cmd in (['tensors', f], ['tensors', '--json', f], ['diff', f, f],
                    ['convert', '--force', f, npz]):
            code, out, err, rss = run(*cmd)
            what = '%s %s' % (' '.join(c for c in cmd[:2] if c.startswith('-') or c == cmd[0]), name)
            check(code == 2, '%s: exit %d, want 2 (%s)' % (what, code, err[-300:]))
            check(err.startswith('ptio: error: ') and f in err and
                  'shared under several names' in err and '250000 values' in err,
                  '%s: the limit is not named: %s' % (what, err[-400:]))
            check(rss < MAX_RSS or sanitized(), '%s: peak RSS %d MiB' % (what, rss >> 20))
        check(not os.path.exists(npz), 'convert %s left o.npz' % name)


def shared_dict(d):
    x = torch.tensor([1., 2.])
    sh = {'t': x}
    src = os.path.join(d, 'shared_dict.pt')
    torch.save({'a': sh, 'b': sh, 'c': [sh, {'u': x}]}, src)
    loaded = torch.load(src)
    want = [(p, t) for p, t in every_path(loaded)]
    check([p for p, _ in want] == ['a.t', 'b.t', 'c.0.t', 'c.1.u'], 'torch paths %r' % want)
    try:
        got = ptio_interop.ptio_listing(src)
    except RuntimeError as e:
        check(False, str(e))
        return
    sha = ptio_interop.verify_with_torch.tensor_bytes_sha
    check([g['path'] for g in got] == [p for p, _ in want],
          'tensors --json paths %r, torch %r' % ([g['path'] for g in got], [p for p, _ in want]))
    for g, (p, t) in zip(got, want):
        check(g['dtype'] == 'float32' and g['shape'] == list(t.shape) and
              g.get('sha256') == sha(t), '%s: ptio %r, torch %r' % (p, g, t))
    # One storage for all four (torch.load shares it too).
    check(len({ptr for ptr in (t.storage().data_ptr() for _, t in want)}) == 1,
          'torch does not share the storage')
    code, out, err, _ = run('tensors', src)
    text = out.decode()
    check(code == 0 and all(' %s ' % p in ' ' + text.replace('\n', ' \n ') for p in
                            ('a.t', 'b.t', 'c.0.t', 'c.1.u')),
          'tensors: exit %d %s %s' % (code, text, err))

    # diff against the same values saved without sharing: equal (b.t was "only in B" before).
    flat = os.path.join(d, 'flat.pt')
    torch.save({'a': {'t': x.clone()}, 'b': {'t': x.clone()}, 'c': [{'t': x.clone()},
                                                                    {'u': x.clone()}]}, flat)
    code, out, err, _ = run('diff', src, flat)
    check(code == 0, 'diff shared flat: exit %d %s %s' % (code, out.decode()[-400:], err))
    other = os.path.join(d, 'other.pt')
    torch.save({'a': {'t': x.clone()}, 'b': {'t': x + 1}, 'c': [{'t': x.clone()},
                                                                {'u': x.clone()}]}, other)
    code, out, err, _ = run('diff', src, other)
    check(code == 1 and b'b.t' in out and b'a.t' not in out,
          'diff shared other: exit %d %s %s' % (code, out.decode()[-400:], err))

    # convert to npz: every path, the values torch.load gives.
    npz = os.path.join(d, 'shared.npz')
    code, out, err, _ = run('convert', src, npz)
    if check(code == 0, 'convert: exit %d %s' % (code, err)):
        z = numpy.load(npz)
        check(sorted(z.files) == sorted(p for p, _ in want), 'npz names %r' % z.files)
        for p, t in want:
            if p in z.files:
                check(numpy.array_equal(z[p], t.numpy()), 'npz %s: %r vs %r' % (p, z[p], t))

    # show: the shared dict once, referenced after; the JSON resolves to torch.load's structure.
    code, out, err, _ = run('show', src)
    check(code == 0 and out.decode().strip() ==
          "{'a': &1 {'t': tensor(float32, [2])}, 'b': *1, 'c': [*1, {'u': tensor(float32, [2])}]}",
          'show: exit %d %r %s' % (code, out, err))
    code, out, err, _ = run('show', '--json', src)
    if check(code == 0, 'show --json: exit %d %s' % (code, err)):
        got = resolve(json.loads(out))
        check(got == torch_value(loaded), 'show --json: %r, torch %r' % (got, torch_value(loaded)))
        check(got['a'] is got['b'] and got['c'][0] is got['a'], 'show --json: not shared')


def shared_module(d):
    lin = torch.nn.Linear(2, 2)
    m = torch.nn.Module()
    m.a = lin
    m.b = lin
    src = os.path.join(d, 'module.pt')
    torch.save(m, src)
    want = list(torch.load(src).state_dict().keys())
    check(want == ['a.weight', 'a.bias', 'b.weight', 'b.bias'], 'torch keys %r' % want)
    try:
        got = [g['path'] for g in ptio_interop.ptio_listing(src)]
        check(got == want, 'module: ptio %r, torch state_dict %r' % (got, want))
    except RuntimeError as e:
        check(False, str(e))
    # Submodule laughs: 2^30 state_dict names (PyTorch's own state_dict() would not finish).
    cur = torch.nn.Linear(1, 1)
    for _ in range(30):
        up = torch.nn.Module()
        up.a = cur
        up.b = cur
        cur = up
    bomb = os.path.join(d, 'module_laughs.pt')
    torch.save(cur, bomb)
    check(os.path.getsize(bomb) < 64 << 10, 'module_laughs.pt is %d bytes' % os.path.getsize(bomb))
    code, out, err, rss = run('tensors', bomb)
    check(code == 2 and 'submodules shared under several names' in err,
          'tensors module_laughs.pt: exit %d %s' % (code, err[-400:]))
    check(rss < MAX_RSS or sanitized(), 'tensors module_laughs.pt: peak RSS %d MiB' % (rss >> 20))


def budget(d):
    src = os.path.join(d, 'strings.pt')
    s = 'x' * 1000
    torch.save([s] * 200, src)  # one string, 200 references: ~200 KB of repr
    code, out, err, _ = run('show', src)
    check(code == 0 and len(out) > 200000, 'show strings.pt: exit %d, %d bytes' % (code, len(out)))
    for args in (['--max-output', '100KiB'], ['--json', '--max-output', '100000']):
        code, out, err, _ = run('show', *args, src)
        check(code == 2 and out == b'' and src in err and '--max-output' in err and
              ('102400 bytes' in err or '100000 bytes' in err),
              'show %s: exit %d %r %s' % (' '.join(args), code, out[:100], err))
    code, out, err, _ = run('show', '--max-output', '-5', src)
    check(code == 64, 'show --max-output -5: exit %d %s' % (code, err))


def main():
    with tempfile.TemporaryDirectory() as d:
        shared_dict(d)
        shared_module(d)
        budget(d)
        laughs(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
