#!/usr/bin/env python3
"""What the tests of the shmkit command share (test_tool_*.py): running
the real binary, as a user does, and the processes that hold regions.
Standard library only.

Each test file runs on its own, as ctest runs it (tests/CMakeLists.txt):

    python3 tests/tool/test_tool_regions.py --tool build/bin/shmkit \
        --child examples/spawn_child.py --man tools/shmkit.1

Under Wine (--emulator wine) each file runs the classes that hold there.
Every name is unique to the run (it holds the pid) and every test removes
what it made, on failure too.
"""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
import unittest

ARGS = None
SEQ = [0]
POSIX = os.name == "posix"


def wine():
    return bool(ARGS.emulator)


def linux():
    return sys.platform.startswith("linux") and not wine()


def unique(tag):
    """A name no other run can have: the pid and a counter (<= 30 chars)."""
    SEQ[0] += 1
    return f"tt{os.getpid()}-{SEQ[0]}-{tag}"[:30]


def tool_cmd(*args):
    return ARGS.emulator + [ARGS.tool] + [str(a) for a in args]


def run(*args, data=None, stdin=None, check=None):
    """Runs the tool; returns (status, stdout bytes, stderr text)."""
    p = subprocess.run(tool_cmd(*args), input=data, stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    if wine():  # Wine's own chatter is not the tool's
        err = "\n".join(l for l in err.splitlines()
                        if not l.startswith(("wine:", "fixme:", "err:")))
        if err:
            err += "\n"
    if check is not None and p.returncode != check:
        raise AssertionError(f"shmkit {' '.join(map(str, args))}: exit "
                             f"{p.returncode}, wanted {check}\n"
                             f"stdout: {p.stdout[:2000]!r}\nstderr: {err}")
    return p.returncode, p.stdout, err


def run_json(*args):
    _, out, _ = run(*args, "--json", check=0)
    return json.loads(out.decode("ascii"))  # the JSON is ASCII, by design


def read_line(proc, what):
    """The first line a helper prints, or a failure if it ends first. The
    deadline only catches a hang; no verdict depends on it."""
    deadline = time.monotonic() + 60
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{what}: nothing printed in 60 s")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                raise AssertionError(f"{what}: ended before it was ready "
                                     f"(status {proc.wait()})")
            buf += chunk
    return buf.decode().strip()


# A process that creates a name itself (as shm_open does on Linux: a file
# of /dev/shm, 0600), maps it, says its pid, and waits to be killed.
CREATOR = r"""
import mmap, os, sys, time
fd = os.open("/dev/shm/" + sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_EXCL,
             0o600)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096)
print(os.getpid(), flush=True)
time.sleep(600)
"""

# A child of shmkit spawn that maps the region its token names (read-only),
# says its pid and descriptor, and waits to be killed.
HOLDER = r"""
import mmap, os, sys, time
tok = sys.argv[1].split(":")
m = mmap.mmap(int(tok[1]), int(tok[2]), access=mmap.ACCESS_READ)
print(os.getpid(), tok[1], flush=True)
time.sleep(600)
"""


class Base(unittest.TestCase):
    def name(self, tag):
        n = unique(tag)
        self.addCleanup(self.forget, n)
        return n

    def forget(self, name):
        if POSIX and not wine():
            try:
                os.unlink("/dev/shm/" + name)
            except OSError:
                pass

    def start(self, argv, what):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop, p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()

    def holder(self, name):
        """shmkit spawn --open NAME with a Python child that maps it:
        (spawn process, child pid, child's fd)."""
        p = self.start(tool_cmd("spawn", "--open", name, "--", sys.executable,
                                "-c", HOLDER, "{}"), "holder")
        pid, fd = read_line(p, "holder").split()
        self.addCleanup(self.kill_pid, int(pid))
        return p, int(pid), int(fd)

    def kill_pid(self, pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def create(self, name, size="4K"):
        run("create", name, size, check=0)
        self.addCleanup(lambda: run("rm", name))

    def inside(self, name, size, command, want=0):
        """Under Wine a name lives as long as a handle to it: runs `command`
        (cmd.exe chains them; shmkit.exe is the tool) in a child of
        `shmkit spawn --region SIZE --name NAME`, which keeps one."""
        exe = "Z:" + os.path.abspath(ARGS.tool).replace("/", "\\")
        command = command.replace("shmkit.exe", exe)
        status, out, err = run("spawn", "--region", size, "--name", name,
                               "--env", "SHMKIT_T", "--", "cmd.exe", "/c",
                               command)
        self.assertEqual(status, want, (command, out, err))
        return out, err


def main(pick):
    """Runs the classes pick(wine, linux) returns: under Wine a region goes
    with the command that made it, so the Windows tests keep theirs in a
    child; listing holders is Linux's."""
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--child", required=True, help="examples/spawn_child.py")
    ap.add_argument("--man", required=True, help="tools/shmkit.1")
    ap.add_argument("--emulator", default="", help="e.g. wine")
    ap.add_argument("--portable", action="store_true",
                    help="the library was built with SHMKIT_PORTABLE")
    ap.add_argument("rest", nargs="*")
    ARGS = ap.parse_args()
    ARGS.emulator = ARGS.emulator.split() if ARGS.emulator else []
    if ARGS.rest:
        unittest.main(argv=[sys.argv[0]] + ARGS.rest, verbosity=2)
    load = unittest.defaultTestLoader.loadTestsFromTestCase
    suite = unittest.TestSuite(load(c) for c in pick(wine(), linux()))
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)
