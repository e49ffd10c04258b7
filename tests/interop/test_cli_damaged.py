#!/usr/bin/env python3
# Diagnostics of damaged files found by the session-6 new-user trial (files PyTorch 1.13 wrote,
# then damaged here):
#  - `verify` exited 2 "truncated" for an archive whose central directory reads but one record's
#    local header is bad (a size differing from the central directory, a local name length
#    running past the file), while a differing local name gave 1: every such record is now a
#    finding (exit 1) naming the record, its offset and what was expected; exit 2 stays for files
#    that cannot be opened as a zip at all;
#  - a central directory overwritten in the middle (file length intact) was "truncated": it is
#    now a "damaged zip archive" naming the offset, in `verify` and `info` alike; a file cut short
#    stays "truncated";
#  - a file whose first 4 KiB were zeroed was "zero-filled": that is said only when every byte is
#    zero; zeros over a zip's start are a damaged zip archive whose records are listed;
#  - `verify` refused a sound 100 MiB deflated record on the inflate-ratio check, although its
#    CRC check streams in constant memory (docs/cli.md): it now checks it;
#  - protocol 0/1 pickles (no PROTO opcode; protocol 0 is text) were "not a pickle" / "a text
#    file" to `info` and `tensors` while `show` and `scan` read them; a legacy torch.save written
#    with pickle_protocol=1 could not be listed; a plain pickle got `tensors`' "invalid magic
#    number": it is now called a plain pickle, not a torch.save file, with `ptio show` to read it.
#  - small CLI faults: "1 storages"/"1 records" (plural on one); `ls --strict`'s hint named a
#    lenient mode ls has no option for; `extract --code FILE` (a regular file) printed "wrote 0
#    files" (now exit 4 naming it); `convert --help` showed "{false}" for --no-verify-crc.
import pickle
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def run(*args):
    p = subprocess.run([PTIO, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def local_header(data, name):
    """Offset of the local header of entry `name` (bytes), from the central directory."""
    cd = data.rfind(b'PK\x01\x02', 0, data.rfind(b'PK\x05\x06'))
    at = data.find(b'PK\x01\x02')
    while at != -1 and at <= cd:
        n, e, c = struct.unpack_from('<HHH', data, at + 28)
        if data[at + 46:at + 46 + n] == name:
            return struct.unpack_from('<I', data, at + 42)[0]
        at += 46 + n + e + c
    raise KeyError(name)


def write(d, name, data):
    path = os.path.join(d, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def bad_records(d, data):
    lho = local_header(data, b'ckpt/data/0')
    size_bad = bytearray(data)
    struct.pack_into('<I', size_bad, lho + 22, 0xB0FFFF00)  # uncompressed size
    name_long = bytearray(data)
    struct.pack_into('<H', name_long, lho + 26, 51465)  # local name length past the file
    name_other = bytearray(data)
    name_other[lho + 30 + len('ckpt/data/')] = ord('9')  # ckpt/data/9, same length
    cases = [
        ('size.pt', size_bad, 'ZipHeaderMismatch',
         'ckpt/data/0 @ 0x%x: local header disagrees with the central directory: uncompressed '
         'size 2969566976 in the local header, expected 8000 as in the central directory'
         % (lho + 22)),
        ('namelen.pt', name_long, 'ZipBadLocalHeader',
         'ckpt/data/0 @ 0x%x: local name (51465 bytes) and extra field' % (lho + 26)),
        ('name.pt', name_other, 'ZipHeaderMismatch',
         'ckpt/data/0 @ 0x%x: local header disagrees with the central directory: entry name '
         'differs' % (lho + 30)),
    ]
    for fname, content, code, want in cases:
        path = write(d, fname, content)
        rc, out, err = run('verify', path)
        check(rc == 1 and want in out and 'truncated' not in out + err,
              'verify %s: %d %r %r, want 1 and %r' % (fname, rc, out, err, want))
        rc, out, _ = run('verify', '--json', path)
        j = json.loads(out) if out else {}
        codes = [f['code'] for f in j.get('findings', [])]
        # One finding for the record, not one per reader; the other records are still checked.
        check(rc == 1 and codes == [code] and j.get('records') == 4,
              'verify --json %s: %d %r' % (fname, rc, out))
    # The damaged record's neighbours keep their CRC check: a bad CRC elsewhere is also found.
    both = bytearray(size_bad)
    lho1 = local_header(data, b'ckpt/data/1')
    n, e = struct.unpack_from('<HH', data, lho1 + 26)
    both[lho1 + 30 + n + e] ^= 0xFF
    rc, out, _ = run('verify', '--json', write(d, 'both.pt', both))
    codes = [f['code'] for f in json.loads(out)['findings']] if out else []
    check(rc == 1 and codes == ['ZipHeaderMismatch', 'ZipCrcMismatch'],
          'verify both.pt: %d %r' % (rc, out))
    # `info` names the damage and says the file cannot be loaded (exit 2, as `tensors`).
    rc, out, _ = run('info', os.path.join(d, 'size.pt'))
    check(rc == 2 and 'damaged zip archive: its central directory lists 4 records, 1 of them '
          'unreadable' in out and 'cannot be loaded' in out, 'info size.pt: %d %r' % (rc, out))


def damaged_directory(d, data):
    eocd = data.rfind(b'PK\x05\x06')
    cd_size, cd_off = struct.unpack_from('<II', data, eocd + 12)
    cd = bytearray(data)
    mid = cd_off + cd_size // 2
    cd[mid:mid + 40] = b'\xAA' * 40  # the middle of the central directory overwritten
    path = write(d, 'cd.pt', cd)
    _, _, tensors_err = run('tensors', path)
    rc, out, err = run('verify', path)
    check(rc == 2 and out == '' and err == tensors_err and 'damaged zip archive' in err and
          'truncated' not in err and 'central directory' in err and 'at byte offset' in err,
          'verify cd.pt: %d %r %r' % (rc, out, err))
    rc, out, _ = run('info', path)
    check(rc == 2 and '(damaged zip archive)' in out and 'truncated' not in out,
          'info cd.pt: %d %r' % (rc, out))
    # Cut short: truncated, as before.
    path = write(d, 'cut.pt', data[:len(data) * 2 // 3])
    rc, out, err = run('verify', path)
    check(rc == 2 and 'truncated zip archive' in err, 'verify cut.pt: %d %r' % (rc, err))
    # Bytes cut out of the middle: the end record declares a directory reaching past it (by
    # 2000 bytes less the 76 of the zip64 end record and locator PyTorch writes before it).
    spliced = data[:1000] + data[3000:]
    rc, out, err = run('info', write(d, 'spliced.pt', spliced))
    check(rc == 2 and 'truncated zip archive' in out and 'at least 1924 bytes are missing' in out,
          'info spliced.pt: %d %r' % (rc, out))


def zeros(d, data):
    head = bytearray(data)
    head[:4096] = bytes(4096)
    path = write(d, 'zero4k.pt', head)
    rc, out, err = run('verify', '--json', path)
    j = json.loads(out) if out else {}
    msgs = ' '.join(f['message'] for f in j.get('findings', []))
    check(rc == 1 and 'zero-filled' not in out + err and j.get('records') == 4 and
          'ckpt/data.pkl @ 0x0: expected a local header signature PK\\3\\4, found bytes 00 00 00 00'
          in msgs and 'LeadingBytes' not in out, 'verify zero4k.pt: %d %r %r' % (rc, out, err))
    rc, out, err = run('info', path)
    check(rc == 2 and 'zero-filled' not in out + err and 'damaged zip archive' in out,
          'info zero4k.pt: %d %r %r' % (rc, out, err))
    rc, _, err = run('tensors', path)
    check(rc == 2 and 'zero-filled' not in err and 'damaged zip archive' in err,
          'tensors zero4k.pt: %d %r' % (rc, err))
    # Only zero bytes: zero-filled. Zeros, then data, no end record: not zero-filled.
    path = write(d, 'allzero.pt', bytes(20000))
    rc, _, err = run('verify', path)
    check(rc == 2 and 'zero-filled file: the file holds only zero bytes' in err,
          'verify allzero.pt: %d %r' % (rc, err))
    later = bytearray(20000)
    later[9000] = 7
    path = write(d, 'zerothen.pt', later)
    for cmd in ('verify', 'info', 'tensors'):
        rc, out, err = run(cmd, path)
        check(rc == 2 and 'zero-filled' not in out + err and 'first 9000 bytes are zero' in out + err,
              '%s zerothen.pt: %d %r %r' % (cmd, rc, out, err))


def streaming_crc(d):
    # A sound archive with a 100 MiB deflated record of zeros (ratio ~1000:1, beyond the 100x
    # bound that guards memory): verify streams its CRC in constant memory.
    src = os.path.join(d, 'small.pt')
    torch.save({'a': torch.ones(3)}, src)
    big = os.path.join(d, 'bigdefl.pt')
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(big, 'w') as zout:
        for i in zin.infolist():
            zout.writestr(i, zin.read(i.filename))
        zout.writestr('small/extra/zeros', bytes(100 << 20), compress_type=zipfile.ZIP_DEFLATED)
    rc, out, err = run('verify', big)
    check(rc == 0 and out.startswith('ok: ') and '4 records' in out,
          'verify bigdefl.pt: %d %r %r' % (rc, out, err))
    # Reading it into memory keeps the bound (extract holds the record).
    rc, _, err = run('extract', big, 'extra/zeros', '-o', os.path.join(d, 'zeros.bin'))
    check(rc == 2 and '--max-inflated-bytes' in err, 'extract bigdefl.pt: %d %r' % (rc, err))
    # A CRC error in it is still found.
    data = bytearray(open(big, 'rb').read())
    lho = local_header(bytes(data), b'small/extra/zeros')
    struct.pack_into('<I', data, lho + 14, 0x12345678)
    cd = data.rfind(b'small/extra/zeros') - 46
    struct.pack_into('<I', data, cd + 16, 0x12345678)
    rc, out, _ = run('verify', write(d, 'bigdefl_crc.pt', data))
    check(rc == 1 and 'small/extra/zeros' in out and 'but the archive records 12345678' in out,
          'verify bigdefl_crc.pt: %d %r' % (rc, out))


def old_pickles(d):
    obj = {'a': [1, 2, 3], 'b': [4.5, 'x']}
    for proto in (0, 1, 2):
        path = write(d, 'p%d.pkl' % proto, pickle.dumps(obj, protocol=proto))
        rc, out, err = run('info', path)
        check(rc == 0 and ': pickle (pickle)' in out and 'a plain pickle' in out and
              'ptio show' in out, 'info p%d.pkl: %d %r %r' % (proto, rc, out, err))
        rc, out, err = run('tensors', path)
        check(rc == 2 and 'a plain pickle (pickle.dump output), not a torch.save file' in err and
              '`ptio show %s`' % path in err and 'corrupt file' not in err,
              'tensors p%d.pkl: %d %r' % (proto, rc, err))
        rc, out, _ = run('show', path)
        check(rc == 0 and out.strip() == "{'a': [1, 2, 3], 'b': [4.5, 'x']}",
              'show p%d.pkl: %d %r' % (proto, rc, out))
    # Legacy torch.save with pickle protocol 1: the magic number is text (LONG), not LONG1.
    path = os.path.join(d, 'legacy1.pt')
    torch.save({'w': torch.arange(3.)}, path, _use_new_zipfile_serialization=False,
               pickle_protocol=1)
    rc, out, _ = run('tensors', '--json', path)
    rows = json.loads(out) if rc == 0 else []
    check([r['path'] for r in rows] == ['w'] and rows[0]['shape'] == [3],
          'tensors legacy1.pt: %d %r' % (rc, out))
    rc, out, _ = run('info', path)
    check(rc == 0 and 'torch.save-legacy' in out, 'info legacy1.pt: %d %r' % (rc, out))
    # Protocol 0: a legacy stream too (PyTorch cannot load it either: its persistent ids are text).
    path = os.path.join(d, 'legacy0.pt')
    torch.save({'w': torch.arange(3.)}, path, _use_new_zipfile_serialization=False,
               pickle_protocol=0)
    rc, out, _ = run('info', path)
    check(rc == 2 and 'torch.save-legacy (legacy torch.save stream)' in out,
          'info legacy0.pt: %d %r' % (rc, out))
    # Text that is no pickle stays a text file.
    rc, out, _ = run('info', write(d, 'notes.txt', b'hello world\nlist of things.\n'))
    check(rc == 2 and '(text file)' in out, 'info notes.txt: %d %r' % (rc, out))


def small_faults(d):
    one = os.path.join(d, 'one.pt')
    torch.save({'w': torch.ones(2)}, one)
    rc, out, _ = run('info', one)
    check(rc == 0 and 'tensors: 1 in 1 storage, ' in out, 'info one.pt: %r' % out)
    zipped = os.path.join(d, 'one.zip')
    with zipfile.ZipFile(zipped, 'w') as z:
        z.writestr('one/data.pkl', b'\x80\x02N.')
    rc, out, _ = run('verify', zipped)
    check(rc == 0 and ': 1 record, archive folder' in out, 'verify one.zip: %d %r' % (rc, out))
    prefixed = write(d, 'prefixed.pt', b'junk' * 8 + open(one, 'rb').read())
    rc, _, err = run('ls', '--strict', prefixed)
    check(rc == 2 and '`ptio ls` without --strict lists the archive' in err and
          'lenient mode' not in err, 'ls --strict prefixed.pt: %d %r' % (rc, err))
    rc, out, _ = run('ls', prefixed)
    check(rc == 0 and 'leading bytes: 32' in out, 'ls prefixed.pt: %d %r' % (rc, out))
    src = os.environ.get('PTIO_SOURCE_DIR') or os.path.join(os.path.dirname(__file__), '..', '..')
    scripted = os.path.join(src, 'samples', 'tiny_scripted.pt')
    regular = write(d, 'regular', b'')
    rc, out, err = run('extract', scripted, '--code', regular)
    check(rc == 4 and 'wrote' not in out and regular + ': exists and is not a folder' in err,
          'extract --code FILE: %d %r %r' % (rc, out, err))
    rc, out, _ = run('convert', '--help')
    check(rc == 0 and '{false}' not in out and '--no-verify-crc' in out,
          'convert --help: %r' % out)
    # --no-verify-crc still converts a file with a bad CRC; without it, exit 2.
    bad = bytearray(open(one, 'rb').read())
    lho = local_header(bytes(bad), b'one/data/0')
    n, e = struct.unpack_from('<HH', bad, lho + 26)
    bad[lho + 30 + n + e] ^= 0xFF
    badp = write(d, 'badcrc.pt', bad)
    rc, _, _ = run('convert', badp, os.path.join(d, 'out1.pt'))
    check(rc == 2, 'convert badcrc.pt: %d' % rc)
    rc, out, _ = run('convert', '--no-verify-crc', badp, os.path.join(d, 'out2.pt'))
    check(rc == 0 and '(torch.save zip, 1 tensor, ' in out, 'convert --no-verify-crc: %d %r' % (rc, out))


def main():
    with tempfile.TemporaryDirectory() as d:
        torch.save({'w': torch.arange(2000, dtype=torch.float32),
                    'b': torch.ones(500)}, os.path.join(d, 'ckpt.pt'))
        data = open(os.path.join(d, 'ckpt.pt'), 'rb').read()
        bad_records(d, data)
        damaged_directory(d, data)
        zeros(d, data)
        streaming_crc(d)
        old_pickles(d)
        small_faults(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
