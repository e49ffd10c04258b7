#!/usr/bin/env python3
# `ptio diff A B` checks the CRC-32s of the zip records whose elements it compares, as `tensors`,
# `show` and `cat` do (from the new-user trial: a checkpoint with a damaged storage record was
# reported as "different", exit 1, with the damaged values; PyTorch 1.13 loads it without a word):
#  - a damaged storage of a compared tensor, in A or in B: exit 2 naming the file, the record and
#    its data offset, for a torch.save checkpoint and a TorchScript archive alike;
#  - a damaged data.pkl: exit 2 the same way;
#  - a damaged storage whose tensor is not compared element by element (only in one file, or its
#    shape changed) is not read: exit 1 as before;
#  - `--no-verify-crc` compares the damaged bytes as they are (exit 1, the damaged tensor differs);
#  - intact files: exit 0, and exit 1 with the difference PyTorch computes.
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio
check = ptio_interop.Checks()


def crc_error(text, path, record, offset):
    return text.startswith('ptio: error: %s: %s @ 0x%x: CRC-32 of the data is ' %
                           (path, record, offset)) and '--no-verify-crc' in text


def main():
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        ckpt = os.path.join(d, 'ckpt.pt')
        weight, bias = torch.randn(30, 40), torch.randn(40)
        torch.save({'weight': weight, 'bias': bias}, ckpt)
        model = ptio_interop.scripted_linear(os.path.join(d, 'model.pt'), 30, 40)

        # Intact: equal to itself; a changed value is a difference PyTorch agrees with.
        p, text = ptio('diff', ckpt, ckpt)
        check(p.returncode == 0, 'diff of an intact file with itself: %s' % text)
        other = os.path.join(d, 'other.pt')
        w2 = weight.clone()
        w2[3, 4] += 0.5
        torch.save({'weight': w2, 'bias': bias}, other)
        p, text = ptio('diff', '--json', ckpt, other)
        check(p.returncode == 1, 'diff of changed files: exit %d: %s' % (p.returncode, text))
        if p.returncode == 1:
            rows = {r['name']: r for r in json.loads(p.stdout)['tensors']}
            want = (weight - w2).abs().max().item()
            check(abs(rows['weight']['max_abs_diff'] - want) < 1e-6 and
                  rows['weight']['mismatched'] == 1 and rows['bias']['status'] == 'equal',
                  'diff rows: %s' % rows)

        # A damaged storage record (data/0 is `weight`; the model's is fc's weight or bias).
        for src in (ckpt, model):
            bad = src[:-3] + '-bad.pt'
            record, offset = ptio_interop.damage_record(src, bad, '/data/0')
            loaded = torch.jit.load(bad) if src == model else torch.load(bad)
            check(loaded is not None, 'PyTorch does not load %s' % bad)
            for args in (['diff', src, bad], ['diff', bad, src], ['diff', '--json', src, bad],
                         ['diff', '--verify-crc', src, bad], ['diff', '--atol', '1e9', src, bad]):
                p, text = ptio(*args)
                check(p.returncode == 2 and crc_error(text, bad, record, offset),
                      '%s: exit %d: %s' % (' '.join(args), p.returncode, text))
            p, text = ptio('diff', '--no-verify-crc', src, bad)
            check(p.returncode == 1 and 'different' in text,
                  'diff --no-verify-crc: exit %d: %s' % (p.returncode, text))

        # data.pkl damaged (the key 'bias' reads 'Xias'): exit 2 before anything is compared.
        bad_pkl = os.path.join(d, 'bad-pkl.pt')
        record, offset = ptio_interop.damage_record(ckpt, bad_pkl, '/data.pkl', find=b'bias')
        check('Xias' in torch.load(bad_pkl), 'PyTorch does not load %s' % bad_pkl)
        p, text = ptio('diff', ckpt, bad_pkl)
        check(p.returncode == 2 and crc_error(text, bad_pkl, record, offset),
              'diff with a damaged data.pkl: exit %d: %s' % (p.returncode, text))

        # The damaged storage is never compared element by element: not read, exit 1 as before.
        bad = os.path.join(d, 'ckpt-bad.pt')
        record, offset = ptio_interop.damage_record(ckpt, bad, '/data/0')
        renamed = os.path.join(d, 'renamed.pt')
        torch.save({'weight_renamed': weight, 'bias': bias}, renamed)
        reshaped = os.path.join(d, 'reshaped.pt')
        torch.save({'weight': weight.reshape(40, 30), 'bias': bias}, reshaped)
        for against in (renamed, reshaped):
            p, text = ptio('diff', bad, against)
            check(p.returncode == 1, 'diff %s %s (damaged tensor not compared): exit %d: %s' %
                  (os.path.basename(bad), os.path.basename(against), p.returncode, text))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
