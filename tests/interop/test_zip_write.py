"""Archives written by ptio's ArchiveWriter (through tests/tools/ptio_zip_tool) read by Python's
zipfile, `unzip -t` and PyTorch's own reader; byte comparison with torch._C.PyTorchFileWriter."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zip_common as zc  # noqa: E402

import torch  # noqa: E402


class ZipWrite(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        rng = __import__("random").Random(1234)
        self.records = [
            ("data.pkl", bytes(rng.randrange(256) for _ in range(290))),
            ("data/0", bytes(rng.randrange(256) for _ in range(24))),
            ("data/1", b""),
            ("data/10", bytes(rng.randrange(256) for _ in range(100003))),
            ("data/2", b"\x05" + b"\0" * 7),
            ("extra/meta.json", b'{"a": 1}'),
            ("code/__torch__/m.py", b"def forward(self, x):\n    return x\n" * 30),
        ]

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.d, name)

    def specs(self, records, compress=()):
        out = []
        for i, (n, data) in enumerate(records):
            f = self.path(f"rec{i}")
            with open(f, "wb") as fh:
                fh.write(data)
            out.append(("z:" if n in compress else "") + f"{n}={f}")
        return out

    def write_ptio(self, out, prefix, records, compress=(), extra=()):
        zc.run([zc.ZIP_TOOL, "write", out, "--prefix", prefix, *extra,
                *self.specs(records, compress)], check=True)

    def check_readers(self, out, prefix, records):
        z = zipfile.ZipFile(out)
        self.assertIsNone(z.testzip())
        self.assertEqual([i.filename for i in z.infolist()], [f"{prefix}/{n}" for n, _ in records])
        for n, data in records:
            self.assertEqual(z.read(f"{prefix}/{n}"), data)
        u = subprocess.run(["unzip", "-t", out], capture_output=True, text=True)
        self.assertEqual(u.returncode, 0, u.stdout + u.stderr)
        r = torch._C.PyTorchFileReader(out)
        for n, data in records:
            self.assertEqual(bytes(r.get_record(n)), data, n)
        for rec in zc.zipfile_listing(out)["records"]:
            self.assertEqual(rec["data_offset"] % 64, 0, rec)

    def test_stored_archive_reads_everywhere(self):
        out = self.path("ptio.pt")
        recs = self.records + [("version", b"3\n")]
        self.write_ptio(out, "model", recs)
        self.check_readers(out, "model", recs)

    def test_compressed_records_read_everywhere(self):
        out = self.path("ptio_z.pt")
        recs = self.records + [("version", b"3\n")]
        self.write_ptio(out, "archive", recs, compress={"code/__torch__/m.py", "data/10", "data/2"})
        self.check_readers(out, "archive", recs)
        z = zipfile.ZipFile(out)
        self.assertEqual(z.getinfo("archive/code/__torch__/m.py").compress_type, zipfile.ZIP_DEFLATED)

    def test_alignment_4096(self):
        out = self.path("a4096.pt")
        recs = self.records + [("version", b"3\n")]
        self.write_ptio(out, "archive", recs, extra=("--align", "4096"))
        for rec in zc.zipfile_listing(out)["records"]:
            self.assertEqual(rec["data_offset"] % 4096, 0, rec)
        self.assertIsNone(zipfile.ZipFile(out).testzip())

    def test_no_crc_option_matches_pytorch_crc_off_layout(self):
        out = self.path("nocrc.pt")
        recs = [("data.pkl", b"abc"), ("version", b"3\n")]
        self.write_ptio(out, "archive", recs, extra=("--no-crc",))
        z = zipfile.ZipFile(out)
        self.assertEqual([i.CRC for i in z.infolist()], [0, 0])
        r = torch._C.PyTorchFileReader(out)  # PyTorch does not check CRCs
        self.assertEqual(bytes(r.get_record("data.pkl")), b"abc")
        v = zc.run([zc.PTIO, "verify", out])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertEqual(v.stdout.count("note:"), 2)

    def test_byte_identical_to_pytorch_file_writer(self):
        theirs = self.path("torch_writer.pt")
        w = torch._C.PyTorchFileWriter(theirs)
        for n, data in self.records:
            w.write_record(n, data, len(data))
        w.write_end_of_file()  # adds `version` = "3\n" itself
        ours = self.path("ptio_writer.pt")
        self.write_ptio(ours, "torch_writer", self.records + [("version", b"3\n")])
        with open(theirs, "rb") as f:
            a = f.read()
        with open(ours, "rb") as f:
            b = f.read()
        if a != b:
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            self.fail(f"differ at byte {i}: torch {a[i:i+16].hex()} ptio {b[i:i+16].hex()}")
        self.assertEqual(zipfile.ZipFile(ours).read("torch_writer/version"), b"3\n")

    def test_byte_identical_to_torch_save(self):
        t = torch.arange(12, dtype=torch.int32).reshape(3, 4)
        theirs = self.path("ckpt.pt")
        torch.save({"w": t, "v": t[1], "s": torch.tensor([1.5, 2.5])}, theirs)
        z = zipfile.ZipFile(theirs)
        recs = [(i.filename.split("/", 1)[1], z.read(i)) for i in z.infolist()]
        ours = self.path("ckpt_ptio.pt")
        self.write_ptio(ours, "ckpt", recs)
        with open(theirs, "rb") as f1, open(ours, "rb") as f2:
            self.assertTrue(f1.read() == f2.read())
        loaded = torch.load(ours)
        self.assertTrue(torch.equal(loaded["w"], t))

    def test_duplicate_and_unsafe_names_refused(self):
        f = self.path("x")
        with open(f, "wb") as fh:
            fh.write(b"1")
        p = zc.run([zc.ZIP_TOOL, "write", self.path("dup.pt"), f"a={f}", f"a={f}"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("ZipDuplicateName", p.stderr)
        self.assertFalse(os.path.exists(self.path("dup.pt")))  # FileWriter: no partial output
        p = zc.run([zc.ZIP_TOOL, "write", self.path("bad.pt"), f"../a={f}"])
        self.assertIn("ZipUnsafeName", p.stderr)

    def test_chunked_record_crc(self):
        out = self.path("chunked.pt")
        size = 5 * 1024 * 1024 + 17
        zc.run([zc.ZIP_TOOL, "write-large", out, "--prefix", "p", "--size", str(size),
                "--chunk", "65536"], check=True)
        z = zipfile.ZipFile(out)
        self.assertIsNone(z.testzip())
        # The tool's pattern, rebuilt here: chunk k = pattern with its first 8 bytes = k (LE).
        base = bytearray((j * 131 + (j >> 9)) & 0xFF for j in range(65536))
        crc, k, done = 0, 0, 0
        while done < size:
            base[0:8] = k.to_bytes(8, "little")
            n = min(65536, size - done)
            crc = zlib.crc32(bytes(base[:n]), crc)
            done += n
            k += 1
        self.assertEqual(z.getinfo("p/big").CRC, crc)
        got = zc.run([zc.ZIP_TOOL, "crc", out, "big"], check=True).stdout.split()
        self.assertEqual([int(x) for x in got], [size, crc])


if __name__ == "__main__":
    if shutil.which("unzip") is None:
        sys.exit("unzip is required")
    unittest.main()
