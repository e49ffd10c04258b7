#!/usr/bin/env python3
# `ptio tensors`, `show` and `cat` check the CRC-32s of the zip records they read (from the
# new-user trial: a damaged checkpoint was listed with wrong sha256s/values and exit 0, while
# `verify` and `convert` fail it):
#  - data.pkl (and a TorchScript archive's pickles) always: a byte changed in a key name is exit 2
#    naming the file, the record and its data offset, for `tensors`, `show` and `cat` alike;
#  - a storage record when its elements are read (`tensors --json`/`--stats`, `show --json`,
#    `cat` of a tensor in it): exit 2 the same way; plain `tensors`/`show`, which read no
#    elements, and `cat` of a tensor in another storage, still exit 0;
#  - `--no-verify-crc` reads the damaged bytes as they are (exit 0, the damaged values);
#  - an intact file lists the sha256 PyTorch's bytes give.
import hashlib
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio
damage = ptio_interop.damage_record
check = ptio_interop.Checks()


def main():
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        ckpt = os.path.join(d, 'ckpt.pt')
        weight, bias = torch.randn(30, 40), torch.randn(40)
        torch.save({'weight': weight, 'bias': bias}, ckpt)
        model = os.path.join(d, 'model.pt')
        ptio_interop.scripted_linear(model, 30, 40)

        # Intact: exit 0, sha256 of the elements as PyTorch holds them.
        p, text = ptio('tensors', '--json', ckpt)
        check(p.returncode == 0, 'tensors --json intact: %s' % text)
        rows = {r['path']: r for r in json.loads(p.stdout)}
        check(rows['weight']['sha256'] == hashlib.sha256(weight.numpy().tobytes()).hexdigest(),
              'intact sha256 differs from PyTorch')

        # data.pkl damaged: the key 'weight' reads 'Xeight'; PyTorch 1.13 loads it (no CRC check).
        bad_pkl = os.path.join(d, 'bad-pkl.pt')
        record, offset = damage(ckpt, bad_pkl, '/data.pkl', find=b'weight')
        check('Xeight' in torch.load(bad_pkl), 'PyTorch does not load %s' % bad_pkl)
        prefix = 'ptio: error: %s: %s @ 0x%x: CRC-32 of the data is ' % (bad_pkl, record, offset)
        for cmd in (['tensors'], ['tensors', '--json'], ['show'], ['show', '--json'],
                    ['cat', bad_pkl, 'bias']):
            args = cmd if cmd[0] == 'cat' else cmd + [bad_pkl]
            p, text = ptio(*args)
            check(p.returncode == 2 and text.startswith(prefix) and '--no-verify-crc' in text,
                  '%s of a damaged data.pkl: exit %d: %s' % (' '.join(cmd), p.returncode, text))
        p, text = ptio('tensors', '--no-verify-crc', bad_pkl)
        check(p.returncode == 0 and 'Xeight' in text, '--no-verify-crc: %s' % text)

        # A storage damaged (data/0 is `weight`, data/1 `bias`): checked when its elements are read.
        for src, tensor, other in ((ckpt, 'weight', 'bias'), (model, 'fc.weight', 'fc.bias')):
            bad = src[:-3] + '-bad.pt'
            record, offset = damage(src, bad, '/data/0')
            first = {'weight': weight, 'fc.weight': None}[tensor]
            prefix = 'ptio: error: %s: %s @ 0x%x: CRC-32 of the data is ' % (bad, record, offset)
            for args in (['tensors', '--json', bad], ['tensors', '--stats', bad],
                         ['tensors', '--json', '--filter', tensor, bad],
                         ['show', '--json', bad], ['cat', bad, tensor],
                         ['cat', '--json', bad, tensor], ['cat', '--verify-crc', bad, tensor]):
                if src == model and args[0] == 'show':
                    continue  # show --json of a module prints no state_dict sha256s
                p, text = ptio(*args)
                check(p.returncode == 2 and text.startswith(prefix),
                      '%s: exit %d: %s' % (' '.join(args), p.returncode, text))
            # Nothing read of the damaged storage: exit 0 as before.
            for args in (['tensors', bad], ['show', bad], ['cat', bad, other],
                         ['tensors', '--json', '--filter', other, bad]):
                p, text = ptio(*args)
                check(p.returncode == 0, '%s: exit %d: %s' % (' '.join(args), p.returncode, text))
            # Asked for: the damaged values as they are.
            p, text = ptio('tensors', '--json', '--no-verify-crc', bad)
            check(p.returncode == 0, 'tensors --json --no-verify-crc: %s' % text)
            if first is not None and p.returncode == 0:
                row = {r['path']: r for r in json.loads(p.stdout)}[tensor]
                check(row['sha256'] != hashlib.sha256(first.numpy().tobytes()).hexdigest(),
                      'the damaged bytes hash as the intact ones')
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
