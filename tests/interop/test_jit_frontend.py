"""ptio's TorchScript frontend against the code/ files real PyTorch writes.

PyTorch 1.13 scripts and traces the modules of jit_frontend_models.py, saves them with
torch.jit.save, and every code/**.py record is given to `ptio_jit_parse_tool roundtrip`, which
parses, prints, re-parses and re-prints. Required: every file parses and printing is a fixed
point; asserted: the print equals PyTorch's bytes. The same runs over every TorchScript/mobile
archive of the shared corpus. Finally, source in the importer's wider dialect (infix operators,
elif, comprehensions) is printed by ptio and loaded back by torch.jit.load.
"""
import csv
import io
import os
import re
import subprocess
import sys
import tempfile
import unittest
import warnings
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import jit_frontend_models as models  # noqa: E402

TOOL = os.path.join(os.environ.get("PTIO_TOOLS_DIR", ""), "ptio_jit_parse_tool")
SHARED = os.environ.get("PTIO_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))

# PyTorch prints Enum string values raw, without escaping (language spec 1.5): a value holding
# a backslash or quote reads back as a different string, which ptio then prints escaped.
ENUM_RAW_STRING = re.compile(r'^  \w+ = ".*[\\\'"].*"$')


def code_records(archive_bytes):
    """{record name: bytes} of every code/**.py record in a zip archive."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as z:
        for name in z.namelist():
            parts = name.split("/")
            if "code" in parts[:-1] and name.endswith(".py"):
                out[name] = z.read(name)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run_tool(*args):
    r = subprocess.run([TOOL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout


def roundtrip(test, files):
    """Runs the tool over files; returns {path: (status, detail)} and checks the summary."""
    rc, out = run_tool("roundtrip", *files)
    results = {}
    for line in out.splitlines():
        if line.startswith("OK IDENTICAL "):
            results[line[len("OK IDENTICAL "):]] = ("identical", "")
        elif line.startswith("OK DIFFERENT "):
            path, _, detail = line[len("OK DIFFERENT "):].partition(" ")
            results[path] = ("different", detail)
        elif line.startswith("FAIL "):
            path, _, detail = line[len("FAIL "):].partition(": ")
            results[path] = ("fail", detail)
    failures = {p: d for p, (s, d) in results.items() if s == "fail"}
    test.assertEqual(failures, {}, "files that do not parse or do not print to a fixed point")
    test.assertEqual(rc, 0, out[-2000:])
    test.assertEqual(len(results), len(files))
    return results


class JitFrontendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls.modules = models.build()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, sub, records):
        paths = []
        for name, data in sorted(records.items()):
            p = os.path.join(self.tmp.name, sub, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
            paths.append(p)
        return paths

    def test_pytorch_written_code_roundtrips_byte_identical(self):
        files = []
        for name, module in self.modules:
            buf = io.BytesIO()
            torch.jit.save(module, buf)
            files += self.write("models/" + name, code_records(buf.getvalue()))
        # The archives really exercise the forms the printer emits.
        text = b"".join(read(p) for p in files)
        for needle in [b"(Module):", b"(NamedTuple):", b"(Enum):", b"(Interface):",
                       b"(ModuleInterface):", b"__annotations__[\"0\"]", b": Final[",
                       b"__forward_pre_hooks__", b"def __forked_function():", b"fork(",
                       b"uninitialized(", b"unchecked_cast(", b"isinstance(", b"annotate(",
                       b"CONSTANTS.c", b"ops.prim.RaiseException", b"while ", b"with ",
                       b"1.0000000000000001e-05", b"= inf", b"-inf", b"nan", b"\\n\\t\\\"q\\\"",
                       b"\\001\\177", b", = ", b"__setstate__", b"_packed_params",
                       b"ops.quantized", b"Tuple[()]", b"complex=", b"NoneType"]:
            self.assertIn(needle, text)
        results = roundtrip(self, files)
        identical = [p for p, (s, _) in results.items() if s == "identical"]
        different = {p: d for p, (s, d) in results.items() if s == "different"}
        for path, detail in different.items():
            # detail = "<line>: <original line> | <printed line>"
            original = detail.split(": ", 1)[1].split(" | ")[0]
            self.assertRegex(original, ENUM_RAW_STRING, path)
        print("\nPyTorch-written files: %d parsed, %d byte-identical, %d different (raw enum "
              "strings)" % (len(results), len(identical), len(different)), file=sys.stderr)
        self.assertGreaterEqual(len(identical), 35)
        self.assertLessEqual(len(different), 1)

    def test_corpus_archives(self):
        manifest = os.path.join(SHARED, "corpus", "MANIFEST.tsv")
        if not os.path.exists(manifest):
            self.skipTest("no shared corpus")
        files = []
        archives = 0
        with open(manifest) as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if row["kind"] not in ("torchscript", "mobile-ptl"):
                    continue
                path = os.path.join(SHARED, "corpus", row["file"])
                try:
                    with open(path, "rb") as fh:
                        records = code_records(fh.read())
                except zipfile.BadZipFile:
                    continue
                if records:
                    archives += 1
                    files += self.write("corpus/" + row["file"], records)
        self.assertGreaterEqual(archives, 35)
        results = roundtrip(self, files)
        identical = sum(1 for s, _ in results.values() if s == "identical")
        old = sum(1 for p in files if read(p).startswith(b"op_version_set"))
        print("\ncorpus: %d archives, %d code files parsed (%d with op_version_set), %d "
              "byte-identical" % (archives, len(results), old, identical), file=sys.stderr)
        self.assertGreater(old, 0)
        self.assertEqual(identical, len(results))

    def test_printed_importer_dialect_loads_in_pytorch(self):
        class Dialect(torch.nn.Module):
            def forward(self, x: torch.Tensor, k: int = 3) -> torch.Tensor:
                return x

        # The importer accepts much more than PythonPrint emits (language spec 2.1); ptio's
        # printer must keep such source valid: infix operators with precedence, elif, chained
        # and augmented assignment, comprehensions, ternaries, slices, asserts, kwargs.
        source = (
            "class Dialect(Module):\n"
            "  __parameters__ = []\n"
            "  __buffers__ = []\n"
            "  training : bool\n"
            "  _is_full_backward_hook : Optional[bool]\n"
            "  def forward(self, x: Tensor, k: int=3) -> Tensor:\n"
            "    acc = x\n"
            "    for i in range(k):\n"
            "      if i % 2 == 0 and not i == 4:\n"
            "        acc = acc + (x * 2 - 1) ** 2\n"
            "      elif i > 10:\n"
            "        acc -= 1\n"
            "      else:\n"
            "        acc = -acc if i < 2 else acc / 2\n"
            "    ys = [i * 2 for i in range(k)]\n"
            "    d = {str(i): i for i in ys}\n"
            "    a = b = ys[1:][::2]\n"
            "    assert len(a) >= 0, 'msg with \\'quotes\\''\n"
            "    t = (1, 2.5)\n"
            "    u, v, = t\n"
            "    return torch.sum(acc, dim=0, keepdim=True) + len(d) + u * v - -1 + len(b)\n"
        )
        src_path = os.path.join(self.tmp.name, "dialect.py")
        with open(src_path, "w") as f:
            f.write(source)
        rc, printed = run_tool("print", src_path)
        self.assertEqual(rc, 0, printed)
        self.assertIn("elif i > 10:", printed)
        self.assertIn("acc = acc + (x * 2 - 1) ** 2", printed)
        self.assertIn("assert len(a) >= 0, \"msg with \\'quotes\\'\"", printed)

        scripted = torch.jit.script(Dialect())
        buf = io.BytesIO()
        torch.jit.save(scripted, buf)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
            replaced = 0
            for info in zin.infolist():
                if info.filename.endswith(".debug_pkl"):
                    continue
                data = zin.read(info.filename)
                if "/code/" in info.filename and b"class Dialect(Module):" in data:
                    data = printed.encode()
                    replaced += 1
                zout.writestr(info.filename, data)
        self.assertEqual(replaced, 1)
        loaded = torch.jit.load(io.BytesIO(out.getvalue()))
        x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])

        def reference(x, k=3):
            acc = x
            for i in range(k):
                if i % 2 == 0 and not i == 4:
                    acc = acc + (x * 2 - 1) ** 2
                elif i > 10:
                    acc -= 1
                else:
                    acc = -acc if i < 2 else acc / 2
            ys = [i * 2 for i in range(k)]
            d = {str(i): i for i in ys}
            a = ys[1:][::2]
            return torch.sum(acc, dim=0, keepdim=True) + len(d) + 1 * 2.5 + 1 + len(a)

        for k in (0, 1, 3, 5):
            torch.testing.assert_close(loaded(x, k), reference(x, k))


if __name__ == "__main__":
    unittest.main()
