# The malicious corpus (../shared/corpus, kind `malicious`, plus the exploits the manifest files
# under another kind, MISFILED_MALICIOUS): for every file
#  1. `ptio scan --json` never says safe; every file but the documented ones says dangerous;
#  2. ptio::load with default options (weights_only) refuses it with kUnsafeGlobal naming a global
#     the scan classified dangerous (or with the documented container error);
#  3. ptio::load with weights_only=false runs nothing: under strace, no execve beyond the tool's
#     own, no fork/vfork/non-thread clone, no socket, no file opened for writing, created, renamed
#     or removed; the temp cwd and HOME are unchanged;
#  4. `ptio tensors` and `ptio show` (inspection policy) exit 0/1/2, never by a signal or timeout.
# The files are never given to Python's pickle: only their bytes are read here.
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PTIO_BIN = os.environ.get('PTIO_BIN', 'ptio')
TOOLS_DIR = os.environ.get('PTIO_TOOLS_DIR', '')
_HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('PTIO_SHARED') or os.path.join(_HERE, '..', '..', '..', 'shared')
CORPUS = os.path.join(SHARED, 'corpus')
LOAD_TOOL = os.path.join(TOOLS_DIR, 'ptio_load_tool')


def _working_strace():
    """strace's path when it can trace here (ptrace may be forbidden in containers), else None."""
    path = shutil.which('strace')
    if not path:
        return None
    probe = subprocess.run([path, '-f', '-qq', '-o', os.devnull, 'true'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path if probe.returncode == 0 else None


STRACE = _working_strace()

# Files that are not dangerous by the tables alone, and why (they must still not be "safe").
ONLY_SUSPICIOUS = {
    # sys_module_override_sploit rebinds torch._utils attributes with BUILD (dangerous) — listed
    # here only if the tables change; currently none is expected.
}

# Files ptio::load refuses for a container reason before any global is read (strict zip reader).
LOAD_CONTAINER_ERRORS = {
    'picklescan/malicious1_0x1.zip': 'ZipEncrypted',          # encryption bit on data.pkl
    'picklescan/malicious1_0x40.zip': 'ZipEncrypted',         # strong-encryption bit
    'picklescan/malicious1_0x20.zip': None,                    # patched-data bit: strict refuses
    'picklescan/malicious1_central_directory.zip': 'ZipHeaderMismatch',  # local name differs
    'picklescan/malicious1_wrong_ext.zip': None,
    'picklescan/malicious1_crc.zip': None,
    'picklescan/malicious1.zip': None,
    # A harmless pickle stacked before the dangerous one: torch.load reads the first as the legacy
    # magic number and stops with "Invalid magic number" before the second runs; so does ptio.
    'picklescan/malicious6.pkl': 'LegacyFormat',
}


def py3(name):
    for old, new in (('__builtin__.', 'builtins.'), ('__builtins__.', 'builtins.')):
        if name.startswith(old):
            return new + name[len(old):]
    return name


# Exploits the manifest files under another kind (note for the corpus maintainers): checked as
# malicious all the same. fickling/a-file.pickle is fickling's PoC, posix.system('python
# pytorch_poc.py') (PyTorch 1.13's weights_only refused it: "Unsupported class posix.system").
MISFILED_MALICIOUS = {
    'fickling/a-file.pickle': 'posix.system',
}


def malicious_files():
    with open(os.path.join(CORPUS, 'MANIFEST.tsv'), newline='') as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    return sorted(r['file'] for r in rows
                  if r['kind'] == 'malicious' or r['file'] in MISFILED_MALICIOUS)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=60, **kw)


def scan(path):
    p = run([PTIO_BIN, 'scan', '--json', path])
    if p.returncode not in (1, 2) or (p.returncode == 1 and not p.stdout):
        raise AssertionError('scan %s: exit %d, stderr %s' % (path, p.returncode, p.stderr))
    if p.returncode == 2:
        return {'verdict': 'unreadable', 'globals': [], 'findings': [],
                'error': p.stderr.decode('utf-8', 'replace')}
    return json.loads(p.stdout)


def listing(d):
    out = set()
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(root, n), d))
    return out


WRITE_FLAGS = re.compile(r'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND')


def strace_violations(log_dir):
    """Process creation, network and file mutation in the strace logs (one file per pid)."""
    bad, execs = [], 0
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name), errors='replace') as f:
            for line in f:
                call = line.split('(', 1)[0].strip()
                if call.startswith('+++') or call.startswith('---') or not call:
                    continue
                if call == 'execve':
                    execs += 1
                elif call in ('fork', 'vfork'):
                    bad.append(line.strip())
                elif call in ('clone', 'clone3') and 'CLONE_THREAD' not in line:
                    bad.append(line.strip())
                elif call in ('socket', 'connect', 'bind', 'sendto'):
                    bad.append(line.strip())
                elif call in ('open', 'openat', 'openat2') and WRITE_FLAGS.search(line):
                    bad.append(line.strip())
                elif call in ('creat', 'mkdir', 'mkdirat', 'rename', 'renameat', 'renameat2',
                              'unlink', 'unlinkat', 'rmdir', 'symlink', 'symlinkat', 'link',
                              'linkat', 'truncate', 'ftruncate', 'chmod', 'fchmodat'):
                    bad.append(line.strip())
    if execs != 1:
        bad.append('%d execve calls (expected only the tool itself)' % execs)
    return bad


def load_full_sandboxed(path):
    """Runs `ptio_load_tool full path` in a fresh cwd/HOME; returns (process, violations)."""
    with tempfile.TemporaryDirectory() as box:
        cwd, home, logs = (os.path.join(box, n) for n in ('cwd', 'home', 'strace'))
        for d in (cwd, home, logs):
            os.mkdir(d)
        with open(os.path.join(cwd, 'flag.txt'), 'w') as f:
            f.write('flag\n')
        before = (listing(cwd), listing(home))
        env = {'HOME': home, 'PATH': '/usr/bin:/bin', 'TMPDIR': home}
        cmd = [LOAD_TOOL, 'full', os.path.abspath(path)]
        if STRACE:
            cmd = [STRACE, '-f', '-ff', '-qq', '-o', os.path.join(logs, 'trace'),
                   '-e', 'trace=%process,%network,%file,%desc'] + cmd
        p = run(cmd, cwd=cwd, env=env)
        violations = []
        if (listing(cwd), listing(home)) != before:
            violations.append('cwd or HOME changed: %s' % sorted(
                (listing(cwd) ^ before[0]) | (listing(home) ^ before[1])))
        if STRACE:
            violations += strace_violations(logs)
        return p, violations


def main():
    files = malicious_files()
    assert len(files) >= 90, 'expected the 96 malicious corpus files, found %d' % len(files)
    failures, verdicts = [], {}
    for rel in files:
        path = os.path.join(CORPUS, rel)
        r = scan(path)
        verdicts[rel] = r['verdict']
        dangerous = {g['module'] + '.' + g['name'] for g in r['globals']
                     if g['class'] == 'dangerous'}
        every = {py3(g['module'] + '.' + g['name']) for g in r['globals']}
        if rel in MISFILED_MALICIOUS and MISFILED_MALICIOUS[rel] not in dangerous:
            failures.append('%s: scan does not name %s as dangerous (globals %s)' %
                            (rel, MISFILED_MALICIOUS[rel], sorted(every)))
        if r['verdict'] == 'safe':
            failures.append('%s: scan says safe' % rel)
        elif r['verdict'] != 'dangerous' and rel not in ONLY_SUSPICIOUS:
            failures.append('%s: scan says %s (globals %s, findings %s)' %
                            (rel, r['verdict'], sorted(every),
                             [f['message'] for f in r['findings']]))

        # 2. weights_only refuses it, naming a global the file references.
        p = run([LOAD_TOOL, 'weights_only', path])
        out = p.stdout.decode('utf-8', 'replace')
        if p.returncode != 1 or not out.startswith('error '):
            failures.append('%s: weights_only load did not refuse: %d %s' %
                            (rel, p.returncode, out[:200]))
        else:
            code = out.split()[1]
            if rel in LOAD_CONTAINER_ERRORS:
                want = LOAD_CONTAINER_ERRORS[rel]
                if want and code != want:
                    failures.append('%s: expected %s, got %s' % (rel, want, out[:300]))
                elif not want and code != 'UnsafeGlobal' and not code.startswith('Zip'):
                    failures.append('%s: unexpected refusal %s' % (rel, out[:300]))
            elif code != 'UnsafeGlobal':
                failures.append('%s: refused with %s, not UnsafeGlobal: %s' % (rel, code, out[:300]))
            if code == 'UnsafeGlobal' and not any(g in out for g in every):
                failures.append('%s: the error names no global of the file: %s' % (rel, out[:300]))

        # 3. weights_only=false: whatever it loads, nothing runs.
        p, violations = load_full_sandboxed(path)
        if p.returncode not in (0, 1):
            failures.append('%s: full load exited %d: %s' % (rel, p.returncode, p.stderr[-300:]))
        for v in violations:
            failures.append('%s: full load side effect: %s' % (rel, v))
        if p.returncode == 0 and dangerous:
            text = p.stdout.decode('utf-8', 'replace')
            if 'ok ' not in text:
                failures.append('%s: full load printed %s' % (rel, text[:200]))

        # 4. inspection tools never crash.
        for sub in (['tensors', '--json'], ['show']):
            q = run([PTIO_BIN] + sub + [path])
            if q.returncode not in (0, 1, 2):
                failures.append('%s: ptio %s exited %d: %s' %
                                (rel, sub[0], q.returncode, q.stderr[-300:]))

    counts = {}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    print('scan verdicts over %d malicious files: %s' % (len(files), counts))
    print('strace checks: %s' % ('on' if STRACE else 'off (strace not installed or ptrace not permitted)'))
    for rel, v in sorted(verdicts.items()):
        if v != 'dangerous':
            print('  %s: %s' % (rel, v))
    if failures:
        print('\n'.join(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
