#!/usr/bin/env python3
# `ptio convert` of a zip input whose storage bytes are damaged (one byte flipped inside a stored
# data/0 record; the CRC-32 in the headers still describes the original bytes). PyTorch 1.13 loads
# such a file (it does not check CRC-32s) but ptio used to copy the record's stale CRC-32 with the
# mapped bytes (Storage::from_record_view), writing an OUT that `ptio verify` fails. Now:
#  - convert checks every stored record's CRC-32 first (default, `--verify-crc`): exit 2 naming the
#    file, the record and its data offset, and OUT is not written (an existing OUT is kept);
#    for a torch.save checkpoint (to .pt, .safetensors) and a TorchScript archive alike;
#  - `--no-verify-crc` converts the bytes as they are (the old behaviour, asked for);
#  - an intact input converts and verifies as before.
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio
check = ptio_interop.Checks()


def main():
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        ckpt = os.path.join(d, 'ckpt.pt')
        torch.save({'weight': torch.randn(30, 40), 'bias': torch.randn(40)}, ckpt)
        model = os.path.join(d, 'model.pt')
        ptio_interop.scripted_linear(model, 30, 40)
        for src, outs in ((ckpt, ['o.pt', 'o.safetensors']), (model, ['m.pt'])):
            bad = src[:-3] + '-bad.pt'
            record, offset = ptio_interop.damage_record(src, bad, '/data/0')
            loaded = torch.jit.load(bad) if src == model else torch.load(bad)  # PyTorch loads it
            check(loaded is not None, 'PyTorch does not load %s' % bad)
            for name in outs:
                out = os.path.join(d, name)
                with open(out, 'wb') as f:
                    f.write(b'previous')
                p, text = ptio('convert', bad, out)
                check(p.returncode == 2, 'convert %s %s: exit %d: %s' %
                      (os.path.basename(bad), name, p.returncode, text))
                check(text.startswith('ptio: error: %s: %s @ 0x%x: CRC-32 of the data is ' %
                                      (bad, record, offset)) and 'nothing was written' in text,
                      'convert %s %s: message does not name file, record, offset: %s' %
                      (os.path.basename(bad), name, text))
                check(open(out, 'rb').read() == b'previous', '%s: OUT was replaced' % name)
                check(not [n for n in os.listdir(d) if '.tmp.' in n], 'temporary left')
                # --verify-crc is the default; said explicitly, the same.
                p2, _ = ptio('convert', '--verify-crc', bad, out)
                check(p2.returncode == 2, '--verify-crc: exit %d' % p2.returncode)
                # Asked for: the damaged bytes are converted as they are.
                p3, text3 = ptio('convert', '--no-verify-crc', bad, out)
                check(p3.returncode == 0 and 'wrote ' in text3,
                      '--no-verify-crc %s: exit %d: %s' % (name, p3.returncode, text3))
            if src == model:
                # extra -o and apply re-save MODEL's storages too: the same check, OUT untouched.
                note = os.path.join(d, 'note.txt')
                with open(note, 'w') as f:
                    f.write('hello')
                sd = os.path.join(d, 'sd.pt')
                torch.save(torch.jit.load(model).state_dict(), sd)
                for cmd in (['extra', bad, '--set', 'note=' + note, '-o'],
                            ['apply', bad, sd, '-o']):
                    out = os.path.join(d, 'e.pt')
                    with open(out, 'wb') as f:
                        f.write(b'previous')
                    p, text = ptio(*cmd, out)
                    check(p.returncode == 2 and
                          text.startswith('ptio: error: %s: %s @ 0x%x: CRC-32 of the data is ' %
                                          (bad, record, offset)) and 'nothing was written' in text,
                          '%s of a damaged MODEL: exit %d: %s' % (cmd[0], p.returncode, text))
                    check(open(out, 'rb').read() == b'previous', '%s: OUT was replaced' % cmd[0])
                    p, text = ptio(*[model if x == bad else x for x in cmd], out)
                    check(p.returncode == 0, '%s of the intact MODEL: %s' % (cmd[0], text))
                    v, vt = ptio('verify', out)
                    check(v.returncode == 0, 'verify after %s: %s' % (cmd[0], vt))
            # An intact input converts, and OUT verifies.
            out = os.path.join(d, 'good-' + outs[0])
            p, text = ptio('convert', src, out)
            check(p.returncode == 0, 'convert intact %s: %s' % (src, text))
            v, vt = ptio('verify', out)
            check(v.returncode == 0, 'verify of the intact conversion: %s' % vt)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
