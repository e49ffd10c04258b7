#!/usr/bin/python3
"""Regenerates the bundled samples in samples/ with Debian's PyTorch (python3-torch 1.13).

Run with the system Python: /usr/bin/python3 scripts/gen_samples.py
The zip files are deterministic (fixed seed); the legacy file keys storages by pointer value
and the TorchScript archive records source paths, so those two differ run to run. Commit what
it writes.
"""
import collections
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "samples")


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(3, 2, bias=False)
        self.register_buffer("steps", torch.tensor(7, dtype=torch.int64))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    net = TinyNet()
    # A state_dict checkpoint, the most common torch.save file.
    torch.save(net.state_dict(), os.path.join(OUT, "state_dict.pt"))
    # A training checkpoint with mixed values, and a tied view.
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    ckpt = collections.OrderedDict(
        epoch=3, lr=0.001, name="tiny", weights=w, weights_t=w.t(), row=w[1],
        half=torch.linspace(-1, 1, 5).half(), flags=torch.tensor([True, False]))
    torch.save(ckpt, os.path.join(OUT, "checkpoint.pt"))
    # The same checkpoint in the legacy (pre-1.6) format.
    torch.save(ckpt, os.path.join(OUT, "checkpoint_legacy.pt"), _use_new_zipfile_serialization=False)
    # A scripted module (TorchScript archive) with an extra file.
    scripted = torch.jit.script(net)
    torch.jit.save(scripted, os.path.join(OUT, "tiny_scripted.pt"),
                   _extra_files={"meta.json": b'{"author": "ptio samples"}'})
    print("wrote", sorted(os.listdir(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
