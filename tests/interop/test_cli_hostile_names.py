#!/usr/bin/env python3
# Names a file controls (zip record names, the archive folder, extra file names) that are not
# valid UTF-8: every `--json` output replaces the invalid bytes with U+FFFD (docs/cli.md,
# Conventions) and the command does its work, exit 0. `ls --json`, `info --json` and
# `extra --json` used to stop with exit 2 and nlohmann's
# `[json.exception.type_error.316] invalid UTF-8 byte at index 1: 0xFF`, naming neither the file
# nor the record (new-user trial, session 10).
#
# Names with control bytes (ESC sequences, line feeds, NUL) in dict keys, zip record names, extra
# file names and pickle globals: every command prints them escaped as Python's repr escapes them
# (`\x1b`, `\n`, `\x00`; ptio::printable), so a file cannot drive the terminal that shows
# `ptio tensors` (colours, clearing the screen, retitling the window), forge table rows or error
# lines with line feeds, or cut an error message short with a NUL. They used to be printed raw:
# `ptio tensors` wrote `a<ESC>[31mRED<LF>b` into its table, `ls`/`scan` of a record name with a
# NUL printed only `ptio: error: FILE: archive/data/0` (what() ended at the NUL).
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


ESC = b'\x1b[31m'


def raw_control(data):
    """The control bytes in `data` other than line feed (and the tab `extra`'s listing uses)."""
    return sorted({c for c in data if (c < 0x20 and c not in (0x0a, 0x09)) or c == 0x7f})


def expect_escaped(args, what, rc, want=(), lines=None):
    p, text = ptio(*args)
    out = p.stdout or b''
    check(p.returncode == rc, '%s: exit %d, expected %d: %s' % (what, p.returncode, rc, text[:300]))
    check(not raw_control(out + p.stderr),
          '%s: raw control bytes %s in the output: %r' % (what, raw_control(out + p.stderr),
                                                         (out + p.stderr)[:300]))
    for w in want:
        check(w in text, '%s: %r not in the output: %r' % (what, w, text[:400]))
    if lines is not None:
        n = len(out.decode('utf-8', 'replace').splitlines())
        check(n == lines, '%s: %d lines on stdout, expected %d: %r' % (what, n, lines, out[:400]))
    return text


def control_bytes_escaped(d):
    key = 'a\x1b[31mRED\nb'
    sd = os.path.join(d, 'keys.pt')
    torch.save({key: torch.ones(2), 'ok': torch.zeros(1), 'x\x00y': torch.ones(1)}, sd)
    sd2 = os.path.join(d, 'keys2.pt')
    torch.save({key: torch.ones(3), 'ok': torch.zeros(1)}, sd2)
    shown = 'a\\x1b[31mRED\\nb'
    # Header, three rows, the total: five lines.
    expect_escaped(['tensors', sd], 'tensors', 0, [shown, 'x\\x00y'], lines=5)
    expect_escaped(['tensors', sd, '--stats'], 'tensors --stats', 0, [shown], lines=5)
    expect_escaped(['diff', sd2, sd], 'diff', 1, [shown, 'x\\x00y'])
    expect_escaped(['cat', sd, 'a'], 'cat (did you mean)', 64, [shown])
    expect_escaped(['convert', sd, os.path.join(d, 'k.pt')], 'convert', 0)
    expect_escaped(['show', sd], 'show', 0, ["'a\\x1b[31mRED\\nb'"])
    # A zip record whose name holds an escape sequence and a line feed, twice (a damaged archive)
    # and once (a sound one: ls lists it on one line).
    names = zipfile.ZipFile(sd).namelist()
    prefix = names[0].split('/')[0]
    rec = os.path.join(d, 'rec.pt')
    with zipfile.ZipFile(sd) as zi, zipfile.ZipFile(rec, 'w') as zo:
        for i in zi.infolist():
            zo.writestr(i, zi.read(i))
        zo.writestr(prefix + '/x\x1b[2J\nforged row', 'z')
    ls_lines = len(names) + 1 + 2  # records, the new one, the two header lines
    expect_escaped(['ls', rec], 'ls', 0, ['x\\x1b[2J\\nforged row'], lines=ls_lines)
    dup = os.path.join(d, 'dup.pt')
    with zipfile.ZipFile(rec) as zi, zipfile.ZipFile(dup, 'w') as zo:
        for i in zi.infolist():
            zo.writestr(i, zi.read(i))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # "Duplicate name"
            zo.writestr(prefix + '/x\x1b[2J\nforged row', 'y')
    for cmd, rc in (('verify', 1), ('tensors', 2), ('ls', 0), ('show', 2)):
        expect_escaped([cmd, dup], cmd + ' (duplicate record)', rc, ['x\\x1b[2J'])
    # A record name with a NUL: the whole error, not what() cut at the NUL.
    nul = os.path.join(d, 'nul.pt')
    patch_names(rec, nul, b'/x\x1b[2J\nforged row', b'/x\x00\x1b[2J\nforged ro')
    for cmd in ('ls', 'scan'):
        expect_escaped([cmd, nul], cmd + ' (NUL in a record name)', 2,
                       ['x\\x00\\x1b[2J', 'contains a NUL byte'])
    for cmd in ('tensors', 'verify'):  # (the damaged-archive diagnosis: no record name)
        expect_escaped([cmd, nul], cmd + ' (NUL in a record name)', 2, ['contains a NUL byte'])
    # Extra files of a TorchScript archive and a pickle global: `extra`, `info`, `extract`, `scan`.
    model = os.path.join(d, 'model.pt')
    ptio_interop.scripted_linear(model, 2, 3, extra_files={'m\x1b[2Jeta.txt': 'x'})
    expect_escaped(['extra', model], 'extra', 0, ['m\\x1b[2Jeta.txt'], lines=1)
    expect_escaped(['info', model], 'info', 0, ['m\\x1b[2Jeta.txt'])
    expect_escaped(['extract', model, '--extra', os.path.join(d, 'ex')], 'extract --extra', 0,
                   ['m\\x1b[2Jeta.txt'])
    glob = os.path.join(d, 'glob.pt')
    # {'k': os.<ESC>[2J()}: STACK_GLOBAL of a name with an escape sequence, called (REDUCE).
    pkl = (b'\x80\x04}\x8c\x01k\x8c\x02os\x8c\x07\x1b[2Jabc\x93)R\x85s.')
    with zipfile.ZipFile(glob, 'w') as z:
        z.writestr('glob/data.pkl', pkl)
        z.writestr('glob/version', '3\n')
    expect_escaped(['scan', glob], 'scan (global name)', 1, ['os.\\x1b[2Jabc'])
    expect_escaped(['tensors', glob], 'tensors (blocked global)', 2, ['os.\\x1b[2Jabc'])
    # An unresolved global of another module: `show` prints it as module.name(args).
    opaque = os.path.join(d, 'opaque.pt')
    pkl = b'\x80\x04}\x8c\x01k\x8c\x06my\x1b[2J\x8c\x07\x1b[2Jabc\x93)R\x85s.'
    with zipfile.ZipFile(opaque, 'w') as z:
        z.writestr('opaque/data.pkl', pkl)
        z.writestr('opaque/version', '3\n')
    expect_escaped(['show', opaque], 'show (unresolved global)', 0,
                   ["{'k': (my\\x1b[2J.\\x1b[2Jabc(),)}"])
    expect_escaped(['scan', opaque], 'scan (unresolved global)', 1, ['my\\x1b[2J.\\x1b[2Jabc'])


def main():
    with tempfile.TemporaryDirectory() as d:
        invalid_utf8_in_json(d)
    with tempfile.TemporaryDirectory() as d:
        control_bytes_escaped(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
