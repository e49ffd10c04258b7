#!/usr/bin/env python3
# `ptio tensors`, `show` and `cat` of a file whose pickle references a callable that would run
# code in torch.load (builtins.eval, subprocess.Popen...) list it as before, exit 0, and say so on
# stderr, naming the callables and pointing to `ptio scan` (from the new-user trial: the file was
# listed silently). A call whose result the pickle discards is named too; a plain checkpoint, or
# one with only unknown classes (torch.save(model)), gets no warning.
import os
import pickle
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


class Evil:
    def __reduce__(self):
        return (eval, ('1+1',))


class Popen:
    def __reduce__(self):
        import subprocess as sp
        return (sp.Popen, (['true'],))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 3)


def ptio(*args):
    p = subprocess.run([PTIO, *args], capture_output=True, timeout=120)
    return p, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def main():
    with tempfile.TemporaryDirectory() as d:
        evil = os.path.join(d, 'evil.pt')
        torch.save({'w': torch.ones(2), 'x': Evil(), 'p': Popen()}, evil)
        plain = os.path.join(d, 'plain.pt')
        torch.save({'w': torch.ones(2)}, plain)
        model = os.path.join(d, 'model.pt')
        torch.save(Net(), model)  # unknown classes (__main__.Net), nothing dangerous
        # A raw pickle calling eval and discarding the result (POP), returning a plain dict.
        raw = os.path.join(d, 'discard.pkl')
        with open(raw, 'wb') as f:
            f.write(b'\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R0}q\x00.')
        check(pickle.load(open(raw, 'rb')) == {}, 'the raw pickle does not load in Python')

        for args in (['tensors', evil], ['show', evil], ['cat', evil, 'w'],
                     ['tensors', '--json', evil], ['show', '--json', evil]):
            p, out, err = ptio(*args)
            check(p.returncode == 0, '%s: exit %d: %s' % (' '.join(args), p.returncode, err))
            check('ptio: warning: %s:' % evil in err and 'builtins.eval' in err and
                  # protocol 2 writes subprocess.Popen under its Python 2 name
                  ('subprocess.Popen' in err or 'commands.Popen' in err) and
                  '2 callables' in err and
                  '`ptio scan %s`' % evil in err,
                  '%s: no warning naming the callables: %r' % (' '.join(args), err))
            check('warning' not in out, '%s: the warning is on stdout' % ' '.join(args))
        p, out, err = ptio('tensors', evil)
        check(out.splitlines()[-1] == '1 tensor, 8 B', 'tensors output changed: %r' % out)
        p, out, err = ptio('show', raw)
        check(p.returncode == 0 and out.strip() == '{}' and 'builtins.eval' in err,
              'show of a discarded eval call: exit %d: %r %r' % (p.returncode, out, err))
        for args in (['tensors', plain], ['show', plain], ['cat', plain, 'w'],
                     ['tensors', model], ['show', model]):
            p, out, err = ptio(*args)
            check(p.returncode == 0 and 'warning' not in err,
                  '%s: exit %d, stderr %r' % (' '.join(args), p.returncode, err))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
