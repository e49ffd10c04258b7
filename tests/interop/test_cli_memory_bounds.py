#!/usr/bin/env python3
# Memory bounds of session 10 (the CLI's part):
#  - `diff --json` wrote one JSON tree of every row at the end (554 MB at 250,000 names of one
#    tensor, 1.24 GB for a real 250,000-tensor state_dict); it now writes the rows one at a time,
#    the same bytes (the golden tests hold them), holding a few dozen bytes per compared pair;
#  - the listing's 256 MiB bound on names had no option: `--max-listing-bytes SIZE` sets it
#    (tensors, cat, diff, convert, info, apply), and its error says so;
#  - plain `cat` (summarised) charged an expanded view's full size against --max-expanded-bytes
#    (a [2**30] view of one float was refused) though it reads six elements; it is charged those;
#  - `cat --full` of a quantized tensor built its whole repr in memory (1.4 GB for 20M qint8
#    elements); it is streamed like a dense one, the same text as PyTorch's;
#  - `ls --json` built the JSON of every entry (232 MB for 200,000 entries), `extract` read a
#    record whole into memory and a streamed record's mapped pages stayed resident (210 MB for a
#    200 MB record): now one entry's JSON, and 1 MiB pieces released as they are written;
#  - `diff` copied each pair of non-contiguous tensors whole before comparing them (a transposed
#    64 MiB weight cost 128 MiB more) and kept every mapped page of contiguous ones resident;
#    it compares them in 16 MiB row-major pieces, releasing the pages of contiguous ones;
#  - `convert` to safetensors / npz copied a non-contiguous tensor whole before writing it; it is
#    written in 16 MiB pieces.
import hashlib
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402
import zipfile  # noqa: E402
from test_cli_listing_memory import long_key, many_refs  # noqa: E402

check = ptio_interop.Checks()
run = ptio_interop.run_with_rss
small_rss = not ptio_interop.sanitized()  # sanitizer builds are not held to RSS bounds


def full_repr(t):
    torch.set_printoptions(profile='full')
    try:
        return repr(t)
    finally:
        torch.set_printoptions(profile='default')


def main():
    with tempfile.TemporaryDirectory() as d:
        # diff --json of 250,000 names: the rows streamed (main: 554 MB).
        mid = os.path.join(d, 'many_refs_250000.pt')
        many_refs(mid, 250000)
        code, out, err, rss = run('diff', '--json', mid, mid)
        check(code == 0, 'diff --json: exit %d %s' % (code, err[-300:]))
        check(rss < (300 << 20) or not small_rss, 'diff --json: peak RSS %d MiB' % (rss >> 20))
        if code == 0:
            j = json.loads(out)
            check(list(j) == ['a', 'b', 'atol', 'rtol', 'equal', 'added', 'removed', 'tensors',
                              'collisions'], 'diff --json keys: %s' % list(j))
            check(j['equal'] is True and len(j['tensors']) == 250000 and
                  j['tensors'][-1] == {'name': '249999', 'dtype': 'float32', 'shape': [4],
                                       'status': 'equal', 'max_abs_diff': 0.0,
                                       'max_rel_diff': 0.0, 'mismatched': 0, 'numel': 4},
                  'diff --json rows: %d, last %s' % (len(j['tensors']), j['tensors'][-1:]))
            check(out.startswith(b'{\n "a": ') and out.endswith(b'\n ],\n "collisions": []\n}\n'),
                  'diff --json layout: %r ... %r' % (out[:20], out[-40:]))

        # --max-listing-bytes: the listing's bound, named by the error's hint.
        longk = os.path.join(d, 'long_key.pt')
        long_key(longk, 20000, 30000)
        code, _, err, _ = run('tensors', longk)
        check(code == 2 and '256 MiB' in err and '--max-listing-bytes' in err,
              'tensors long_key.pt: exit %d %s' % (code, err[-400:]))
        sd = os.path.join(d, 'sd3k.pt')
        back = {'layer%d.weight' % i: torch.full((2,), float(i)) for i in range(3000)}
        torch.save(back, sd)
        for cmd in (['tensors'], ['diff', sd], ['convert', '--to', 'safetensors'], ['info'],
                    ['cat']):
            args = cmd[:1] + ['--max-listing-bytes', '64KiB'] + cmd[1:] + [sd]
            if cmd[0] == 'convert':
                args.append(os.path.join(d, 'out.safetensors'))
            if cmd[0] == 'cat':
                args.append('layer2999.weight')
            code, out, err, _ = run(*args)
            err += out.decode('utf-8', 'replace')  # info says it on stdout
            check(code == 2 and '65536 bytes of names' in err and '--max-listing-bytes' in err,
                  '%s --max-listing-bytes 64KiB: exit %d %s' % (cmd[0], code, err[-400:]))
        code, out, err, _ = run('tensors', '--json', '--max-listing-bytes', '4MiB', sd)
        check(code == 0 and [r['path'] for r in json.loads(out or b'[]')] == list(back),
              'tensors --max-listing-bytes 4MiB: exit %d %s' % (code, err[-300:]))
        code, out, err, _ = run('tensors', '--max-listing-bytes', '-1', sd)
        check(code == 64, 'tensors --max-listing-bytes -1: exit %d' % code)

        # Plain cat of an expanded view reads (and is charged) only the elements it prints.
        path = os.path.join(d, 'cat.pt')
        q = torch.quantize_per_tensor(torch.randn(3000), 0.05, 3, torch.qint8)
        qc = torch.quantize_per_channel(torch.randn(2, 1500),
                                        torch.tensor([0.1, 0.2], dtype=torch.float64),
                                        torch.tensor([0, 1]), 0, torch.quint8)
        big = torch.quantize_per_tensor(torch.randn(5_000_000), 0.05, 3, torch.qint8)
        expanded = torch.arange(3.0)[1:2].expand(2 ** 30)  # 4 GiB as a view of one float
        torch.save({'expanded': expanded, 'q': q, 'qc': qc, 'big': big}, path)
        code, out, err, rss = run('cat', path, 'expanded')
        check(code == 0 and out.decode() == repr(expanded) + '\n',
              'cat expanded: exit %d %r %s' % (code, out[:100], err[-300:]))
        check(rss < (64 << 20) or not small_rss, 'cat expanded: peak RSS %d MiB' % (rss >> 20))
        code, _, err, _ = run('cat', '--full', path, 'expanded')
        check(code == 2 and 'max-expanded-bytes' in err,
              'cat --full expanded: exit %d %s' % (code, err[-300:]))

        # cat --full of quantized tensors: streamed, PyTorch's text.
        for name, t in (('q', q), ('qc', qc)):
            code, out, err, _ = run('cat', '--full', path, name)
            check(code == 0 and out.decode() == full_repr(t) + '\n',
                  'cat --full %s: exit %d %s\n%s' % (name, code, err[-300:], out[-300:]))
        code, out, err, rss = run('cat', '--full', path, 'big', timeout=300)
        check(code == 0 and out.startswith(b'tensor([') and
              out.endswith(b'scale=0.05, zero_point=3)\n') and out.count(b',') > 5_000_000,
              'cat --full big: exit %d %s %r' % (code, err[-300:], out[-120:]))
        check(rss < (100 << 20) or not small_rss, 'cat --full big: peak RSS %d MiB' % (rss >> 20))

        # ls --json of 200,000 entries, extract of a 128 MiB stored record.
        many = os.path.join(d, 'many.zip')
        with zipfile.ZipFile(many, 'w', zipfile.ZIP_STORED) as z:
            z.writestr('archive/data.pkl', b'\x80\x02}q\x00.')
            for i in range(200000):
                z.writestr('archive/data/%d' % i, b'')
            z.writestr('archive/version', '3\n')
        code, out, err, rss = run('ls', '--json', many)
        check(code == 0, 'ls --json: exit %d %s' % (code, err[-300:]))
        check(rss < (120 << 20) or not small_rss, 'ls --json: peak RSS %d MiB' % (rss >> 20))
        if code == 0:
            j = json.loads(out)
            check(j['prefix'] == 'archive' and len(j['records']) == 200002 and
                  j['records'][200000] == {'name': 'data/199999', 'size': 0,
                                           'compressed_size': 0,
                                           'data_offset': j['records'][200000]['data_offset'],
                                           'crc32': '00000000', 'method': 'stored'},
                  'ls --json: %d records, %s' % (len(j['records']), j['records'][200000]))
            check(out.startswith(b'{\n  "prefix": "archive",\n  "records": [\n    {\n') and
                  out.endswith(b'    }\n  ]\n}\n'), 'ls --json layout: %r' % out[-40:])
        bigrec = os.path.join(d, 'bigrec.zip')
        payload = os.urandom(1 << 20) * 128
        with zipfile.ZipFile(bigrec, 'w', zipfile.ZIP_STORED) as z:
            z.writestr('archive/data.pkl', b'\x80\x02}q\x00.')
            z.writestr('archive/data/0', payload)
            z.writestr('archive/version', '3\n')
        got = os.path.join(d, 'record0')
        code, out, err, rss = run('extract', bigrec, 'data/0', '-o', got)
        check(code == 0 and hashlib.sha256(open(got, 'rb').read()).digest() ==
              hashlib.sha256(payload).digest(), 'extract: exit %d %s' % (code, err[-300:]))
        check(rss < (64 << 20) or not small_rss, 'extract: peak RSS %d MiB' % (rss >> 20))

        # diff of transposed (non-contiguous) weights: compared piece by piece, as torch counts.
        w = torch.randn(4096, 4096)
        w2 = w.clone()
        w2[0, :10] += 1
        w2[4095, 4095] = float('nan')
        ta, tb = os.path.join(d, 'ta.pt'), os.path.join(d, 'tb.pt')
        torch.save({'w': w.t(), 'c': torch.arange(10)}, ta)
        torch.save({'w': w2.t(), 'c': torch.arange(10)}, tb)
        code, out, err, rss = run('diff', '--json', ta, tb)
        want = int((~torch.isclose(w.t(), w2.t(), rtol=0, atol=0, equal_nan=True)).sum())
        check(code == 1, 'diff transposed: exit %d %s' % (code, err[-300:]))
        if code == 1:
            row = json.loads(out)['tensors'][0]
            check(row['name'] == 'w' and row['mismatched'] == want == 11 and
                  row['max_abs_diff'] == {'float': 'inf'}, 'diff transposed: %s' % row)
        # (main: 266 MiB: both copies and the mapped pages of both files; these stay: 128 MiB)
        check(rss < (210 << 20) or not small_rss, 'diff transposed: peak RSS %d MiB' % (rss >> 20))
        ca, cb = os.path.join(d, 'ca.pt'), os.path.join(d, 'cb.pt')
        torch.save({'w': w}, ca)
        torch.save({'w': w2}, cb)
        code, out, err, rss = run('diff', '--json', ca, cb)
        check(code == 1 and json.loads(out)['tensors'][0]['mismatched'] == 11,
              'diff contiguous: exit %d %s' % (code, err[-300:]))
        # (main: 138 MiB: every page of both mapped files stayed resident)
        check(rss < (80 << 20) or not small_rss, 'diff contiguous: peak RSS %d MiB' % (rss >> 20))
        code, out, err, _ = run('diff', '--atol', '1.5', ta, tb)
        check(code == 1 and b'1 of 16777216 elements differ' in out,
              'diff transposed --atol 1.5: exit %d %s' % (code, out[-300:]))
        code, _, err, _ = run('diff', ta, ta)
        check(code == 0, 'diff transposed with itself: exit %d %s' % (code, err[-300:]))

        # convert of a transposed 64 MiB weight: written piece by piece, torch's values.
        want = w.t().contiguous().numpy().tobytes()
        for ext in ('safetensors', 'npz'):
            out_path = os.path.join(d, 'w.' + ext)
            code, _, err, rss = run('convert', ta, out_path)
            check(code == 0, 'convert to %s: exit %d %s' % (ext, code, err[-300:]))
            # (main: 136 MiB: the copy and the mapped pages of the file, which stay: 64 MiB)
            check(rss < (110 << 20) or not small_rss,
                  'convert to %s: peak RSS %d MiB' % (ext, rss >> 20))
            if code != 0:
                continue
            if ext == 'npz':
                import numpy as np
                got = np.load(out_path)['w']
                check(got.shape == (4096, 4096) and got.tobytes() == want, 'npz: values differ')
            else:
                raw = open(out_path, 'rb').read()
                n = struct.unpack('<Q', raw[:8])[0]
                meta = json.loads(raw[8:8 + n])['w']
                lo, hi = meta['data_offsets']
                check(meta['shape'] == [4096, 4096] and raw[8 + n + lo:8 + n + hi] == want,
                      'safetensors: values differ')
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
