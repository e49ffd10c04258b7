#!/usr/bin/env python3
# The newcomer walk-through in README.md ("A first session") runs as written: every `$ ptio ...`
# line between the walkthrough markers is run from a folder that sees the repository's samples/,
# and its output must equal the lines README shows under it. The test fails when README drifts,
# and when a step writes a file anywhere but build/ (git-ignored: the walk-through must leave the
# checkout clean; it once left state_dict.safetensors and from_module.pt in the repository root).
import os
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402

SOURCE = os.environ.get('PTIO_SOURCE_DIR') or os.path.join(os.path.dirname(
    os.path.abspath(__file__)), '..', '..')


def steps(readme):
    text = open(readme).read()
    block = text.split('<!-- walkthrough:begin -->')[1].split('<!-- walkthrough:end -->')[0]
    lines = block.strip().splitlines()
    assert lines[0].startswith('```') and lines[-1] == '```', 'walkthrough is not one code block'
    out = []
    for line in lines[1:-1]:
        if line.startswith('$ '):
            out.append([line[2:], []])
        else:
            out[-1][1].append(line)
    return out


def main():
    ptio = os.path.abspath(ptio_interop.PTIO_BIN)
    failures = []
    todo = steps(os.path.join(SOURCE, 'README.md'))
    names = [shlex.split(c)[1] for c, _ in todo]
    for want in ('info', 'tensors', 'cat', 'convert', 'diff'):
        if want not in names:
            failures.append('the walk-through has no `ptio %s` step' % want)
    with tempfile.TemporaryDirectory() as d:
        os.symlink(os.path.join(os.path.abspath(SOURCE), 'samples'), os.path.join(d, 'samples'))
        os.mkdir(os.path.join(d, 'build'))
        for cmd, expected in todo:
            args = shlex.split(cmd)
            if args[0] != 'ptio':
                failures.append('not a ptio command: %s' % cmd)
                continue
            p = subprocess.run([ptio, *args[1:]], cwd=d, capture_output=True,
                               env=dict(os.environ, NO_COLOR='1'))
            got = p.stdout.decode().rstrip('\n').splitlines()
            if got != expected:
                failures.append('$ %s\n--- README\n%s\n--- ptio (exit %d)\n%s\n%s' %
                                (cmd, '\n'.join(expected), p.returncode, '\n'.join(got),
                                 p.stderr.decode()))
            if p.returncode not in (0, 1):
                failures.append('$ %s exits %d' % (cmd, p.returncode))
        left = sorted(set(os.listdir(d)) - {'samples', 'build'})
        if left:
            failures.append('the walk-through writes into the checkout: %s (write under build/)' %
                            ', '.join(left))
        if not os.listdir(os.path.join(d, 'build')):
            failures.append('the walk-through writes nothing under build/')
    if failures:
        print('\n'.join(failures))
        return 1
    print('ok: README walk-through, %d commands' % len(todo))
    return 0


if __name__ == '__main__':
    sys.exit(main())
