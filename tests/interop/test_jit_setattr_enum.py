#!/usr/bin/env python3
# Module::setattr of an enum attribute (tests/tools/ptio_jit_setattr_tool, `{"$enum": NAME,
# "value": V}`), checked by real PyTorch 1.13. From the new-user trial: an enum value that is not
# a member of the enum class was stored and jit::save wrote it; now setattr refuses it with
# kJitBadEdit ("'MEDIUM' is not a member of enum ..."), as PyTorch refuses assigning a value of
# the wrong type to a scripted module's attribute, and nothing is written:
#  - a member (name and value) is stored: PyTorch loads OUT and forward follows the new member;
#  - a made-up member name, or a member's name with another value: exit 2, OUT not written.
import enum
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

TOOL = os.path.join(ptio_interop.TOOLS_DIR, 'ptio_jit_setattr_tool')
check = ptio_interop.Checks()


class Mode(enum.Enum):
    FAST = 'fast'
    SLOW = 'slow'


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mode = Mode.SLOW

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == Mode.FAST:
            return x * 2
        return x


def main():
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, 'model.pt')
        torch.jit.save(torch.jit.script(Net()), model)
        x = torch.arange(3.0)
        out = os.path.join(d, 'fast.pt')
        p = subprocess.run([TOOL, model, out, 'mode={"$enum": "FAST", "value": "fast"}'],
                           capture_output=True, timeout=120)
        check(p.returncode == 0, 'a member: exit %d: %s' % (p.returncode, p.stderr.decode()))
        if p.returncode == 0:
            m = torch.jit.load(out)
            check(torch.equal(m(x), x * 2), 'PyTorch does not see FAST: %s' % m(x))
        for name, value in (('MEDIUM', '"medium"'), ('FAST', '"slow"'), ('SLOW', '1')):
            bad = os.path.join(d, 'bad-%s-%s.pt' % (name, value.strip('"')))
            p = subprocess.run([TOOL, model, bad,
                                'mode={"$enum": "%s", "value": %s}' % (name, value)],
                               capture_output=True, timeout=120)
            err = p.stderr.decode()
            check(p.returncode == 2 and "attribute 'mode'" in err and 'does not fit' in err,
                  '%s=%s: exit %d: %s' % (name, value, p.returncode, err))
            if name == 'MEDIUM':
                check("'MEDIUM' is not a member of enum" in err and '(its members: FAST, SLOW)' in err,
                      'the members are not named: %s' % err)
            check(not os.path.exists(bad), '%s=%s: OUT written' % (name, value))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
