#!/usr/bin/env python3
# `ptio info --json` says what each kind of file PyTorch 1.13 writes is: torch.save (zip and
# legacy), pickle, TorchScript, lite-interpreter (bytecode) and flatbuffer modules; for TorchScript
# the class, version record, methods and extra files equal what PyTorch wrote.
import json
import os
import pickle
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def info(path):
    p = subprocess.run([ptio_interop.PTIO_BIN, 'info', '--json', path], capture_output=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout else {}), p.stderr.decode()


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        sd = nn.Linear(2, 2).state_dict()
        m = torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
        files = {}
        files['torch.save'] = os.path.join(d, 'zip.pt')
        torch.save(sd, files['torch.save'])
        files['torch.save-legacy'] = os.path.join(d, 'legacy.pt')
        torch.save(sd, files['torch.save-legacy'], _use_new_zipfile_serialization=False)
        files['pickle'] = os.path.join(d, 'plain.pkl')
        with open(files['pickle'], 'wb') as f:
            pickle.dump({'a': [1, 2]}, f, protocol=2)
        files['torchscript'] = os.path.join(d, 'script.pt')
        torch.jit.save(m, files['torchscript'], _extra_files={'x.txt': b'1'})
        files['mobile-bytecode'] = os.path.join(d, 'lite.ptl')
        m._save_for_lite_interpreter(files['mobile-bytecode'])
        try:
            files['flatbuffer'] = os.path.join(d, 'flat.ff')
            torch.jit.save_jit_module_to_flatbuffer(m, files['flatbuffer'])
        except Exception:  # noqa: BLE001 (flatbuffer support not built in)
            del files['flatbuffer']
        for kind, path in files.items():
            rc, j, err = info(path)
            if rc != 0 or j.get('kind') != kind:
                failures.append('%s: rc %d kind %r %s' % (kind, rc, j.get('kind'), err))
        rc, j, err = info(files['torchscript'])
        mod = j.get('module', {})
        if mod.get('class') != m._c._type().qualified_name():
            failures.append('class %r' % mod.get('class'))
        if mod.get('extra_files') != ['x.txt']:
            failures.append('extra files %r' % mod.get('extra_files'))
        if mod.get('archive', {}).get('version') != 3:
            failures.append('version %r' % mod.get('archive', {}).get('version'))
        want = {n: str(m._c._get_method(n).schema) for n in m._c._method_names()}
        got = {x['name']: x['schema'] for x in mod.get('modules', [{}])[0].get('methods', [])}
        if want != got:
            failures.append('methods %r != %r' % (got, want))
        rc, j, err = info(files['mobile-bytecode'])
        if j.get('module', {}).get('archive', {}).get('bytecode_version') != \
                torch._C._get_model_bytecode_version(files['mobile-bytecode']):
            failures.append('bytecode version %r' % j.get('module', {}).get('archive'))
    for f in failures:
        print('FAIL', f)
    print('%d kinds checked, %d failures' % (len(files), len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
