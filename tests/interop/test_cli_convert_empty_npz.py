#!/usr/bin/env python3
# `ptio convert` of a checkpoint without tensors ({'epoch': 3}) to .npz (stored and compressed)
# and ptio::save_npz of no tensors write the empty archive numpy.savez() writes (its 22-byte end
# record), which numpy.load opens (no arrays). ptio used to write the zip64 end records first
# (`PK\6\6` at byte 0), which numpy.load does not recognise as a zip: "Cannot load file containing
# pickled data when allow_pickle=False" (new-user trial, session 10).
import io
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()


def main():
    want = io.BytesIO()
    np.savez(want)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'no_tensors.pt')
        torch.save({'epoch': 3}, src)
        for extra in ([], ['--to', 'npz-compressed']):
            out = os.path.join(d, 'out%d.npz' % len(extra))
            p, text = ptio_interop.ptio('convert', src, out, *extra)
            what = ' '.join(['convert'] + extra)
            check(p.returncode == 0, '%s: exit %d: %s' % (what, p.returncode, text))
            check('0 tensors' in text, '%s: no "0 tensors" in %r' % (what, text))
            try:
                files = np.load(out).files
                check(files == [], '%s: numpy lists %r' % (what, files))
            except Exception as e:  # noqa: BLE001
                check(False, '%s: numpy.load refuses it: %s' % (what, e))
            data = open(out, 'rb').read() if os.path.exists(out) else b''
            check(data == want.getvalue(), '%s: %r, numpy.savez() writes %r' % (what, data[:40],
                                                                                want.getvalue()))
        # A checkpoint with tensors still converts as before.
        src2 = os.path.join(d, 'one.pt')
        torch.save({'w': torch.arange(3.)}, src2)
        out2 = os.path.join(d, 'one.npz')
        p, text = ptio_interop.ptio('convert', src2, out2)
        check(p.returncode == 0 and np.load(out2)['w'].tolist() == [0.0, 1.0, 2.0],
              'one tensor: exit %d: %s' % (p.returncode, text))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
