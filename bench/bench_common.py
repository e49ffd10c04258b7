"""Setup shared by the TorchScript benchmark drivers (jit_load_bench.py, jit_save_bench.py): the
large scripted model both time, its size rule, and the g++ build of their small libtorch
programs."""
import os
import subprocess

import torch
import torch.nn as nn


class Big(nn.Module):
    """A ModuleList of `n_layers` Linear(width, width): one large float32 tensor per weight."""

    def __init__(self, n_layers, width):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(n_layers)])

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


def big_layers(mb, width):
    """How many Linear(width, width) layers (float32 weight + bias) make about `mb` MiB (>= 1)."""
    return max(1, int(mb * (1 << 20) / (4 * width * (width + 1))))


def build_libtorch(d, name, program):
    """Builds the C++ `program` against Debian's libtorch-dev as `d/name`; returns its path, or
    None (with a note printed) when libtorch-dev is missing or g++ fails."""
    if not os.path.exists('/usr/include/torch/script.h'):
        return None
    src = os.path.join(d, name + '.cpp')
    exe = os.path.join(d, name)
    with open(src, 'w') as f:
        f.write(program)
    cmd = ['g++', '-O2', '-std=c++17', src, '-o', exe,
           '-I/usr/include/torch/csrc/api/include', '-ltorch', '-ltorch_cpu', '-lc10']
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode != 0:
        print('libtorch comparison skipped: g++ failed: %s' % p.stderr.decode()[-300:])
        return None
    return exe
