# Load matrix: real PyTorch saves every case of torch_cases.py in every format variant; `ptio tensors
# --json` must list exactly what torch.load of the same file reports (dtype, shape, strides, offset,
# requires_grad, sha256 of the elements), and views that share a storage in PyTorch share it in ptio.
import io
import os
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop as pi  # noqa: E402
import torch_cases as tc  # noqa: E402

warnings.filterwarnings('ignore')

# Combinations PyTorch 1.13 itself cannot load back, so there is nothing to compare with.
TORCH_CANNOT = {('untyped_storage', 'legacy_p2'), ('untyped_storage', 'legacy_p4')}


def main():
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as d:
        cases = dict(tc.cases())
        cases['full_model'] = tc.TinyNet()
        for name, obj in cases.items():
            for variant, kw in tc.VARIANTS.items():
                if (name, variant) in TORCH_CANNOT:
                    continue
                path = os.path.join(d, '%s.%s.pt' % (name, variant))
                torch.save(obj, path, **kw)
                expected = pi.torch_listing(torch.load(path, weights_only=False))
                try:
                    got = pi.ptio_listing(path)
                except Exception as e:  # noqa: BLE001
                    failures.append('%s/%s: %s' % (name, variant, e))
                    continue
                diffs = pi.diff_listings(expected, got)
                if pi.storage_groups(expected) != pi.storage_groups(got):
                    diffs.append('storage sharing: torch %s ptio %s' %
                                 (pi.storage_groups(expected), pi.storage_groups(got)))
                if not expected:
                    diffs.append('case lists no tensors (test bug)')
                failures += ['%s/%s: %s' % (name, variant, x) for x in diffs]
                checked += 1
    print('%d files checked, %d differences' % (checked, len(failures)))
    for f in failures:
        print('FAIL', f)
    return 1 if failures or checked < 200 else 0


if __name__ == '__main__':
    sys.exit(main())
