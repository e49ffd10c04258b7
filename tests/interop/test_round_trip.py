# Round trip: what ptio writes, PyTorch 1.13 loads to equal tensors.
#  1. every matrix case saved by torch.save (zip and legacy) is re-saved with `ptio convert` (zip and
#     --legacy); torch.load of ptio's file must give the same listing (values, dtype, shape, strides,
#     offsets, requires_grad, quantizer, sparse components), the same object skeleton, and the same
#     storage sharing as torch.load of the original (weights_only=True wherever 1.13 allows it).
#  2. ptio_save_tool builds checkpoints from scratch (Tensor::borrowed etc.); PyTorch checks the
#     values the tool was told to write, and that views still share one storage.
import collections
import os
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop as pi  # noqa: E402
import torch_cases as tc  # noqa: E402

warnings.filterwarnings('ignore')

EXTRA = ('class', 'layout', 'device', 'qscheme', 'q_scale', 'q_zero_point', 'q_per_channel_axis',
         'q_per_channel_scales_sha256', 'q_per_channel_zero_points_sha256', 'indices_sha256',
         'values_sha256')


def skeleton(obj):
    """The object tree with tensors replaced by markers: containers, types and scalars compared."""
    if isinstance(obj, torch.Tensor):
        return ('tensor', type(obj).__name__)
    if isinstance(obj, (torch.storage.TypedStorage, torch.storage.UntypedStorage)):
        return ('storage',)
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, skeleton(v)) for k, v in obj.items()],
                skeleton(getattr(obj, '_metadata', None)))
    if isinstance(obj, (list, tuple)):  # torch.Size loads as a tuple in ptio (documented)
        return ('list' if isinstance(obj, list) else 'tuple', [skeleton(v) for v in obj])
    return obj


def load_any(path):
    try:
        return torch.load(path, weights_only=True), True
    except Exception:  # noqa: BLE001  (1.13's allowlist lacks qtensor, BINFLOAT, bytes...)
        return torch.load(path, weights_only=False), False


def compare(name, original, saved_path, failures):
    try:
        got, wo = load_any(saved_path)
    except Exception as e:  # noqa: BLE001
        failures.append('%s: torch.load of ptio output failed: %r' % (name, e))
        return
    exp_l, got_l = pi.torch_listing(original), pi.torch_listing(got)
    diffs = pi.diff_listings(exp_l, got_l)
    for e, g in zip(exp_l, got_l):
        for k in EXTRA:
            if e.get(k) != g.get(k):
                diffs.append('%s: %s torch=%r ptio=%r' % (e.get('path'), k, e.get(k), g.get(k)))
    if pi.storage_groups(exp_l) != pi.storage_groups(got_l):
        diffs.append('storage sharing %s vs %s' % (pi.storage_groups(exp_l), pi.storage_groups(got_l)))
    if skeleton(original) != skeleton(got):
        diffs.append('object skeleton differs: %r vs %r' % (skeleton(original), skeleton(got)))
    failures += ['%s: %s' % (name, d) for d in diffs]


def convert_matrix(d, failures):
    n = 0
    for name, obj in tc.cases().items():
        for variant in ('zip_p2', 'legacy_p2'):
            if name == 'untyped_storage' and variant.startswith('legacy'):
                continue
            src = os.path.join(d, '%s.%s.pt' % (name, variant))
            torch.save(obj, src, **tc.VARIANTS[variant])
            original, _ = load_any(src)
            for out_kind, extra in (('zip', []), ('legacy', ['--legacy'])):
                if name == 'untyped_storage' and out_kind == 'legacy':
                    continue  # 1.13 cannot load legacy untyped storages, whoever wrote them
                dst = os.path.join(d, '%s.%s.to_%s.pt' % (name, variant, out_kind))
                p = pi.run([pi.PTIO_BIN, 'convert', src, dst, *extra], check=False)
                if p.returncode != 0:
                    failures.append('%s/%s -> %s: ptio convert failed: %s' % (
                        name, variant, out_kind, p.stderr.decode('utf-8', 'replace')))
                    continue
                compare('%s/%s->%s' % (name, variant, out_kind), original, dst, failures)
                n += 1
    return n


def check_from_scratch(d, failures):
    tool = os.path.join(pi.TOOLS_DIR, 'ptio_save_tool')
    n = 0
    for legacy in (False, True):
        path = os.path.join(d, 'scratch%s.pt' % ('_legacy' if legacy else ''))
        pi.run([tool, path] + (['--legacy'] if legacy else []))
        obj = torch.load(path, weights_only=True)
        exp = collections.OrderedDict()
        exp['f32'] = torch.arange(12, dtype=torch.float32).reshape(3, 4)
        exp['f32_row1'] = exp['f32'][1]
        exp['f32_t'] = exp['f32'].t()
        exp['i64'] = torch.tensor([-5, 0, 2**40], dtype=torch.int64)
        exp['f16'] = torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16)
        exp['bf16'] = torch.tensor([1.0, -3.5], dtype=torch.bfloat16)
        exp['flags'] = torch.tensor([True, False, True])
        exp['scalar'] = torch.tensor(7, dtype=torch.int32)
        exp['empty'] = torch.zeros(0, 2)
        exp['c64'] = torch.tensor([1 + 2j, -3j], dtype=torch.complex64)
        exp['u8'] = torch.arange(5, dtype=torch.uint8)
        checks = [(type(obj) is collections.OrderedDict, 'root is an OrderedDict'),
                  (list(obj.keys()) == list(exp.keys()) + ['weight', 'nested'], 'keys')]
        for k, v in exp.items():
            t = obj[k]
            checks.append((t.dtype == v.dtype and t.shape == v.shape and torch.equal(t, v),
                           'values of %s: %r vs %r' % (k, t, v)))
        checks.append((obj['f32_row1'].storage_offset() == 4 and obj['f32_t'].stride() == (1, 4),
                       'view geometry'))
        checks.append((obj['f32'].storage().data_ptr() == obj['f32_row1'].storage().data_ptr() ==
                       obj['f32_t'].storage().data_ptr(), 'views share one storage'))
        w = obj['weight']
        checks.append((isinstance(w, torch.nn.Parameter) and w.requires_grad and
                       torch.equal(w.detach(), torch.full((2, 2), 0.25)), 'Parameter'))
        nested = obj['nested']
        checks.append((nested == [1, 'two', (3, None, True), {'k': 4}],
                       'nested plain values %r' % (nested,)))
        failures += ['scratch%s: %s' % (' legacy' if legacy else '', m) for ok, m in checks if not ok]
        n += 1
    return n


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        n = convert_matrix(d, failures)
        n += check_from_scratch(d, failures)
    print('%d round trips, %d failures' % (n, len(failures)))
    for f in failures:
        print('FAIL', f)
    return 1 if failures or n < 100 else 0


if __name__ == '__main__':
    sys.exit(main())
