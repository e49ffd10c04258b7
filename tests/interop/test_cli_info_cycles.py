#!/usr/bin/env python3
# `ptio info` of a checkpoint whose pickle holds reference cycles (a list appended into itself, a
# dict that contains itself: `l.append(l)`, `d['self'] = d`, both in torch.save files PyTorch
# loads): info lists the tensors and frees the loaded object, as every other command does
# (break_cycles: there is no garbage collector). It used to leave the cycles allocated, which a
# sanitizer build reports as a leak and turns into exit 1 (LeakSanitizer) on main's ASan build
# (trial, session 10: `ptio info` was the one command of eleven with the leak). Under a release
# build the test checks what info prints.
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()


def main():
    env = dict(os.environ)
    env['ASAN_OPTIONS'] = 'detect_leaks=1:' + env.get('ASAN_OPTIONS', '')
    os.environ.update(env)
    with tempfile.TemporaryDirectory() as d:
        l = [torch.ones(2)]
        l.append(l)
        dd = {'t': torch.zeros(3)}
        dd['self'] = dd
        for legacy in (False, True):
            path = os.path.join(d, 'cyc%s.pt' % ('_legacy' if legacy else ''))
            torch.save({'l': l, 'd': dd}, path, _use_new_zipfile_serialization=not legacy)
            back = torch.load(path)
            check(back['l'][1] is back['l'], 'torch does not load the cycle')
            for args in (['info', path], ['info', path, '--json']):
                p, text = ptio_interop.ptio(*args)
                what = ' '.join(args[:1] + args[2:]) + (' (legacy)' if legacy else '')
                check(p.returncode == 0, '%s: exit %d: %s' % (what, p.returncode, text[-600:]))
                check('LeakSanitizer' not in text, '%s: leak: %s' % (what, text[-600:]))
                check('2 in 2 storages' in text or '"tensors": 2' in text,
                      '%s: tensors not counted: %s' % (what, text[:400]))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
