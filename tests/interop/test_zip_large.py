"""A > 4 GiB archive written by ptio in chunks (streaming API), read back by ptio, Python's zipfile
and PyTorch's reader. Needs ~4.2 GB of free disk in the temp dir; ctest label `large`."""
import os
import sys
import tempfile
import time
import unittest
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zip_common as zc  # noqa: E402

import torch  # noqa: E402

BIG = 4 * 1024 ** 3 + 100 * 1024 ** 2 + 12345  # ~4.1 GiB: sizes and later offsets need zip64
CHUNK = 1 << 20


def pattern_crc(size, chunk):
    """CRC-32 of ptio_zip_tool's write-large pattern, computed independently with zlib."""
    base = bytearray((j * 131 + (j >> 9)) & 0xFF for j in range(chunk))
    crc, k, done = 0, 0, 0
    while done < size:
        base[0:8] = k.to_bytes(8, "little")
        n = min(chunk, size - done)
        crc = zlib.crc32(memoryview(base)[:n], crc)
        done += n
        k += 1
    return crc


class ZipLarge(unittest.TestCase):
    def test_write_and_read_past_4gib(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("PTIO_LARGE_TMP")) as d:
            small = os.path.join(d, "small.bin")
            with open(small, "wb") as f:
                f.write(b"after the big record\n")
            ver = os.path.join(d, "version")
            with open(ver, "wb") as f:
                f.write(b"3\n")
            out = os.path.join(d, "large.pt")
            t0 = time.time()
            zc.run([zc.ZIP_TOOL, "write-large", out, "--prefix", "large", "--size", str(BIG),
                    "--chunk", str(CHUNK), f"small={small}", f"version={ver}"], check=True)
            print(f"write {time.time() - t0:.1f}s", file=sys.stderr)
            self.assertGreater(os.path.getsize(out), 2 ** 32)
            want_crc = pattern_crc(BIG, CHUNK)

            # Python zipfile: listing, small records, streaming CRC of the big one.
            z = zipfile.ZipFile(out)
            infos = {i.filename: i for i in z.infolist()}
            self.assertEqual(list(infos), ["large/big", "large/small", "large/version"])
            self.assertEqual(infos["large/big"].file_size, BIG)
            self.assertEqual(infos["large/big"].CRC, want_crc)
            self.assertGreater(infos["large/small"].header_offset, 2 ** 32)
            self.assertEqual(z.read("large/small"), b"after the big record\n")
            self.assertEqual(z.read("large/version"), b"3\n")
            t0 = time.time()
            n = 0
            with z.open("large/big") as f:  # zipfile checks the CRC at the end of the stream
                while True:
                    b = f.read(8 << 20)
                    if not b:
                        break
                    n += len(b)
            self.assertEqual(n, BIG)
            print(f"zipfile stream {time.time() - t0:.1f}s", file=sys.stderr)

            # ptio: listing equals zipfile's; CRC-checked chunked read of the big record.
            self.assertEqual(zc.ptio_listing(out), zc.zipfile_listing(out))
            for r in zc.ptio_listing(out)["records"]:
                self.assertEqual(r["data_offset"] % 64, 0)
            t0 = time.time()
            got = zc.run([zc.ZIP_TOOL, "crc", out, "big"], check=True).stdout.split()
            self.assertEqual([int(x) for x in got], [BIG, want_crc])
            print(f"ptio crc {time.time() - t0:.1f}s", file=sys.stderr)
            cat = zc.run([zc.ZIP_TOOL, "cat", out, "small"], check=True).stdout
            self.assertEqual(cat, "after the big record\n")

            # PyTorch's reader (miniz, zip64) finds the records after 4 GiB.
            r = torch._C.PyTorchFileReader(out)
            self.assertEqual(bytes(r.get_record("small")), b"after the big record\n")
            self.assertEqual(bytes(r.get_record("version")), b"3\n")


if __name__ == "__main__":
    unittest.main()
