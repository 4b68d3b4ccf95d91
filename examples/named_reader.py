#!/usr/bin/env python3
"""named_reader.c in Python: opens the region named_writer created, by name,
reads its message and writes a reply into the same memory.

    named_writer my-board &
    python3 examples/named_reader.py my-board

The layout is examples/board.h: a 32-bit state word at offset 0 (0 empty,
1 posted, 2 replied), the message at 4 (124 bytes), the reply at 128
(128 bytes). Python cannot order memory accesses as C11 atomics do; on x86
plain stores are seen in order, which is what this relies on when it writes
the reply before the state word.
"""
import struct
import sys
import time
from multiprocessing import resource_tracker, shared_memory

POSTED, REPLIED = 1, 2


def attach(name):
    """Opens the region without making Python remove its name at exit."""
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    shm = shared_memory.SharedMemory(name=name)
    # Python 3.8 to 3.12 registers every segment it opens, even one it did
    # not create, and its resource tracker unlinks it when this process
    # exits: the writer's name would be gone. Take it off that list.
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "shmkit-demo"
    deadline = time.monotonic() + 10
    shm = None
    while shm is None:
        try:
            shm = attach(name)
        except FileNotFoundError:
            if time.monotonic() > deadline:
                sys.exit(f"reader.py: no region \"{name}\" within 10 s")
            time.sleep(0.01)
    try:
        # The size comes from the system; the writer may not have sized it
        # yet, and it is memory another program controls: check it.
        while shm.size < 256 or struct.unpack_from("<I", shm.buf, 0)[0] != POSTED:
            if time.monotonic() > deadline:
                sys.exit("reader.py: no message within 10 s")
            time.sleep(0.01)
        raw = bytes(shm.buf[4:128])
        message = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        print(f"reader.py: opened \"{name}\", read \"{message}\"")
        reply = b"hello back from Python"
        shm.buf[128:128 + len(reply) + 1] = reply + b"\0"
        struct.pack_into("<I", shm.buf, 0, REPLIED)
        print("reader.py: replied")
    finally:
        shm.close()


if __name__ == "__main__":
    main()
