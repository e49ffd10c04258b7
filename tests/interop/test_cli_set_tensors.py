#!/usr/bin/env python3
# Tensors in a set or frozenset, or used as a dict key, are reached by torch.load; they were not
# listed by `tensors`, so `diff` called two files with different values in them equal (exit 0),
# `convert` to safetensors dropped them, and `convert` to a .pt file failed with an internal
# message. Now they are listed as `<item N>` / `<key N>` (sha256 equal to torch's), compared,
# and re-saved into a file torch.load reads with equal values.
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio


def main():
    check = ptio_interop.Checks()
    with tempfile.TemporaryDirectory() as d:
        a, b, k = (os.path.join(d, n) for n in ('a.pt', 'b.pt', 'k.pt'))
        torch.save({'s': {torch.ones(2)}, 'f': frozenset([torch.arange(3.)])}, a)
        torch.save({'s': {torch.full((2,), 7.)}, 'f': frozenset([torch.arange(3.)])}, b)
        torch.save({torch.ones(2, dtype=torch.float64): 'v', 'n': 1}, k)
        for path, want in ((a, [('s.<item 0>', torch.ones(2)), ('f.<item 0>', torch.arange(3.))]),
                           (k, [('<key 0>', torch.ones(2, dtype=torch.float64))])):
            got = ptio_interop.ptio_listing(path)
            expected = [dict(ptio_interop.torch_listing({'x': t})[0], path=name)
                        for name, t in want]
            for problem in ptio_interop.diff_listings(expected, got):
                check(False, '%s: %s' % (os.path.basename(path), problem))
        p, text = ptio('diff', a, b)
        check(p.returncode == 1 and 's.<item 0>' in text and '1 changed' in text,
              'diff of different set members: exit %d %s' % (p.returncode, text))
        p, text = ptio('diff', a, a)
        check(p.returncode == 0, 'diff of a file with itself: exit %d %s' % (p.returncode, text))
        for legacy in ([], ['--legacy']):
            out = os.path.join(d, 'out.pt')
            p, text = ptio('convert', *legacy, a, out)
            check(p.returncode == 0, 'convert %s: exit %d %s' % (legacy, p.returncode, text))
            if p.returncode == 0:
                back = torch.load(out)
                check(type(back['f']) is frozenset and type(back['s']) is set and
                      torch.equal(next(iter(back['s'])), torch.ones(2)) and
                      torch.equal(next(iter(back['f'])), torch.arange(3.)),
                      'convert %s: torch.load gives %r' % (legacy, back))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
