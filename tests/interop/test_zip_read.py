"""ptio ls / verify on archives written by PyTorch, Python's zipfile and the shared corpus.

Expected values come from Python's zipfile (names, sizes, CRCs, data offsets from the local
headers) and from PyTorch's own rules (archive folder of entry 0).
"""
import io
import json
import os
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zip_common as zc  # noqa: E402

import torch  # noqa: E402

MODULE_SRC = '''
import torch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4, 3)
        self.register_buffer("b", torch.arange(10))
    def forward(self, x):
        y = self.l(x)
        for i in range(2):
            y = torch.relu(y) + i
        return y
'''


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def corpus_zips():
    root = os.path.join(zc.SHARED, "corpus")
    out = []
    for r, _, fs in os.walk(root):
        for f in sorted(fs):
            p = os.path.join(r, f)
            with open(p, "rb") as fh:
                if fh.read(4) == b"PK\x03\x04":
                    out.append(p)
    return sorted(out)


def python_finds_problems(path):
    """What Python + PyTorch's rules say about `path`: a bad CRC or unreadable entry (testzip),
    an encrypted entry, or an entry outside the folder of entry 0."""
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    if any(i.flag_bits & 0x61 for i in infos):  # encrypted, patched data
        return True
    names = [i.filename for i in infos]
    if not names or "/" not in names[0]:
        return True
    p = names[0].split("/")[0] + "/"
    if not all(n.startswith(p) for n in names):
        return True
    try:
        return z.testzip() is not None
    except Exception:
        return True


class ZipRead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.files = {}
        t = torch.arange(6., dtype=torch.float32).reshape(2, 3)
        obj = {"a": t, "b": t[1:], "c": torch.tensor(5), "d": torch.randn(100, 7).half()}
        cls.files["torch_save"] = os.path.join(d, "model.v1.pt")
        torch.save(obj, cls.files["torch_save"])
        buf = io.BytesIO()
        torch.save(obj, buf)
        cls.files["torch_save_bytesio"] = os.path.join(d, "bytesio.pt")
        with open(cls.files["torch_save_bytesio"], "wb") as f:
            f.write(buf.getvalue())
        with open(os.path.join(d, "zmod.py"), "w") as f:
            f.write(MODULE_SRC)
        sys.path.insert(0, d)
        import zmod
        m = torch.jit.script(zmod.M())
        cls.files["jit_save"] = os.path.join(d, "scripted.pt")
        torch.jit.save(m, cls.files["jit_save"])
        cls.files["lite"] = os.path.join(d, "lite.ptl")
        m._save_for_lite_interpreter(cls.files["lite"])
        payload = bytes(range(256)) * 40
        for name, kw in [("zipfile_stored", dict(compression=zipfile.ZIP_STORED)),
                         ("zipfile_deflated", dict(compression=zipfile.ZIP_DEFLATED))]:
            p = os.path.join(d, name + ".zip")
            with zipfile.ZipFile(p, "w", **kw) as z:
                z.writestr("arc/data.pkl", b"\x80\x02K\x01.")
                z.writestr("arc/data/0", payload)
                z.writestr("arc/version", b"3\n")
                z.writestr("arc/empty", b"")
            cls.files[name] = p
        p = os.path.join(d, "zipfile_zip64.zip")
        with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for n, data in [("arc/data/0", payload), ("arc/version", b"3\n")]:
                with z.open(n, "w", force_zip64=True) as f:
                    f.write(data)
        cls.files["zipfile_zip64"] = p

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_listing(self, path):
        self.assertEqual(zc.ptio_listing(path), zc.zipfile_listing(path), path)

    def test_generated_archives_list_like_zipfile_and_verify(self):
        for key, path in self.files.items():
            with self.subTest(key):
                self.check_listing(path)
                v = zc.run([zc.PTIO, "verify", path])
                self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_prefix_rule(self):
        self.assertEqual(zc.ptio_listing(self.files["torch_save"])["prefix"], "model.v1")
        self.assertEqual(zc.ptio_listing(self.files["torch_save_bytesio"])["prefix"], "archive")
        lst = zc.ptio_listing(self.files["jit_save"])
        self.assertIn("constants.pkl", [r["name"] for r in lst["records"]])
        methods = {r["name"]: r["method"] for r in lst["records"]}
        self.assertEqual(methods["code/__torch__/zmod.py"], "deflated")
        self.assertEqual(methods["data.pkl"], "stored")

    def test_torch_data_offsets_are_aligned(self):
        for key in ("torch_save", "jit_save", "lite"):
            for r in zc.ptio_listing(self.files[key])["records"]:
                self.assertEqual(r["data_offset"] % 64, 0, (key, r))

    def test_human_listing(self):
        out = zc.run([zc.PTIO, "ls", self.files["torch_save"]], check=True).stdout
        self.assertIn("archive folder: model.v1", out)
        self.assertIn("data.pkl", out)

    def test_corpus(self):
        zips = corpus_zips()
        self.assertGreater(len(zips), 10)
        for path in zips:
            with self.subTest(path):
                self.check_listing(path)
                v = zc.run([zc.PTIO, "verify", path])
                want = 1 if python_finds_problems(path) else 0
                self.assertEqual(v.returncode, want, v.stdout + v.stderr)

    def test_verify_reports_and_exit_codes(self):
        d = self.tmp.name
        bad = os.path.join(d, "badcrc.pt")
        data = bytearray(read(self.files["torch_save"]))
        z = zipfile.ZipFile(self.files["torch_save"])
        info = z.getinfo("model.v1/data/0")
        off = zc.zipfile_listing(self.files["torch_save"])["records"][1]["data_offset"]
        self.assertEqual(zc.zipfile_listing(self.files["torch_save"])["records"][1]["name"], "data/0")
        data[off] ^= 0xFF
        write(bad, data)
        v = zc.run([zc.PTIO, "verify", bad])
        self.assertEqual(v.returncode, 1)
        self.assertIn("data/0", v.stdout)
        self.assertEqual(info.file_size > 0, True)
        # CRC not computed by the writer (set_crc32_options(False)): CRC 0 in descriptor + CD.
        nocrc = os.path.join(d, "nocrc.pt")
        raw = bytearray(read(self.files["torch_save"]))
        desc = off + info.file_size
        self.assertEqual(raw[desc:desc + 4], b"PK\x07\x08")
        raw[desc + 4:desc + 8] = b"\0\0\0\0"
        # The central header of data/0: 46 bytes before its name in the central directory.
        name = b"model.v1/data/0"
        pos = raw.find(name, raw.find(b"PK\x01\x02"))
        raw[pos - 46 + 16:pos - 46 + 20] = b"\0\0\0\0"
        write(nocrc, raw)
        self.assertEqual(zipfile.ZipFile(nocrc).getinfo("model.v1/data/0").CRC, 0)
        v = zc.run([zc.PTIO, "verify", nocrc])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("note:", v.stdout)
        self.assertIn("CRC-32 not computed", v.stdout)
        for name, content, code in [("empty.pt", b"", 2),
                                    ("lfs.pt", b"version https://git-lfs.github.com/spec/v1\n"
                                     b"oid sha256:" + b"0" * 64 + b"\nsize 100\n", 2),
                                    ("page.pt", b"<!DOCTYPE html><html><body>404</body></html>", 2),
                                    # exit 2 as for every command (was 1 until session 6)
                                    ("trunc.pt", bytes(data[:500]), 2)]:
            p = os.path.join(d, name)
            write(p, content)
            v = zc.run([zc.PTIO, "verify", p])
            self.assertEqual(v.returncode, code, (name, v.stdout, v.stderr))
        v = zc.run([zc.PTIO, "verify", os.path.join(d, "lfs.pt")])
        self.assertIn("git lfs", v.stderr.lower())


if __name__ == "__main__":
    unittest.main()
