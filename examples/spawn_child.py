#!/usr/bin/env python3
"""A child that `shmkit spawn` starts, in Python, with no binding: it reads
the region's token, checks the descriptor it names, maps it, prints the
text at its start and, given write access, writes a reply at offset 64.

    shmkit create demo 4K
    printf 'hello from the shell' | shmkit write demo
    shmkit spawn --open demo -- python3 examples/spawn_child.py {}
    shmkit cat demo --offset 64 --length 32

or with the token in the environment:

    shmkit spawn --region 1M --env SHMKIT_REGION -- python3 examples/spawn_child.py

The token (docs/protocol.md, "Tokens") is `shmkit1:<fd>:<size>:<access>`:
the descriptor number this process inherited, the region's size in bytes
(both decimal, no sign, no leading zeros) and `r` or `rw`. Like
shmkit_region_from_token, this checks it strictly, then asks the system:
the descriptor must be open, a regular file (shared memory), at least the
size claimed, and open for writing if `rw` is claimed.
"""
import fcntl
import mmap
import os
import re
import stat
import sys

TOKEN = re.compile(r"shmkit1:(0|[1-9][0-9]*):([1-9][0-9]*):(r|rw)")


def from_token(token):
    """Returns (fd, size, writable) for a token, or exits with why not."""
    m = TOKEN.fullmatch(token)
    if m is None or int(m.group(1)) > 2**31 - 1 or int(m.group(2)) > 2**63 - 1:
        sys.exit(f"spawn_child.py: malformed token {token!r}")
    fd, size, writable = int(m.group(1)), int(m.group(2)), m.group(3) == "rw"
    try:
        st = os.fstat(fd)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        sys.exit(f"spawn_child.py: descriptor {fd} is not open (not inherited?)")
    if not stat.S_ISREG(st.st_mode):
        sys.exit(f"spawn_child.py: descriptor {fd} is not shared memory")
    if writable and flags & os.O_ACCMODE != os.O_RDWR:
        sys.exit(f"spawn_child.py: descriptor {fd} is not open for writing")
    if st.st_size < size:
        sys.exit(f"spawn_child.py: the region is smaller than the token says")
    # The size is the system's from here on; the token only set a minimum.
    return fd, st.st_size, writable


def main():
    if len(sys.argv) > 1:
        token = sys.argv[1]
    elif "SHMKIT_REGION" in os.environ:
        token = os.environ["SHMKIT_REGION"]
    else:
        sys.exit("usage: spawn_child.py TOKEN (or SHMKIT_REGION=TOKEN)")
    fd, size, writable = from_token(token)
    access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
    with mmap.mmap(fd, size, access=access) as mem:
        text = mem[: min(size, 64)].split(b"\0", 1)[0]
        print(f"spawn_child.py: {size} bytes, {'rw' if writable else 'r'}, "
              f"starting with {text.decode('utf-8', 'replace')!r}")
        if writable and size >= 96:
            reply = b"hello back from Python"
            mem[64:64 + len(reply)] = reply
            print("spawn_child.py: replied at offset 64")
    os.close(fd)


if __name__ == "__main__":
    main()
