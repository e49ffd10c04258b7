#!/usr/bin/env python3
# Tensors whose keys flatten to one name (`ptio tensors` joins keys with `.` and writes an int key
# as its digits, as the corpus's Walker does): {"a.b": x, "a": {"b": y}}, {0: x, "0": y}, a list
# index against a string key "0". Files written by PyTorch 1.13:
#  - `ptio tensors` lists every tensor, once each, with the values PyTorch holds;
#  - `ptio diff X X` is equal (exit 0): the tensors are paired by key path (the first diff paired
#    both `a.b` of A with the last `a.b` of B: "different");
#  - tensors are paired by key path: a real difference in `["a"]["b"]` is reported on
#    `a.b (as ["a"]["b"])` only, a missing one as removed/added (also when B lacks the first of
#    A's two), and the note/`collisions` say which names collide;
#  - `cat` of a shared name prints the first and names the key paths; a key path selects one;
#  - the --max-expanded-bytes budget charges each of two colliding expanded views (it was charged
#    once per name, so colliding names read unbounded expanded bytes).
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def ptio(*args):
    return subprocess.run([PTIO, *args], capture_output=True, timeout=120)


def text(p):
    return (p.stdout + p.stderr).decode('utf-8', 'replace')


def main():
    with tempfile.TemporaryDirectory() as d:
        def save(name, obj):
            path = os.path.join(d, name)
            torch.save(obj, path)
            return path, obj

        cases = [
            save('dotted.pt', {'a.b': torch.ones(2), 'a': {'b': torch.full((2,), 5.0)}}),
            save('intkey.pt', {'x': {0: torch.full((3,), 3.0), '0': torch.full((3,), 4.0)}}),
            save('index.pt', {'l': [torch.arange(4)], 'l.0': torch.arange(4) * 2}),
        ]
        for path, obj in cases:
            base = os.path.basename(path)
            want = ptio_interop.torch_listing(torch.load(path))
            got = ptio_interop.ptio_listing(path)
            check(len(got) == len(want) and len({g['path'] for g in got}) == len(got) - 1,
                  '%s: tensors lists %s, torch %s' % (base, [g['path'] for g in got],
                                                     [w['path'] for w in want]))
            for problem in ptio_interop.diff_listings(want, got):
                check(False, '%s: tensors: %s' % (base, problem))
            plain = ptio('tensors', path)
            check(plain.returncode == 0 and text(plain).count('\n') == len(want) + 2,
                  '%s: plain tensors: %s' % (base, text(plain)))

            p = ptio('diff', path, path)
            check(p.returncode == 0 and 'equal: 0 changed' in text(p),
                  '%s: diff X X exit %d: %s' % (base, p.returncode, text(p)))
            check('note: ' in text(p) and 'names 2 tensors in A and 2 in B' in text(p),
                  '%s: diff X X does not say names collide: %s' % (base, text(p)))
            j = ptio('diff', '--json', path, path)
            doc = json.loads(j.stdout) if j.returncode in (0, 1) else {}
            check(j.returncode == 0 and doc.get('equal') is True and
                  len(doc.get('tensors', [])) == len(want) and
                  all(t['status'] == 'equal' for t in doc['tensors']) and
                  len(doc.get('collisions', [])) == 1 and doc['collisions'][0]['a'] == 2 and
                  doc['collisions'][0]['b'] == 2,
                  '%s: diff --json X X exit %d: %s' % (base, j.returncode, text(j)))

        # A difference in the second tensor named a.b only.
        dotted = cases[0][0]
        other, _ = save('dotted2.pt', {'a.b': torch.ones(2), 'a': {'b': torch.full((2,), 7.0)}})
        p = ptio('diff', '--json', dotted, other)
        doc = json.loads(p.stdout) if p.returncode in (0, 1) else {}
        rows = [(t['name'], t.get('access'), t['status']) for t in doc.get('tensors', [])]
        check(p.returncode == 1 and
              rows == [('a.b', '["a.b"]', 'equal'), ('a.b', '["a"]["b"]', 'different')] and
              doc['tensors'][1]['max_abs_diff'] == 2.0,
              'dotted vs dotted2: exit %d rows %s' % (p.returncode, rows))
        h = ptio('diff', dotted, other)
        check(h.returncode == 1 and '~ a.b (as ["a"]["b"])  float32 [2]  max abs diff 2,' in
              text(h) and 'different: 1 changed, 0 added, 0 removed, 1 equal' in text(h),
              'dotted vs dotted2 (human): %s' % text(h))
        # One a.b in B: A's other a.b is removed, the one with the same key compared.
        single, _ = save('single.pt', {'a.b': torch.ones(2)})
        p = ptio('diff', dotted, single)
        check(p.returncode == 1 and '- a.b (as ["a"]["b"])  float32 [2]  (only in A)' in text(p)
              and 'different: 0 changed, 0 added, 1 removed, 1 equal' in text(p) and
              'names 2 tensors in A and 1 in B' in text(p),
              'dotted vs single: exit %d: %s' % (p.returncode, text(p)))
        p = ptio('diff', '--json', single, dotted)
        doc = json.loads(p.stdout) if p.returncode in (0, 1) else {}
        check(p.returncode == 1 and
              [(t['name'], t.get('access')) for t in doc.get('added', [])] ==
              [('a.b', '["a"]["b"]')],
              'single vs dotted: %s' % text(p))
        # B lacks the first of A's two a.b (pairing by order among the name's tensors paired A's
        # ["a.b"] (ones) with B's ["a"]["b"] (fives) and reported a difference that is not there).
        nested, _ = save('nested.pt', {'a': {'b': torch.full((2,), 5.0)}})
        p = ptio('diff', '--json', dotted, nested)
        doc = json.loads(p.stdout) if p.returncode in (0, 1) else {}
        check(p.returncode == 1 and
              [(t['name'], t.get('access')) for t in doc.get('removed', [])] ==
              [('a.b', '["a.b"]')] and doc.get('added') == [] and
              [(t['name'], t.get('access'), t['status']) for t in doc.get('tensors', [])] ==
              [('a.b', '["a"]["b"]', 'equal')],
              'dotted vs nested: exit %d: %s' % (p.returncode, text(p)))
        # The int key 0 and the str key "0", and an index against a str key, are told apart.
        intkey = cases[1][0]
        swapped, _ = save('intkey_swapped.pt', {'x': {'0': torch.full((3,), 4.0),
                                                      0: torch.full((3,), 3.0)}})
        p = ptio('diff', intkey, swapped)
        check(p.returncode == 0 and 'equal: 0 changed, 0 added, 0 removed, 2 equal' in text(p),
              'intkey vs the same keys in the other order: exit %d: %s' % (p.returncode, text(p)))
        # cat: the first of a shared name, a note naming both key paths, and a key path as NAME.
        c = ptio('cat', '--json', dotted, 'a.b')
        check(c.returncode == 0 and json.loads(c.stdout)['values'] == [1.0, 1.0] and
              '2 tensors of' in c.stderr.decode() and '["a.b"] ["a"]["b"]' in c.stderr.decode(),
              'cat of a shared name: exit %d: %s' % (c.returncode, text(c)))
        c = ptio('cat', '--json', dotted, '["a"]["b"]')
        check(c.returncode == 0 and json.loads(c.stdout)['values'] == [5.0, 5.0] and
              not c.stderr, 'cat by key path: exit %d: %s' % (c.returncode, text(c)))
        c = ptio('cat', '--json', intkey, '["x"][0]')
        check(c.returncode == 0 and json.loads(c.stdout)['values'] == [3.0, 3.0, 3.0],
              'cat of an int key by key path: exit %d: %s' % (c.returncode, text(c)))

        # diff of sparse tensors compares their indices and values (it printed "not compared"
        # and counted them as equal, exit 0, when the values differed).
        i = torch.tensor([[0, 1, 1], [2, 0, 2]])
        sp_a, _ = save('sp_a.pt', {'sp': torch.sparse_coo_tensor(i, torch.tensor([3., 4., 5.]),
                                                                 (2, 3))})
        sp_b, _ = save('sp_b.pt', {'sp': torch.sparse_coo_tensor(i, torch.tensor([3., 9., 5.]),
                                                                 (2, 3))})
        sp_c, _ = save('sp_c.pt', {'sp': torch.sparse_coo_tensor(
            torch.tensor([[0, 1, 1], [2, 0, 1]]), torch.tensor([3., 4., 5.]), (2, 3))})
        for other, rc, status, mism in ((sp_a, 0, 'equal', 0), (sp_b, 1, 'different', 1),
                                        (sp_c, 1, 'different', 1)):
            p = ptio('diff', '--json', sp_a, other)
            doc = json.loads(p.stdout) if p.returncode in (0, 1) else {}
            rows = doc.get('tensors', [])
            check(p.returncode == rc and len(rows) == 1 and rows[0]['status'] == status and
                  rows[0].get('mismatched') == mism,
                  'diff of sparse tensors vs %s: exit %d: %s' % (os.path.basename(other),
                                                                 p.returncode, text(p)))
        p = ptio('diff', '--json', sp_a, sp_b)
        doc = json.loads(p.stdout) if p.returncode in (0, 1) else {}
        check(doc.get('tensors', [{}])[0].get('max_abs_diff') == 5.0,
              'sparse max abs diff: %s' % text(p))
        # Other layouts are not compared, and not counted as equal; meta tensors are.
        dense = torch.tensor([[0., 1, 0], [2, 0, 0]])
        coo, _ = save('coo.pt', {'sp': dense.to_sparse()})
        csr, _ = save('csr.pt', {'sp': dense.to_sparse_csr()})
        p = ptio('diff', coo, csr)
        check(p.returncode == 1 and 'not compared: sparse tensors of different layouts' in text(p)
              and 'different: 1 changed, 0 added, 0 removed, 0 equal' in text(p),
              'diff of COO against CSR: exit %d: %s' % (p.returncode, text(p)))
        m1, _ = save('m1.pt', {'m': torch.empty(3, device='meta')})
        p = ptio('diff', m1, m1)
        check(p.returncode == 0 and 'equal: 0 changed, 0 added, 0 removed, 1 equal' in text(p),
              'diff of meta tensors: exit %d: %s' % (p.returncode, text(p)))

        # Two colliding expanded views of 800,000 bytes each (4 bytes stored): 1.6 MB beyond
        # the storages, over a 1 MiB allowance; one of them alone fits. (diff against contiguous
        # tensors: the expansion is on one side only, so it is read and charged.)
        views, _ = save('views.pt', {'v.w': torch.zeros(1).expand(200000),
                                     'v': {'w': torch.ones(1).expand(200000)}})
        flat, _ = save('flat.pt', {'v.w': torch.zeros(200000), 'v': {'w': torch.ones(200000)}})
        for args in (['tensors', '--json'], ['diff', flat], ['cat', '--json']):
            cmd = [args[0], '--max-expanded-bytes', '1MiB', *args[1:], views]
            if args[0] == 'cat':
                cmd.append('v.w')  # cat reads one tensor: fits
            p = ptio(*cmd)
            if args[0] == 'cat':
                check(p.returncode == 0, 'cat one view: exit %d: %s' % (p.returncode,
                                                                         text(p)[-300:]))
                continue
            check(p.returncode == 2 and 'of the 1048576-byte expansion allowance' in text(p),
                  '%s of two colliding 800 kB views under 1 MiB: exit %d: %s' %
                  (args[0], p.returncode, text(p)[-300:]))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
