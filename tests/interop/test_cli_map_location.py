#!/usr/bin/env python3
# `--map-location LOC` (tensors, show, info, cat, diff, convert, apply): torch.load's map_location
# (torch.jit.load's for TorchScript archives).
# A checkpoint whose storages are tagged with a device torch.load cannot restore without its plugin
# (Ascend's 'npu', here made by rewriting the 'cpu' tag of a real torch.save file) is refused by
# torch.load and by ptio, which names the option; with `--map-location cpu` both load it, with the
# same values, and `convert` writes a file torch.load(weights_only=True) reads.
import collections
import json
import os
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio


class Scripted(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.arange(3, dtype=torch.float32))

    def forward(self, x):
        return x + self.w


def retag(src, dst, old, new):
    """Copies the zip `src` to `dst` with the storage location string `old` in data.pkl replaced
    by `new` (same length: BINUNICODE's length stays right); zipfile writes the new CRC-32."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith('/data.pkl'):
                needle = b'X\x03\x00\x00\x00' + old
                assert needle in data, info.filename
                data = data.replace(needle, b'X\x03\x00\x00\x00' + new)
            zout.writestr(zipfile.ZipInfo(info.filename), data)


def main():
    check = ptio_interop.Checks()
    g = torch.Generator().manual_seed(3)
    sd = collections.OrderedDict([('w', torch.randn(4, 3, generator=g)),
                                  ('b', torch.arange(3, dtype=torch.int64))])
    with tempfile.TemporaryDirectory() as d:
        base, npu = os.path.join(d, 'base.pt'), os.path.join(d, 'npu.pt')
        torch.save(sd, base)
        retag(base, npu, b'cpu', b'npu')
        try:
            torch.load(npu)
            check(False, 'torch.load read the npu-tagged file without map_location')
        except Exception as e:  # noqa: BLE001 (torch's RuntimeError)
            check('npu' in str(e), 'torch.load: %s' % e)
        expected = ptio_interop.torch_listing(torch.load(npu, map_location='cpu'))

        for cmd in (['tensors'], ['show'], ['info'], ['cat', npu, 'w']):
            args = cmd if cmd[0] == 'cat' else cmd + [npu]
            p, text = ptio(*args)
            check(p.returncode == 2 and "tagged with 'npu'" in text and '--map-location cpu' in text,
                  '%s without --map-location: exit %d %s' % (cmd[0], p.returncode, text))
        got = ptio_interop.ptio_listing(npu, ['--map-location', 'cpu'])
        for problem in ptio_interop.diff_listings(expected, got):
            check(False, 'tensors --map-location cpu: ' + problem)
        p, text = ptio('show', '--map-location', 'cpu', npu)
        check(p.returncode == 0 and "'w'" in text, 'show --map-location cpu: %d %s' % (p.returncode, text))
        p, text = ptio('info', '--json', '--map-location', 'cpu', npu)
        check(p.returncode == 0 and json.loads(p.stdout)['tensors']['tensors'] == 2,
              'info --map-location cpu: %d %s' % (p.returncode, text))
        p, text = ptio('diff', '--map-location', 'cpu', npu, base)
        check(p.returncode == 0, 'diff --map-location cpu against the cpu original: %d %s' %
              (p.returncode, text))
        out = os.path.join(d, 'cpu.pt')
        p, text = ptio('convert', '--map-location', 'cpu', npu, out)
        check(p.returncode == 0, 'convert --map-location cpu: %d %s' % (p.returncode, text))
        if p.returncode == 0:
            back = torch.load(out, weights_only=True)
            check(list(back) == ['w', 'b'] and all(torch.equal(back[k], sd[k]) for k in sd),
                  'convert output: %r' % (back,))
        # TorchScript: the option is torch.jit.load's map_location. An 'xla' tag, which
        # torch.jit.load refuses without one, loads with it, in both.
        jm, jx = os.path.join(d, 'jm.pt'), os.path.join(d, 'jm_xla.pt')
        torch.jit.save(torch.jit.script(Scripted()), jm)
        retag(jm, jx, b'cpu', b'xla')
        try:
            torch.jit.load(jx)
            check(False, 'torch.jit.load read the xla-tagged archive without map_location')
        except Exception as e:  # noqa: BLE001
            check('XLA' in str(e), 'torch.jit.load: %s' % e)
        want = torch.jit.load(jx, map_location='cpu').state_dict()['w']
        p, text = ptio('tensors', jx)
        check(p.returncode == 2 and 'got XLA' in text and '--map-location cpu' in text,
              'TorchScript xla tag without --map-location: %d %s' % (p.returncode, text))
        got = ptio_interop.ptio_listing(jx, ['--map-location', 'cpu'])
        check(len(got) == 1 and got[0]['path'] == 'w' and
              got[0]['sha256'] == ptio_interop.torch_listing({'w': want})[0]['sha256'],
              'TorchScript tensors --map-location cpu: %r' % (got,))
        # An empty location is no device (torch.load(map_location='') restores nothing).
        p, text = ptio('tensors', '--map-location', '', npu)
        check(p.returncode == 64 and 'empty location' in text,
              'map_location "": %d %s' % (p.returncode, text))
        # A target torch.load cannot restore to is a usage of the option it refuses too.
        p, text = ptio('tensors', '--map-location', 'xyz', npu)
        check(p.returncode != 0 and 'xyz' in text, 'map_location xyz: %d %s' % (p.returncode, text))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
