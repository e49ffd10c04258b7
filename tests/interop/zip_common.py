"""Shared helpers of the zip interop tests: run ptio, list an archive with Python's zipfile."""
import json
import os
import struct
import subprocess
import zipfile

PTIO = os.environ.get("PTIO_BIN", "ptio")
TOOLS = os.environ.get("PTIO_TOOLS_DIR", ".")
SHARED = os.environ.get("PTIO_SHARED", "../shared")
if not os.path.isdir(os.path.join(SHARED, "corpus")):
    # A git worktree sits one level deeper than the main checkout: look up the parents.
    here = os.path.abspath(os.environ.get("PTIO_SOURCE_DIR", os.path.dirname(__file__)))
    while os.path.dirname(here) != here:
        here = os.path.dirname(here)
        if os.path.isdir(os.path.join(here, "shared", "corpus")):
            SHARED = os.path.join(here, "shared")
            break
ZIP_TOOL = os.path.join(TOOLS, "ptio_zip_tool")


def run(args, check=False):
    p = subprocess.run(args, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stdout}{p.stderr}")
    return p


def zipfile_listing(path):
    """Python zipfile's view of `path` in the shape of `ptio ls --json` (PyTorch's prefix rule:
    folder of entry 0, stripped when every entry is inside it)."""
    with open(path, "rb") as f:
        data = f.read()
    z = zipfile.ZipFile(path)
    infos = z.infolist()
    names = [i.filename for i in infos]
    prefix = ""
    if names and "/" in names[0]:
        p = names[0].split("/")[0]
        if all(n.startswith(p + "/") for n in names):
            prefix = p
    # zipfile stores offsets relative to the archive start; leading bytes shift them.
    records = []
    for i in infos:
        o = i.header_offset  # absolute (zipfile adds any leading bytes)
        nl, el = struct.unpack("<HH", data[o + 26:o + 30])
        method = {0: "stored", 8: "deflated"}.get(i.compress_type, f"method {i.compress_type}")
        records.append({
            "name": i.filename[len(prefix) + 1:] if prefix else i.filename,
            "size": i.file_size,
            "compressed_size": i.compress_size,
            "data_offset": o + 30 + nl + el,
            "crc32": "%08x" % i.CRC,  # `ptio ls --json`: 8 hex digits, as unzip -v
            "method": method,
        })
    return {"prefix": prefix, "records": records}


def ptio_listing(path):
    p = run([PTIO, "ls", "--json", path], check=True)
    return json.loads(p.stdout)
