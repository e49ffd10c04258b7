#!/usr/bin/env python3
"""Regenerates the case list of error_code_name() in src/core/error.cpp from the ErrorCode
enumerators in include/ptio/error.h, so the two never drift apart (run after adding a code)."""
import os
import re

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
header = open(os.path.join(root, "include/ptio/error.h")).read()
names = re.findall(r"^\s+k(\w+)\s*=\s*\d+", header, re.M)
path = os.path.join(root, "src/core/error.cpp")
src = open(path).read()
start = src.index("#define PTIO_CASE")
start = src.index("\n", start) + 1
end = src.index("#undef PTIO_CASE")
src = src[:start] + "".join(f"    PTIO_CASE({n})\n" for n in names) + src[end:]
open(path, "w").write(src)
