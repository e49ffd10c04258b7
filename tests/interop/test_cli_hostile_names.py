#!/usr/bin/env python3
# Names a file controls (zip record names, the archive folder, extra file names) that are not
# valid UTF-8: every `--json` output replaces the invalid bytes with U+FFFD (docs/cli.md,
# Conventions) and the command does its work, exit 0. `ls --json`, `info --json` and
# `extra --json` used to stop with exit 2 and nlohmann's
# `[json.exception.type_error.316] invalid UTF-8 byte at index 1: 0xFF`, naming neither the file
# nor the record (new-user trial, session 10).
import json
import os
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

ptio = ptio_interop.ptio
check = ptio_interop.Checks()


def patch_names(src, dst, old, new):
    """Copies zip `src` to `dst` with every occurrence of the name bytes `old` (in local headers
    and the central directory) replaced by `new`, of the same length: names are not covered by
    CRC-32s, so the archive stays sound."""
    assert len(old) == len(new)
    data = open(src, 'rb').read()
    check(data.count(old) == 2 * sum(old in n.encode() for n in zipfile.ZipFile(src).namelist()),
          'patch_names: %r occurs elsewhere in %s' % (old, src))
    open(dst, 'wb').write(data.replace(old, new))


def json_of(args, what):
    p, text = ptio(*args)
    if not check(p.returncode == 0, '%s: exit %d: %s' % (what, p.returncode, text)):
        return None
    try:
        return json.loads(p.stdout.decode('utf-8'))  # strict: the output is UTF-8
    except ValueError as e:
        check(False, '%s: not UTF-8 JSON (%s): %r' % (what, e, p.stdout[:200]))
        return None


def invalid_utf8_in_json(d):
    # A checkpoint whose archive folder is not UTF-8: "arXch/..." -> "ar\xffch/...".
    sd = os.path.join(d, 'sd.pt')
    torch.save({'w': torch.arange(4.)}, sd)
    prefix = zipfile.ZipFile(sd).namelist()[0].split('/')[0]
    bad_prefix = os.path.join(d, 'bad_prefix.pt')
    patch_names(sd, bad_prefix, (prefix + '/').encode(), b'\xff' + (prefix[1:] + '/').encode())
    for cmd in ('ls', 'info'):
        j = json_of([cmd, '--json', bad_prefix], cmd + ' --json (folder \\xff...)')
        if j is not None:
            got = j['prefix'] if cmd == 'ls' else j['archive']['prefix']
            check(got == '\ufffd' + prefix[1:], '%s --json: prefix %r' % (cmd, got))
    # A TorchScript archive with an extra file "m\xffeta.txt" beside "meta.txt".
    model = os.path.join(d, 'model.pt')
    ptio_interop.scripted_linear(model, 2, 3, extra_files={'meta.txt': 'hello', 'mXeta.txt': 'x'})
    bad_extra = os.path.join(d, 'bad_extra.pt')
    patch_names(model, bad_extra, b'/mXeta.txt', b'/m\xffeta.txt')
    j = json_of(['extra', bad_extra, '--json'], 'extra --json')
    if j is not None:
        names = sorted(e['name'] for e in j['extra_files'])
        check(names == sorted(['m\ufffdeta.txt', 'meta.txt']), 'extra --json: names %r' % names)
    for args in (['ls', '--json', bad_extra], ['info', '--json', bad_extra]):
        j = json_of(args, ' '.join(args[:2]) + ' (extra file m\\xffeta.txt)')
        if j is not None:
            text = json.dumps(j, ensure_ascii=False)
            check('m\ufffdeta.txt' in text, '%s: the record is not listed: %s' % (args[0], text[:300]))


def main():
    with tempfile.TemporaryDirectory() as d:
        invalid_utf8_in_json(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
