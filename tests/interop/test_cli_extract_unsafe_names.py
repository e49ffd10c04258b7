#!/usr/bin/env python3
# `ptio extract --extra/--code` of a TorchScript archive holding a record named
# `PREFIX/extra/../../TRAV` (or an absolute one): exit 3 as docs/cli.md's exit-code table and
# extract section say (a readable input the command cannot do what was asked with: the name
# would leave DIR), naming the record, with nothing written anywhere. It used to exit 2 (the
# strict zip reader refused the whole archive at open), from the new-user trial. One record of
# such an archive can still be copied out under a name of the user's choice.
import os
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio
check = ptio_interop.Checks()


def main():
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, 'model.pt')
        ptio_interop.scripted_linear(model, 2, 3, extra_files={'meta.txt': 'hello'})
        prefix = zipfile.ZipFile(model).namelist()[0].split('/')[0]
        for name, extra in (('trav', '/extra/../../TRAV'), ('abs', '/extra//%s/ABS' % d.strip('/')),
                            ('code', '/code/../../TRAV2.py')):
            bad = os.path.join(d, name + '.pt')
            with zipfile.ZipFile(model) as zi, zipfile.ZipFile(bad, 'w') as zo:
                for i in zi.infolist():
                    zo.writestr(i, zi.read(i))
                zo.writestr(prefix + extra, 'x')
            out = os.path.join(d, 'out-' + name, 'sub')
            flag = '--code' if name == 'code' else '--extra'
            p, text = ptio('extract', bad, flag, out)
            check(p.returncode == 3, '%s %s: exit %d: %s' % (name, flag, p.returncode, text))
            check(("record name '%s'" % extra.lstrip('/')) in text and 'nothing was extracted' in text,
                  '%s: the record is not named: %s' % (name, text))
            check(not os.path.exists(out), '%s: something was extracted' % name)
            for stray in ('TRAV', 'ABS', 'TRAV2.py'):
                check(not os.path.exists(os.path.join(d, stray)), '%s: %s written' % (name, stray))
            # The archive reads: ls lists it, one record is copied out.
            p, text = ptio('ls', bad)
            check(p.returncode == 0, 'ls %s: exit %d: %s' % (name, p.returncode, text))
            one = os.path.join(d, name + '-data.pkl')
            p, text = ptio('extract', bad, 'data.pkl', '-o', one)
            check(p.returncode == 0 and open(one, 'rb').read() ==
                  zipfile.ZipFile(model).read(prefix + '/data.pkl'),
                  'extract data.pkl of %s: exit %d: %s' % (name, p.returncode, text))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
