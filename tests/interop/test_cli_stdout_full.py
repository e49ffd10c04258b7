#!/usr/bin/env python3
# A writing command whose standard output fails after it wrote its file (`> /dev/full`, a closed
# pipe): OUT is complete (renamed into place), only the `wrote OUT ...` summary is lost. The
# command still exits 4 (an output could not be written, docs/cli.md), but says OUT was written
# completely (it said only "cannot write to standard output", and exit 4 is documented as "OUT is
# left as it was", which was false). Checked for convert (zip, legacy, safetensors, TorchScript),
# extract RECORD -o OUT, extract --code DIR, extra --set -o OUT and apply, on files PyTorch 1.13
# wrote: each OUT equals the one written with a working stdout and loads in PyTorch, no temporary
# is left, and an OUT that existed before is replaced.
import filecmp
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()


def main():
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        ckpt = os.path.join(d, 'ckpt.pt')
        torch.save({'w': torch.randn(4, 5), 'b': torch.arange(3)}, ckpt)
        model = os.path.join(d, 'model.pt')
        ptio_interop.scripted_linear(model, 3, 2, times2=True, extra_files={'meta.txt': b'm'})
        sd = os.path.join(d, 'sd.pt')
        torch.save({'fc.weight': torch.ones(2, 3), 'fc.bias': torch.zeros(2)}, sd)
        payload = os.path.join(d, 'payload.txt')
        with open(payload, 'wb') as f:
            f.write(b'hello')

        # (label, args with {OUT}, output kind: 'file' | 'dir', loader or None)
        cases = [
            ('convert zip', ['convert', ckpt, '{OUT}'], 'file', torch.load),
            ('convert legacy', ['convert', '--legacy', ckpt, '{OUT}'], 'file', torch.load),
            ('convert safetensors', ['convert', ckpt, '{OUT}.safetensors'], 'file', None),
            ('convert torchscript', ['convert', model, '{OUT}'], 'file', torch.jit.load),
            ('extract RECORD', ['extract', ckpt, 'data.pkl', '-o', '{OUT}'], 'file', None),
            ('extract --code', ['extract', model, '--code', '{OUT}'], 'dir', None),
            ('extra --set', ['extra', model, '--set', 'note.txt=' + payload, '-o', '{OUT}'],
             'file', torch.jit.load),
            ('apply', ['apply', model, sd, '-o', '{OUT}'], 'file', torch.jit.load),
        ]
        for label, args, kind, loader in cases:
            # The same name in two folders: a zip's archive folder is OUT's base name.
            name = label.replace(' ', '_').replace('-', '')
            os.makedirs(os.path.join(d, 'ref'), exist_ok=True)
            os.makedirs(os.path.join(d, 'out'), exist_ok=True)
            ref = os.path.join(d, 'ref', name)
            out = os.path.join(d, 'out', name)
            suffix = '.safetensors' if args[-1].endswith('.safetensors') else ''
            ok, _ = ptio_interop.ptio(*[a.replace('{OUT}', ref) for a in args])
            if not check(ok.returncode == 0 and b'wrote ' in ok.stdout,
                         '%s: exit %d with a working stdout: %s' % (label, ok.returncode,
                                                                    ok.stderr)):
                continue
            if kind == 'file':  # an OUT that existed before is replaced
                with open(out + suffix, 'wb') as f:
                    f.write(b'old contents')
            with open('/dev/full', 'wb') as full:
                p, _ = ptio_interop.ptio(*[a.replace('{OUT}', out) for a in args], stdout=full)
            err = p.stderr.decode('utf-8', 'replace')
            check(p.returncode == 4, '%s > /dev/full: exit %d (%s)' % (label, p.returncode, err))
            check('cannot write to standard output' in err and
                  'written completely' in err and 'summary' in err,
                  '%s > /dev/full: message does not say OUT was written: %s' % (label, err))
            if kind == 'file':
                check((out + suffix) in err, '%s: OUT not named: %s' % (label, err))
                check(filecmp.cmp(ref + suffix, out + suffix, shallow=False),
                      '%s: OUT differs from the one written with a working stdout' % label)
                if loader is not None:
                    try:
                        loader(out)
                    except Exception as e:  # noqa: BLE001
                        check(False, '%s: PyTorch cannot load OUT: %s' % (label, e))
            else:
                cmp = filecmp.dircmp(ref, out)
                check(os.listdir(ref) and not cmp.left_only and not cmp.right_only and
                      not cmp.diff_files, '%s: DIR differs from the reference' % label)
                check('files were written completely' in err or 'written completely' in err,
                      '%s: %s' % (label, err))
            left = [n for n in os.listdir(os.path.join(d, 'out')) if '.tmp.' in n]
            check(not left, '%s: temporaries left: %s' % (label, left))

        # A closed pipe is the same failure (EPIPE): the file is written, exit 4, said so.
        out = os.path.join(d, 'piped.pt')
        r, w = os.pipe()
        os.close(r)
        with os.fdopen(w, 'wb') as closed:
            p, _ = ptio_interop.ptio('convert', ckpt, out, stdout=closed)
        err = p.stderr.decode('utf-8', 'replace')
        check(p.returncode == 4 and out + ' was written completely' in err,
              'convert | closed pipe: exit %d: %s' % (p.returncode, err))
        check(os.path.exists(out) and torch.load(out)['w'].equal(torch.load(ckpt)['w']),
              'convert | closed pipe: OUT missing or wrong')
        # A read-only command keeps the plain message (nothing was written).
        with open('/dev/full', 'wb') as full:
            p, _ = ptio_interop.ptio('tensors', ckpt, stdout=full)
        err = p.stderr.decode('utf-8', 'replace')
        check(p.returncode == 4 and 'cannot write to standard output' in err and
              'written' not in err, 'tensors > /dev/full: exit %d: %s' % (p.returncode, err))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
