#!/usr/bin/env python3
# `ptio scan` judges callables that load native code or run code dangerous (exit 1, verdict
# dangerous), and `ptio tensors` warns about them on stderr. From the new-user trial: a data.pkl
# calling `torch.ops.load_library('/tmp/evil.so')` was only "unknown" (suspicious) and `tensors`
# printed no warning. Each global is checked against real Python: where this Python can resolve
# it, pickle's find_class reaches the callable the table row names.
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402,F401  (imports torch._ops, torch._classes)

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()

# (module, name, what find_class must return when this Python resolves it, or None)
GLOBALS = [
    ('torch.ops', 'load_library', None),  # not importable in torch 1.13; named in the trial
    ('torch.classes', 'load_library', None),
    ('torch._ops', 'ops', lambda v: hasattr(v, 'load_library')),
    ('torch._ops', 'ops.load_library', lambda v: v.__name__ == 'load_library'),
    ('torch._ops', 'ctypes', lambda v: v.__name__ == 'ctypes'),
    ('torch._classes', 'classes', lambda v: hasattr(v, 'load_library')),
    ('torch._classes', 'classes.load_library', lambda v: v.__name__ == 'load_library'),
    ('torch._C', 'import_ir_module', callable),
    ('torch._C', '_load_for_lite_interpreter', callable),
    ('torch.serialization', '_load', callable),
    ('torch.serialization', '_legacy_load', callable),
    ('ctypes', 'CDLL', callable),
    ('ctypes', 'cdll', lambda v: hasattr(v, 'LoadLibrary')),
    ('_ctypes', 'dlopen', callable),
    ('_imp', 'create_dynamic', callable),
    ('_frozen_importlib_external', 'ExtensionFileLoader', callable),
    ('_frozen_importlib', 'BuiltinImporter', callable),
    ('importlib', 'import_module', callable),
    ('importlib.machinery', 'ExtensionFileLoader', callable),
    ('site', 'addpackage', callable),
    ('yaml', 'load', callable),
    ('yaml', 'unsafe_load', callable),
    ('yaml', 'full_load', callable),
    ('yaml', 'load_all', callable),
    ('IPython', 'get_ipython', None),
    ('IPython.core.interactiveshell', 'InteractiveShell.run_cell', None),
    ('code', 'InteractiveInterpreter', callable),
    ('runpy', 'run_path', callable),
    ('pydoc', 'locate', callable),
    ('marshal', 'loads', callable),
    ('types', 'FunctionType', callable),
    ('types', 'CodeType', callable),
]


def resolve(module, name):
    """What pickle's find_class returns for module.name (protocol 4 walks dotted names)."""
    up = pickle._Unpickler(io.BytesIO(b''))  # the pure-Python one: proto is settable
    up.proto = 4
    return up.find_class(module, name)


def data_pkl(module, name):
    """A protocol-4 pickle that calls module.name('/tmp/evil.so'), drops it and returns {}."""
    arg = b'/tmp/evil.so'
    m, n = module.encode(), name.encode()
    return (b'\x80\x04\x8c' + bytes([len(m)]) + m + b'\x8c' + bytes([len(n)]) + n + b'\x93' +
            b'X' + struct.pack('<I', len(arg)) + arg + b'\x85R0}.')


def main():
    with tempfile.TemporaryDirectory() as d:
        for module, name, expect in GLOBALS:
            full = module + '.' + name
            if expect is not None:
                try:
                    v = resolve(module, name)
                except (ImportError, AttributeError) as e:
                    v = e
                check(not isinstance(v, Exception) and expect(v),
                      '%s: Python resolves it to %r' % (full, v))
            path = os.path.join(d, full.replace('.', '_') + '.pt')
            with zipfile.ZipFile(path, 'w') as z:
                z.writestr('archive/data.pkl', data_pkl(module, name))
                z.writestr('archive/version', '3\n')
            p = subprocess.run([PTIO, 'scan', path], capture_output=True, timeout=60)
            out = p.stdout.decode('utf-8', 'replace')
            row = [ln for ln in out.splitlines() if ln.startswith('dangerous') and full in ln]
            check(p.returncode == 1 and out.rstrip().endswith('verdict: dangerous') and row,
                  'scan %s: exit %d, output %r' % (full, p.returncode, out))
            p = subprocess.run([PTIO, 'tensors', path], capture_output=True, timeout=60)
            err = p.stderr.decode('utf-8', 'replace')
            check(p.returncode == 0 and 'ptio: warning: %s:' % path in err and full in err and
                  '`ptio scan %s`' % path in err,
                  'tensors %s: exit %d, no warning naming it: %r' % (full, p.returncode, err))
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
