#!/usr/bin/env python3
# Small CLI faults from the new-user trial, each with what it says now:
#  - `ptio tensors -` (stdin a terminal, a pipe, /dev/null): a usage error (64) saying ptio does
#    not read standard input and to give the file's path, not "-: cannot open" (exit 2);
#  - `convert` of a 200,000-deep nested list: exit 2 (a bound, as docs/cli.md's table gives for
#    --max-expanded-bytes and the inflate bounds) with the limit's message naming the file;
#  - a legacy file whose element count before a storage's bytes disagrees with the pickle: the
#    message gives both counts in elements and in bytes;
#  - a 50M-digit protocol-0 LONG: a limit error naming Limits::pickle.max_decimal_digits, not
#    "invalid integer text";
#  - errors raised where no file is known (a TorchScript module containing itself, in tensors and
#    convert) start with the file like every other error line.
import io
import os
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def ptio(*args, stdin=subprocess.DEVNULL):
    p = subprocess.run([PTIO, *args], capture_output=True, timeout=120, stdin=stdin)
    return p, p.stderr.decode('utf-8', 'replace')


def main():
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        # '-' with stdin a terminal (script(1) gives one), /dev/null and a pipe.
        term = subprocess.run(['script', '-qec', '%s tensors -' % PTIO, '/dev/null'],
                              capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        text = term.stdout.decode('utf-8', 'replace')
        check(term.returncode == 64 and 'standard input is a terminal' in text and
              "give the file's path" in text, 'tensors - on a terminal: %d %r' %
              (term.returncode, text))
        p, err = ptio('tensors', '-')
        check(p.returncode == 64 and 'does not read standard input' in err, 'stdin /dev/null: %r' % err)
        p = subprocess.run([PTIO, 'show', '-'], input=b'\x80\x02}.', capture_output=True,
                           timeout=60)
        check(p.returncode == 64 and b'does not read standard input' in p.stderr,
              'stdin a pipe: %r' % p.stderr)
        # A file really named '-' is still read.
        torch.save({'w': torch.ones(2)}, '-')
        p, err = ptio('tensors', '--', '-')
        check(p.returncode == 0, 'a file named -: %r' % err)

        # 200,000 nested lists in a torch.save zip.
        n = 200000
        deep = os.path.join(d, 'deep.pt')
        with zipfile.ZipFile(deep, 'w') as z:
            z.writestr('archive/data.pkl', b'\x80\x02' + b']' * n + b'a' * (n - 1) + b'.')
            z.writestr('archive/version', '3\n')
        p, err = ptio('convert', deep, os.path.join(d, 'o.pt'))
        check(p.returncode == 2 and err.startswith('ptio: error: %s: ' % deep) and
              'nested deeper than 1000 levels' in err and not os.path.exists('o.pt'),
              'convert of a deep list: exit %d: %r' % (p.returncode, err[:300]))

        # Legacy: the element count before storage 0's bytes says 4, the pickle 3 float32.
        buf = io.BytesIO()
        torch.save(torch.ones(3), buf, _use_new_zipfile_serialization=False)
        b = bytearray(buf.getvalue())
        check(b[-20:-12] == (3).to_bytes(8, 'little'), 'unexpected legacy layout')
        b[-20:-12] = (4).to_bytes(8, 'little')
        legacy = os.path.join(d, 'legacy.pt')
        open(legacy, 'wb').write(b)
        p, err = ptio('tensors', legacy)
        check(p.returncode == 2 and '3 elements (12 bytes of float32)' in err and
              '4 elements (16 bytes)' in err, 'legacy size message: %r' % err)

        # 50M digits of protocol-0 LONG.
        big = os.path.join(d, 'big.pkl')
        open(big, 'wb').write(b'L' + b'7' * 50_000_000 + b'L\n.')
        p, err = ptio('show', big)
        check(p.returncode == 2 and '50000000 digits exceeds the limit of 4300' in err and
              'max_decimal_digits' in err, 'long text: %r' % err[:300])

        # A TorchScript module that contains itself (data.pkl's 'child' is BINGET of the module):
        # the error raised where no file is known still starts with the file.
        cyc = os.path.join(d, 'cyc.pt')
        with zipfile.ZipFile(cyc, 'w') as z:
            z.writestr('cyc/data.pkl',
                       b'\x80\x02c__torch__\nM\n)\x81q\x01}(X\x01\x00\x00\x00wctorch._utils\n'
                       b'_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n'
                       b'X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQK\x00K\x02\x85K\x01\x85'
                       b'\x89ccollections\nOrderedDict\n)RtRX\x08\x00\x00\x00training\x88'
                       b'X\x05\x00\x00\x00childh\x01ub.')
            z.writestr('cyc/code/__torch__.py',
                       'class M(Module):\n  __parameters__ = ["w", ]\n  __buffers__ = []\n'
                       '  w : Tensor\n  training : bool\n  child : __torch__.M\n'
                       '  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n'
                       '    return x\n')
            z.writestr('cyc/constants.pkl', b'\x80\x02).')
            z.writestr('cyc/data/0', b'\x00\x00\x80?\x00\x00\x00@')
            z.writestr('cyc/version', '3\n')
        for args in (['tensors', cyc], ['convert', cyc, os.path.join(d, 'cyc_out.pt')]):
            p, err = ptio(*args)
            check(p.returncode != 0 and err.startswith('ptio: error: %s: ' % cyc) and
                  not os.path.exists(os.path.join(d, 'cyc_out.pt')),
                  '%s of a module containing itself names the file: exit %d: %r'
                  % (args[0], p.returncode, err[:300]))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
