# The matrix of objects PyTorch 1.13 can torch.save, shared by the load, round-trip and byte tests.
import collections

import torch


def _dtype_cases():
    g = torch.Generator().manual_seed(1234)
    out = {}
    base = torch.randn(3, 5, generator=g)
    for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex64,
               torch.complex128):
        out['dtype_' + str(dt)[6:]] = base.to(dt) * (1 + 1j if dt.is_complex else 1)
    for dt in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        out['dtype_' + str(dt)[6:]] = torch.randint(-100 if dt != torch.uint8 else 0, 100, (4, 7),
                                                    generator=g).to(dt)
    out['dtype_int64_extremes'] = torch.tensor([-2**63, 2**63 - 1, 0, -1])
    out['dtype_bool'] = torch.randn(6, generator=g) > 0
    out['dtype_float_special'] = torch.tensor([float('nan'), float('inf'), -float('inf'), -0.0,
                                               1e-45, 3.4e38])
    return out


def _quantized_cases():
    g = torch.Generator().manual_seed(99)
    x = torch.randn(4, 6, generator=g)
    return {
        'q_qint8': torch.quantize_per_tensor(x, 0.05, 3, torch.qint8),
        'q_quint8': torch.quantize_per_tensor(x, 0.02, 128, torch.quint8),
        'q_qint32': torch.quantize_per_tensor(x, 0.001, -7, torch.qint32),
        'q_quint4x2': torch.quantize_per_tensor(x, 0.5, 4, torch.quint4x2),
        'q_per_channel': torch.quantize_per_channel(x, torch.tensor([.1, .2, .3, .4]),
                                                    torch.tensor([0, 1, -2, 5]), 0, torch.qint8),
        'q_per_channel_axis1': torch.quantize_per_channel(
            x, torch.linspace(0.01, 0.2, 6), torch.arange(6), 1, torch.quint8),
    }


def _layout_cases():
    x = torch.arange(48, dtype=torch.float32).reshape(6, 8)
    big = torch.arange(300 * 257, dtype=torch.float32).reshape(300, 257)
    return {
        'scalar_0d': torch.tensor(3.25),
        'bool_0d': torch.tensor(True),
        'empty_0x3': torch.zeros(0, 3),
        'empty_1d': torch.zeros(0, dtype=torch.int64),
        'large': big,
        'transposed': x.t(),
        'sliced': x[1:5:2, 2:7],
        'offset_view': x.view(-1)[13:29],
        'expanded': torch.arange(4.).reshape(4, 1).expand(4, 5),
        'permuted_3d': torch.arange(60).reshape(3, 4, 5).permute(2, 0, 1),
        'narrow_storage': torch.arange(12.)[2:5],
    }


def _structure_cases():
    x = torch.arange(20, dtype=torch.float64).reshape(4, 5)
    lin = torch.nn.Linear(3, 2)
    seq = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    seq[2].weight = torch.nn.Parameter(torch.randn(2, 3))
    p_grad = torch.nn.Parameter(torch.randn(3, 2))
    p_nograd = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    rg = torch.randn(3).requires_grad_()
    tied = torch.nn.Parameter(torch.randn(5, 4))
    return {
        'shared_views': {'a': x, 'b': x[1:3], 'c': x.t(), 'd': x.view(-1)[7:]},
        'same_tensor_twice': [x, x],
        'tied_weights': collections.OrderedDict([('emb.weight', tied), ('out.weight', tied)]),
        'nested': {'list': [x[0], (x[1], {'deep': [x[2], torch.ones(2, dtype=torch.int32)]})],
                   'num': 3, 'text': 'hi', 'none': None, 'float': 2.5, 'flag': True,
                   'tuple': (1, 2.0, 'three', b'bytes')},
        'parameters': {'with_grad': p_grad, 'no_grad': p_nograd, 'plain_rg': rg},
        'state_dict_linear': lin.state_dict(),
        'state_dict_seq': seq.state_dict(),
        'list_root': [torch.ones(2), torch.zeros(3, dtype=torch.bool)],
        'int_keys': {1: torch.ones(1), 2: torch.zeros(2)},
        'typed_storage': torch.arange(7, dtype=torch.int16).storage(),
        'untyped_storage': torch.arange(5, dtype=torch.uint8).storage().untyped(),
        'tensor_and_storage': [torch.arange(6.)[1:4], torch.ones(3, dtype=torch.int64).storage()],
        'sparse_coo': torch.tensor([[0., 2., 0.], [3., 0., 4.]]).to_sparse(),
        'sparse_csr': torch.tensor([[0., 2., 0.], [3., 0., 4.]]).to_sparse_csr(),
        'meta': torch.empty(2, 3, device='meta'),
        'meta_strided': torch.empty(4, 6, device='meta').t(),
        'dtype_and_size': {'dtype': torch.float16, 'size': torch.Size([2, 3]),
                           'dev': torch.device('cpu'), 't': torch.ones(1)},
    }


def cases():
    """name -> object; every one torch.save-able by 1.13 and loadable with weights_only=True."""
    out = {}
    out.update(_dtype_cases())
    out.update(_quantized_cases())
    out.update(_layout_cases())
    out.update(_structure_cases())
    return out


# Save variants: name -> torch.save kwargs.
VARIANTS = {
    'zip_p2': {},
    'zip_p4': {'pickle_protocol': 4},
    'zip_p5': {'pickle_protocol': 5},
    'legacy_p2': {'_use_new_zipfile_serialization': False},
    'legacy_p4': {'_use_new_zipfile_serialization': False, 'pickle_protocol': 4},
}


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3))
        self.register_buffer('steps', torch.tensor(7))
        self.register_buffer('scratch', torch.zeros(2), persistent=False)
