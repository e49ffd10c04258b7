#!/usr/bin/env python3
# Archives real PyTorch 1.13 refuses and ptio loaded (a new-user trial; each is rebuilt here from a
# module torch.jit.save wrote, records rewritten with zipfile). For each, torch.jit.load (or
# torch.load) must refuse it, and ptio must refuse it too: a non-zero exit, the error code from
# `ptio info --json` and PyTorch's reason in the message, naming the record. Files both accept
# stay accepted (a folded INT64_MIN literal, an octal-looking literal, an infinite float, two
# classes of one name, a torch.save pickle with extra values on its stack).
#  - code/: two methods of one name ("Can't redefine method"), an attribute in both
#    __parameters__ and __buffers__, a buffer of type int, a method without `self`, a method
#    signature naming an undefined class, two declarations of one attribute, integer literals
#    out of int64 (a 1,000,000-digit one, 2**63, 0x8000000000000000, in a default and a Final
#    constant) and a doubly negated one (std::stoll refuses "--5");
#  - data.pkl / constants.pkl leaving more than one value on the stack at STOP (2,000,002 values:
#    refused within the pickle's allocation budget), naming globals torch.load knows but the C++
#    unpickler does not (torch.Size, builtins.set), or using opcodes it does not implement
#    (SHORT_BINUNICODE, INT, SETITEM, a LONG1 of 1 byte), or an int storage key;
#  - storage locations that are not devices ('xyz', 'cud'), or devices TorchScript does not load
#    on ('mps', 'xla'); in torch.save files (zip and legacy) the tags torch.load cannot restore
#    ('xyz', 'xla', 'cpu:0', 'cudax').
import json
import os
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptio_interop  # noqa: E402
import torch  # noqa: E402

PTIO = ptio_interop.PTIO
check = ptio_interop.Checks()


class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(2))
        self.k = 3

    def forward(self, x):
        return x * self.w + self.k


def rewrite(base, dst, repl, drop_debug=False):
    """Copies the archive `base` to `dst` with the records whose name after the prefix is a key of
    `repl` replaced (code changes drop the .debug_pkl records, which map the old text)."""
    with zipfile.ZipFile(base) as z, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as o:
        for n in z.namelist():
            rel = n.split('/', 1)[1]
            if drop_debug and rel.endswith('.debug_pkl'):
                continue
            o.writestr(zipfile.ZipInfo(n), repl.get(rel, z.read(n)))


def record(base, rel):
    with zipfile.ZipFile(base) as z:
        return z.read(next(n for n in z.namelist() if n.split('/', 1)[1] == rel))


def with_location(pkl, loc):
    """The pickle with its BINUNICODE 'cpu' location tags replaced by `loc`."""
    out = pkl.replace(b'X\x03\x00\x00\x00cpu', b'X' + len(loc).to_bytes(4, 'little') + loc.encode())
    assert out != pkl
    return out


def torch_refuses(load, path):
    try:
        load(path)
        return None
    except Exception as e:  # noqa: BLE001 (PyTorch raises RuntimeError, ValueError, ...)
        return '%s: %s' % (type(e).__name__, str(e).split('\n')[0])


def info(path):
    code, out, err, rss = ptio_interop.run_with_rss('info', '--json', path, timeout=300)
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    return code, j, err, rss


def jit_cases(d):
    base = os.path.join(d, 'base.pt')
    torch.jit.save(torch.jit.script(M()), base)
    code = record(base, 'code/__torch__.py').decode()
    data = record(base, 'data.pkl')
    fwd = code[code.index('  def forward'):]
    ret = 'return torch.add(_0, k)'
    assert ret in code and '  k : int\n' in code and '__buffers__ = []' in code
    assert data.count(b'K\x03u') == 1 and data.count(b'X\x01\x00\x00\x000q') == 1

    def src(text):
        return {'code/__torch__.py': text.encode()}

    big = '9' * 1000000
    # name: (records, error code, what the message says)
    refused = {
        'dup_method': (src(code + fwd), 'JitBadModule',
                       "Can't redefine method: forward on class: __torch__.M"),
        'param_and_buffer': (src(code.replace('__buffers__ = []', '__buffers__ = ["w"]')),
                             'JitBadModule', 'Attribute cannot be both a parameter and a buffer'),
        'dup_attribute': (src(code.replace('  k : int\n', '  k : int\n  k : float\n')),
                          'JitBadModule', "attribute 'k' is declared twice"),
        'int_1m_digits': (src(code.replace(ret, 'return torch.add(_0, %s)' % big)), 'JitSyntax',
                          'Integral constant out of range (must fit in a signed 64 bit integer)'),
        'int_2_63': (src(code.replace(ret, 'return torch.add(_0, 9223372036854775808)')),
                     'JitSyntax', 'Integral constant out of range'),
        'int_hex_2_63': (src(code.replace(ret, 'return torch.add(_0, 0x8000000000000000)')),
                         'JitSyntax', 'Integral constant out of range'),
        'int_default': (src(code.replace('x: Tensor) -> Tensor:',
                                         'x: Tensor, y: int=99999999999999999999) -> Tensor:')),
                        'JitSyntax', 'Integral constant out of range'),
        'int_final': (src(code.replace('  k : int\n',
                                       '  k : int\n  Q : Final[int] = 99999999999999999999\n')),
                      'JitSyntax', 'Integral constant out of range'),
        'int_double_minus': (src(code.replace(ret, 'return torch.add(_0, - -5)')), 'JitSyntax',
                             'not an integer literal'),
        'parameter_int': (src(code.replace('__buffers__ = []', '__buffers__ = ["k"]')),
                          'JitBadModule', 'Expecting parameter or buffer to have either None, '
                          'Tensor or Optional[Tensor] type, but got: int'),
        'method_without_self': (src(code.replace(fwd, '  def forward() -> int:\n    return 1\n')),
                                'JitBadModule', 'methods must have a self argument'),
        'signature_unknown_class': (src(code + '  def other(self: __torch__.M, y: __torch__.Nope)'
                                        ' -> int:\n    return 1\n'), 'JitMissingClass',
                                    "Unknown type name '__torch__.Nope'"),
        'stack_data': ({'data.pkl': b'\x80\x02N' + data[2:]}, 'PickleLeftoverStack',
                       'Unpickler expected 1 element on the stack, but found 2'),
        'stack_2m_constants': ({'constants.pkl': b'\x80\x02' + b'N' * 2000001 + b').'},
                               'PickleLeftoverStack',
                               'Unpickler expected 1 element on the stack, but found 2000002'),
        'global_torch_size': ({'data.pkl': data.replace(b'K\x03u', b'ctorch\nSize\n)Ru')},
                              'PickleUnknownGlobal',
                              "Unpickler found unknown torch global, 'torch.Size'"),
        'global_builtins_set': ({'data.pkl': data.replace(b'K\x03u', b'cbuiltins\nset\n)Ru')},
                                'PickleUnknownGlobal', "Unknown type name 'builtins.set'"),
        'opcode_short_binunicode': ({'data.pkl': data.replace(b'K\x03u', b'\x8c\x01au')},
                                    'PickleUnknownOpcode',
                                    'Unknown opcode for unpickling: SHORT_BINUNICODE'),
        'opcode_int': ({'data.pkl': data.replace(b'K\x03u', b'I3\nu')}, 'PickleUnknownOpcode',
                       'Unknown opcode for unpickling: INT'),
        'opcode_setitem': ({'data.pkl': data.replace(b'K\x03u', b'}K\x01K\x02su')},
                           'PickleUnknownOpcode', 'Unknown opcode for unpickling: SETITEM'),
        'opcode_long1_1_byte': ({'data.pkl': data.replace(b'K\x03u', b'\x8a\x01\x03u')},
                                'PickleBadLength', 'LONG1: Expected length to be 8, got 1'),
        'storage_key_int': ({'data.pkl': data.replace(b'X\x01\x00\x00\x000q', b'K\x00q')},
                            'BadPersistentId', 'the key of a TorchScript storage must be a str'),
        'location_xyz': ({'data.pkl': with_location(data, 'xyz')}, 'BadDevice',
                         'Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, '
                         've, fpga, ort, xla, lazy, vulkan, mps, meta, hpu, privateuseone device '
                         'type at start of device string: xyz'),
        'location_cud': ({'data.pkl': with_location(data, 'cud')}, 'BadDevice',
                         'device type at start of device string: cud'),
        'location_cuda0': ({'data.pkl': with_location(data, 'cuda0')}, 'BadDevice',
                           "Invalid device string: 'cuda0'"),
        'location_mps': ({'data.pkl': with_location(data, 'mps')}, 'BadDevice',
                         'supported devices include CPU, CUDA and HPU, however got MPS'),
        'location_xla': ({'data.pkl': with_location(data, 'xla:0')}, 'BadDevice',
                         'supported devices include CPU, CUDA and HPU, however got XLA'),
    }
    accepted = {
        'int64_min': src(code.replace(ret, 'return torch.add(_0, -9223372036854775808)')),
        'octal_looking': src(code.replace(ret, 'return torch.add(_0, 0999)')),
        'float_inf': src(code.replace(ret, 'return torch.add(_0, 1e999)')),
        'two_classes_one_name': src(code + code + '  def later_one(self: __torch__.M) -> int:\n'
                                    '    return 1\n'),
        'location_meta': {'data.pkl': with_location(data, 'meta')},
        'opcode_long1_8_bytes': {'data.pkl': data.replace(b'K\x03u',
                                                          b'\x8a\x08\x03' + bytes(7) + b'u')},
    }
    for name, (repl, want_code, want_text) in refused.items():
        path = os.path.join(d, name + '.pt')
        rewrite(base, path, repl, drop_debug='code/__torch__.py' in repl)
        why = torch_refuses(torch.jit.load, path)
        if not check(why is not None, '%s: torch.jit.load accepts it' % name):
            continue
        code_, j, err, rss = info(path)
        got = j.get('load_error', '')
        rec = next(iter(repl)).split('/')[0]  # the record the error names
        check(code_ != 0 and j.get('load_error_code') == want_code and want_text in got and
              ('base/' + next(iter(repl))) in got,
              '%s: torch refuses (%s); ptio info: exit %d, %s %r (want %s, %r, naming base/%s)'
              % (name, why[:200], code_, j.get('load_error_code'), got[:300] or err[:300],
                 want_code, want_text[:80], rec))
        if name == 'stack_2m_constants':
            check(rss < (512 << 20) or ptio_interop.sanitized(),
                  '%s: peak RSS %d MiB' % (name, rss >> 20))
        p = subprocess.run([PTIO, 'tensors', path], capture_output=True, timeout=300)
        check(p.returncode != 0 and want_text.encode() in p.stderr,
              '%s: ptio tensors: exit %d %r' % (name, p.returncode, p.stderr[:300]))
    for name, repl in accepted.items():
        path = os.path.join(d, name + '.pt')
        rewrite(base, path, repl, drop_debug='code/__torch__.py' in repl)
        why = torch_refuses(torch.jit.load, path)
        check(why is None, '%s: torch.jit.load refuses it: %s' % (name, why))
        code_, j, err, _ = info(path)
        check(code_ == 0 and 'load_error' not in j,
              '%s: ptio info refuses what PyTorch loads: exit %d %r' %
              (name, code_, j.get('load_error', err)[:300]))
    # Of two classes with one name, the later one is the class (PyTorch's map of a file's classes).
    path = os.path.join(d, 'two_classes_one_name.pt')
    check(hasattr(torch.jit.load(path), 'later_one'), 'torch: the later class is not the class')
    code_, j, err, _ = info(path)
    check(code_ == 0 and 'later_one' in json.dumps(j.get('module')),
          'two classes of one name: the later one is not the class: exit %d %r'
          % (code_, (json.dumps(j.get('module')) or err)[-300:]))


def torch_load_cases(d):
    t = {'a': torch.ones(2)}
    zpath, lpath = os.path.join(d, 'sd.pt'), os.path.join(d, 'sd_legacy.pt')
    torch.save(t, zpath)
    torch.save(t, lpath, _use_new_zipfile_serialization=False)
    legacy = open(lpath, 'rb').read()
    zdata = record(zpath, 'data.pkl')
    for loc, restorable in (('xyz', False), ('xla', False), ('cpu:0', False), ('cudax', False),
                            ('meta', True), ('cuda:1', None)):
        for kind in ('zip', 'legacy'):
            path = os.path.join(d, 'sd_%s_%s.pt' % (kind, loc.replace(':', '_')))
            if kind == 'zip':
                rewrite(zpath, path, {'data.pkl': with_location(zdata, loc)})
            else:
                open(path, 'wb').write(with_location(legacy, loc))
            why = torch_refuses(torch.load, path)
            p = subprocess.run([PTIO, 'tensors', '--json', path], capture_output=True,
                               timeout=120)
            err = p.stderr.decode('utf-8', 'replace')
            if restorable is None:  # CUDA: refused here for want of a GPU; ptio keeps the tag
                check(p.returncode == 0 and '"cuda:1"' in p.stdout.decode(),
                      '%s %s: ptio tensors: exit %d %r' % (kind, loc, p.returncode, err[:300]))
                continue
            check((why is None) == restorable,
                  '%s %s: torch.load %s' % (kind, loc, why or 'accepts it'))
            if restorable:
                check(p.returncode == 0 and ('"%s"' % loc) in p.stdout.decode(),
                      '%s %s: ptio tensors: exit %d %r' % (kind, loc, p.returncode, err[:300]))
            else:
                want = ("device type at start of device string: cudax" if loc == 'cudax' else
                        "don't know how to restore data location of a storage (tagged with '%s')"
                        % loc)
                check(p.returncode != 0 and want in err and path in err,
                      '%s %s: torch refuses (%s); ptio tensors: exit %d %r'
                      % (kind, loc, why, p.returncode, err[:300]))
    # Python's pickle pops the result at STOP whatever is below it: torch.load accepts extra
    # stack values, and so does ptio's torch.load path.
    path = os.path.join(d, 'sd_stack.pt')
    rewrite(zpath, path, {'data.pkl': b'\x80\x02NN' + zdata[2:]})
    why = torch_refuses(torch.load, path)
    check(why is None, 'extra stack values: torch.load refuses them: %s' % why)
    p = subprocess.run([PTIO, 'tensors', path], capture_output=True, timeout=120)
    check(p.returncode == 0, 'extra stack values: ptio tensors: exit %d %r'
          % (p.returncode, p.stderr[:300]))


def main():
    with tempfile.TemporaryDirectory() as d:
        jit_cases(d)
        torch_load_cases(d)
    return check.finish()


if __name__ == '__main__':
    sys.exit(main())
