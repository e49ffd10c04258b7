#!/usr/bin/env python3
# New-user trial 9 findings, each checked against real PyTorch 1.13 files made here:
#  - `ptio diff` pairs tensors whose names (as `ptio tensors` prints them) are equal, whatever
#    kind of source named them: a TorchScript module (state_dict names), a torch.save state_dict
#    (str keys), torch.save(model) (a pickled nn.Module) and `ptio convert M X --to state_dict`
#    all diff equal (exit 0), a changed value is still found (exit 1), and a dict nesting the same
#    names (`{"fc": {"weight": ...}}`) pairs with the flat form;
#  - plain `ptio cat` of an expanded (stride-0) view of 2**28 elements prints torch's repr while
#    reading only what it prints (peak RSS bounded, not the 1 GiB view);
#  - `ptio cat FILE epoch` (an int) says it is not a tensor and what it is;
#  - `ptio apply` of an archive whose extra file jit::save refuses names that archive;
#  - `ptio bogus` names the unknown command (exit 64).
import os
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

check = ptio_interop.Checks()
ptio = ptio_interop.ptio


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.fc2 = torch.nn.Linear(3, 2)
        self.register_buffer('steps', torch.tensor([7], dtype=torch.int64))

    def forward(self, x):
        return self.fc2(self.fc1(x)) + self.steps


def diff_pairing(d):
    torch.manual_seed(0)
    net = Net()
    torch.jit.save(torch.jit.script(net), 'm.pt')
    torch.save(net.state_dict(), 'sd.pt')
    torch.save(net, 'model.pt')  # a pickled nn.Module
    torch.save({'model': net.state_dict(), 'epoch': 3}, 'ckpt_wrapped.pt')
    nested = {'fc1': {'weight': net.fc1.weight.detach(), 'bias': net.fc1.bias.detach()},
              'fc2': {'weight': net.fc2.weight.detach(), 'bias': net.fc2.bias.detach()},
              'steps': net.steps}
    torch.save(nested, 'nested.pt')
    p, text = ptio('convert', 'm.pt', 'conv.pt', '--to', 'state_dict')
    check(p.returncode == 0, 'convert --to state_dict: %s' % text)
    n = len(net.state_dict())
    for a, b in [('m.pt', 'sd.pt'), ('sd.pt', 'm.pt'), ('m.pt', 'conv.pt'), ('m.pt', 'model.pt'),
                 ('model.pt', 'sd.pt'), ('model.pt', 'conv.pt'), ('sd.pt', 'nested.pt'),
                 ('m.pt', 'nested.pt')]:
        p, text = ptio('diff', a, b)
        check(p.returncode == 0 and ('equal: 0 changed, 0 added, 0 removed, %d equal' % n) in text,
              'diff %s %s: exit %d, %r' % (a, b, p.returncode, text))
    # A real change is still found, across kinds.
    sd2 = {k: v.clone() for k, v in net.state_dict().items()}
    sd2['fc1.weight'][1, 2] += 0.5
    torch.save(sd2, 'sd2.pt')
    for a in ('m.pt', 'model.pt'):
        p, text = ptio('diff', a, 'sd2.pt', '--json')
        import json
        j = json.loads(p.stdout) if p.returncode in (0, 1) else {}
        rows = {r['name']: r for r in j.get('tensors', [])}
        ok = (p.returncode == 1 and not j['added'] and not j['removed'] and len(rows) == n and
              rows['fc1.weight']['status'] == 'different' and
              rows['fc1.weight']['mismatched'] == 1 and
              abs(rows['fc1.weight']['max_abs_diff'] - 0.5) < 1e-6 and
              all(r['status'] == 'equal' for k, r in rows.items() if k != 'fc1.weight'))
        check(ok, 'diff %s sd2.pt: exit %d, %r' % (a, p.returncode, text[:2000]))
    # A name only one side has is still added/removed.
    sd3 = dict(net.state_dict())
    sd3['extra.w'] = torch.zeros(2)
    del sd3['fc2.bias']
    torch.save(sd3, 'sd3.pt')
    p, text = ptio('diff', 'm.pt', 'sd3.pt')
    check(p.returncode == 1 and '- fc2.bias' in text and '+ extra.w' in text and
          'different: 0 changed, 1 added, 1 removed, %d equal' % (n - 1) in text,
          'diff m.pt sd3.pt: %r' % text)
    # cat by name reads the same values from each kind of source.
    # (values only: a module's parameter prints requires_grad=True, torch.save(model)'s also
    # `Parameter containing:`, as torch prints them)
    def values(f):
        out = ptio('cat', f, 'fc1.weight')[0].stdout.decode()
        return out.replace('Parameter containing:\n', '').replace(', requires_grad=True', '')

    want = values('sd.pt')
    check(want.startswith('tensor([['), 'cat sd.pt fc1.weight: %r' % want)
    for f in ('m.pt', 'model.pt', 'conv.pt', 'nested.pt'):
        got = values(f)
        check(got == want, 'cat %s fc1.weight: %r vs %r' % (f, got, want))
    # apply from a pickled nn.Module and from a state_dict: every tensor found.
    for f in ('model.pt', 'sd.pt', 'ckpt_wrapped.pt'):
        p, text = ptio('apply', 'm.pt', f, '-o', 'applied.pt')
        check(p.returncode == 0 and '%d of %d tensors' % (n, n) in text,
              'apply m.pt %s: %r' % (f, text))
    # cat of a non-tensor entry.
    p, text = ptio('cat', 'ckpt_wrapped.pt', 'epoch')
    check(p.returncode == 64 and "'epoch' is not a tensor" in text and 'int' in text and
          '(3)' in text and 'no tensor named' not in text, 'cat epoch: %r' % text)


def cat_expanded(d):
    n = 1 << 28  # 1 GiB of float32 if materialised
    base = torch.tensor([1.5, 2.0, 3.0, 4.0])
    w = base.as_strided((n,), (0,))
    v = torch.arange(8.).as_strided((3000, 8, 2000), (0, 1, 0))
    torch.save({'w': w, 'v': v}, 'exp.pt')
    for name, t in (('w', w), ('v', v)):
        rc, out, err, rss = ptio_interop.run_with_rss('cat', 'exp.pt', name,
                                                      '--max-expanded-bytes', '8GiB')
        check(rc == 0 and out.decode().rstrip('\n') == repr(t),
              'cat %s: exit %d %r vs %r %s' % (name, rc, out[:300], repr(t)[:300], err))
        if not ptio_interop.sanitized():
            check(0 < rss < 64 << 20, 'cat %s: peak RSS %d bytes' % (name, rss))
    # A strided (transposed) int16 tensor summarised: the same text as torch.
    s = torch.arange(3000, dtype=torch.int16).reshape(30, 100).t()
    torch.save({'s': s}, 's.pt')
    p, _ = ptio('cat', 's.pt', 's')
    check(p.returncode == 0 and p.stdout.decode().rstrip('\n') == repr(s),
          'cat s: %r vs %r' % (p.stdout[:300], repr(s)[:300]))


def small_points(d):
    # An archive whose extra file record is `extra//etc/passwd`.
    ptio_interop.scripted_linear('lin.pt', 3, 2, extra_files={'meta.txt': 'x'})
    with zipfile.ZipFile('lin.pt') as z, zipfile.ZipFile('bad_extra.pt', 'w') as o:
        for i in z.infolist():
            data = z.read(i.filename)
            if i.filename.endswith('/extra/meta.txt'):
                i.filename = i.filename[:-len('meta.txt')] + '/etc/passwd'
            o.writestr(i, data)
    torch.save(torch.jit.load('lin.pt').state_dict(), 'lin_sd.pt')
    p, text = ptio('apply', 'bad_extra.pt', 'lin_sd.pt', '-o', 'out.pt')
    check(p.returncode != 0 and 'bad_extra.pt' in text and '/etc/passwd' in text and
          not os.path.exists('out.pt'), 'apply bad extra name: %d %r' % (p.returncode, text))
    p, text = ptio('bogus')
    check(p.returncode == 64 and "unknown command 'bogus'" in text, 'ptio bogus: %r' % text)
    p, text = ptio('tensros', 'lin.pt')
    check(p.returncode == 64 and "unknown command 'tensros'" in text and 'tensors' in text,
          'ptio tensros: %r' % text)
    p, text = ptio('tensors', 'lin.pt')
    check(p.returncode == 0, 'tensors still runs: %r' % text)


def main():
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        diff_pairing(d)
        cat_expanded(d)
        small_points(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
