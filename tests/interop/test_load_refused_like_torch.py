#!/usr/bin/env python3
# Files torch.load refuses, ptio refuses too (new-user trial 9: ptio listed them):
# - a sparse COO tensor with an index past its size (or negative): torch checks the indices once
#   the storages are read (torch._utils._validate_loaded_sparse_tensors), zip and legacy alike;
# - a bool/int tensor or Parameter with requires_grad=True ("only Tensors of floating point and
#   complex dtype can require gradients").
# Each file is written by real PyTorch (with its reduce patched where torch would not write the
# value), checked to be refused by torch.load, then given to `ptio show`: exit 2, an error naming
# the file, the record and what is wrong. Valid sparse tensors (hybrid, empty, uncoalesced) still
# load with torch's values.
import collections
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


def save(obj, path, zip_format):
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format)


def torch_refuses(path, words):
    try:
        torch.load(path)
    except RuntimeError as e:
        return words in str(e)
    return False


def ptio(*args):
    p = subprocess.run([PTIO, *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def forced_requires_grad(obj, path, zip_format):
    """torch.save(obj) with requires_grad=True written for every tensor and Parameter."""
    orig_t = torch.Tensor._reduce_ex_internal
    orig_p = torch.nn.Parameter.__reduce_ex__

    def tensor_reduce(self, proto):
        fn, args = orig_t(self, proto)[:2]
        if fn is torch._utils._rebuild_tensor_v2:
            args = args[:4] + (True,) + args[5:]
        if fn is torch._utils._rebuild_qtensor:
            args = args[:5] + (True,) + args[6:]
        return fn, args

    def param_reduce(self, proto):
        return (torch._utils._rebuild_parameter, (self.data, True, collections.OrderedDict()))

    torch.Tensor._reduce_ex_internal = tensor_reduce
    torch.nn.Parameter.__reduce_ex__ = param_reduce
    try:
        save(obj, path, zip_format)
    finally:
        torch.Tensor._reduce_ex_internal = orig_t
        torch.nn.Parameter.__reduce_ex__ = orig_p


def record(path, zip_format):
    """The pickle ptio's error names: torch.save's zip prefix is the file's stem."""
    if zip_format:
        return os.path.splitext(os.path.basename(path))[0] + '/data.pkl'
    return 'object pickle'


def main():
    with tempfile.TemporaryDirectory() as d:
        for zip_format in (True, False):
            kind = 'zip' if zip_format else 'legacy'
            # --- sparse COO indices out of range
            bad = {
                'past': (torch.tensor([[0, 2]]), torch.ones(2), [2],
                         'for dim 0, size is 2 but found index 2'),
                'past_dim1': (torch.tensor([[0, 1], [3, 4]]), torch.ones(2), [2, 4],
                              'for dim 1, size is 4 but found index 4'),
                'negative': (torch.tensor([[0, -1]]), torch.ones(2), [2],
                             'found negative index -1 for dim 0'),
                'hybrid': (torch.tensor([[0, 5]]), torch.ones(2, 3), [5, 3],
                           'for dim 0, size is 5 but found index 5'),
            }
            for name, (i, v, size, words) in bad.items():
                path = os.path.join(d, 'sparse_%s_%s.pt' % (name, kind))
                save({'w': torch.ones(2), 's': torch._sparse_coo_tensor_unsafe(i, v, size)},
                     path, zip_format)
                check(torch_refuses(path, words), '%s: torch.load does not refuse it' % path)
                rc, out, err = ptio('show', path)
                where = 'ptio: error: %s: %s' % (path, record(path, zip_format))
                check(rc == 2 and where in err and words in err,
                      'show %s: exit %d, %r %r' % (path, rc, out, err))
            # --- valid sparse tensors still load, with torch's values
            good = {
                'coo': torch.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3., 4., 5.], (2, 3)),
                'hybrid': torch.sparse_coo_tensor([[0, 4]], torch.ones(2, 3), (5, 3)),
                'empty': torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long),
                                                 torch.zeros(0), (4, 4)),
                'uncoalesced': torch.sparse_coo_tensor([[1, 1, 0]], [1., 2., 3.], (2,)),
                'expanded_values': torch.sparse_coo_tensor([[0, 1]], torch.ones(1).expand(2),
                                                           (2,)),
            }
            path = os.path.join(d, 'sparse_good_%s.pt' % kind)
            save(good, path, zip_format)
            torch.load(path)
            rc, out, err = ptio('show', path)
            check(rc == 0 and err == '' and out.count('layout=torch.sparse_coo') == len(good),
                  'show %s: exit %d, %r %r' % (path, rc, out, err))
            # --- requires_grad on dtypes that cannot require gradients
            for name, t in (('bool', torch.ones(3, dtype=torch.bool)),
                            ('int64', torch.arange(3)),
                            ('uint8', torch.zeros(2, dtype=torch.uint8)),
                            ('qint8', torch.quantize_per_tensor(torch.ones(2), 0.1, 0,
                                                                torch.qint8)),
                            ('param_int32', torch.nn.Parameter(torch.arange(3, dtype=torch.int32),
                                                               requires_grad=False))):
                path = os.path.join(d, 'rg_%s_%s.pt' % (name, kind))
                forced_requires_grad({'w': torch.ones(2), 'x': t}, path, zip_format)
                check(torch_refuses(path, 'dtype can require gradients'),
                      '%s: torch.load does not refuse it' % path)
                rc, out, err = ptio('show', path)
                where = 'ptio: error: %s: %s' % (path, record(path, zip_format))
                check(rc == 2 and where in err and
                      'only Tensors of floating point and complex dtype can require gradients'
                      in err, 'show %s: exit %d, %r %r' % (path, rc, out, err))
            # float, half and complex tensors and Parameters with requires_grad still load
            path = os.path.join(d, 'rg_ok_%s.pt' % kind)
            ok = {'f': torch.ones(2, requires_grad=True),
                  'h': torch.ones(2, dtype=torch.half, requires_grad=True),
                  'c': torch.ones(2, dtype=torch.complex64, requires_grad=True),
                  'p': torch.nn.Parameter(torch.ones(2)),
                  'i': torch.nn.Parameter(torch.arange(2), requires_grad=False)}
            save(ok, path, zip_format)
            torch.load(path)
            rc, out, err = ptio('show', path)
            check(rc == 0 and out.count('requires_grad=True') == 4,
                  'show %s: exit %d, %r %r' % (path, rc, out, err))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
