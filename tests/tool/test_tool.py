#!/usr/bin/env python3
"""Tests of the shmkit command, driven as a user drives it: the real binary,
real processes, real names. Standard library only.

    python3 tests/tool/test_tool.py --tool build/bin/shmkit \
        --child examples/spawn_child.py --man tools/shmkit.1

ctest runs it in every configuration (tests/CMakeLists.txt). Under Wine
(--emulator wine) the POSIX-only tests are left out and the Windows ones
run instead. Every name is unique to the run (it holds the pid) and every
test removes what it made, on failure too.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
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


class Regions(Base):
    def test_create_write_cat_round_trip(self):
        n = self.name("rt")
        self.create(n, "8K")
        data = os.urandom(8192)
        run("write", n, data=data, check=0)
        self.assertEqual(run("cat", n, check=0)[1], data)
        # A range, from a pipe and from a file.
        run("write", n, "--offset", "100", data=b"hello", check=0)
        self.assertEqual(run("cat", n, "--offset", "100", "--length", "5",
                             check=0)[1], b"hello")
        with tempfile.TemporaryFile() as f:
            f.write(b"from a file")
            f.seek(0)
            run("write", n, "--offset", "1K", stdin=f, check=0)
        self.assertEqual(run("cat", n, "--offset", "1024", "--length", "11",
                             check=0)[1], b"from a file")
        out = run("cat", n, "--offset", "100", "--length", "5", "--hex",
                  check=0)[1].decode()
        self.assertIn("00000064  68 65 6c 6c 6f", out)
        self.assertIn("|hello|", out)
        # The whole region, to its very end; an empty range at the end.
        self.assertEqual(run("cat", n, "--offset", "8191", check=0)[1],
                         data[8191:])
        self.assertEqual(run("cat", n, "--offset", "8K", check=0)[1], b"")
        run("write", n, "--offset", "8K", data=b"", check=0)

    def test_range_errors(self):
        n = self.name("range")
        self.create(n, "4K")
        before = os.urandom(4096)
        run("write", n, data=before, check=0)
        for args in (["--offset", "4097"], ["--offset", "4000", "--length",
                                            "97"], ["--length", "4097"]):
            status, out, err = run("cat", n, *args)
            self.assertEqual(status, 1, args)
            self.assertEqual(out, b"")
            self.assertIn("4096", err)
            self.assertEqual(len(err.splitlines()), 1, err)
        # Past the end from a file: refused before anything is written.
        with tempfile.TemporaryFile() as f:
            f.write(b"x" * 4097)
            f.seek(0)
            status, _, err = run("write", n, stdin=f)
        self.assertEqual(status, 1)
        self.assertIn("4096", err)
        self.assertEqual(run("cat", n, check=0)[1], before)
        # From a pipe: what fits is written, and the error says so.
        status, _, err = run("write", n, "--offset", "4090", data=b"y" * 7)
        self.assertEqual(status, 1)
        self.assertIn("4096", err)
        self.assertEqual(run("cat", n, "--offset", "4090", check=0)[1],
                         b"y" * 6)
        status, _, err = run("write", n, "--offset", "4097", data=b"")
        self.assertEqual(status, 1)
        self.assertIn("4096", err)

    def test_create_exists_and_missing(self):
        n = self.name("ex")
        self.create(n)
        status, _, err = run("create", n, "4K")
        self.assertEqual(status, 1)
        self.assertIn("already in use", err)
        m = self.name("missing")
        for cmd in (["cat", m], ["info", m], ["rm", m], ["write", m]):
            status, _, err = run(*cmd, data=b"")
            self.assertEqual(status, 1, cmd)
            self.assertIn("not found", err)
            self.assertEqual(len(err.splitlines()), 1, err)

    def test_rm_several(self):
        a, b = self.name("rma"), self.name("rmb")
        run("create", a, "1", check=0)
        run("create", b, "1", check=0)
        self.assertEqual(run_json("rm", a, b), {"removed": [a, b]})
        self.assertEqual(run("cat", a)[0], 1)

    @unittest.skipUnless(POSIX, "POSIX sizes")
    def test_sparse_and_units(self):
        n = self.name("big")
        run("create", n, "6G", "--sparse", check=0)
        self.addCleanup(lambda: run("rm", n))
        self.assertEqual(run_json("info", n)["size"], 6 << 30)
        m = self.name("units")
        run("create", m, "3k", check=0)
        self.addCleanup(lambda: run("rm", m))
        self.assertEqual(run_json("info", m)["size"], 3072)


class Listing(Base):
    def test_ls_shows_creator_and_holder(self):
        n = self.name("ls")
        c = self.start([sys.executable, "-c", CREATOR, n], "creator")
        creator = int(read_line(c, "creator"))
        _, holder, fd = self.holder(n)
        out = run("ls", check=0)[1].decode()
        line = [l for l in out.splitlines() if l.startswith(n + " ")]
        self.assertEqual(len(line), 1, out)
        self.assertIn(f"{creator} (", line[0])
        self.assertIn(f"{holder} (", line[0])
        region = [r for r in run_json("ls")["regions"] if r["name"] == n]
        self.assertEqual(len(region), 1)
        r = region[0]
        self.assertEqual(r["size"], 4096)
        self.assertEqual(r["mode"], "0600")
        self.assertEqual(r["uid"], os.geteuid())
        self.assertFalse(r["orphan"])
        by_pid = {h["pid"]: h for h in r["holders"]}
        self.assertTrue(by_pid[creator]["mapped"])
        self.assertTrue(by_pid[holder]["mapped"])
        self.assertIn(fd, by_pid[holder]["fds"])
        self.assertTrue(by_pid[holder]["program"].startswith("python"))
        self.assertIn(r["created_from"], ("btime", "ctime"))
        self.assertLessEqual(abs(r["created"] - time.time()), 3600)
        info = run_json("info", n)
        self.assertEqual({h["pid"] for h in info["holders"]} >= {creator,
                                                                 holder},
                         True)

    def test_orphans_and_reap(self):
        dead, held, young = (self.name("dead"), self.name("held"),
                             self.name("young"))
        c = self.start([sys.executable, "-c", CREATOR, dead], "creator")
        read_line(c, "creator")
        c.kill()
        c.wait()
        self.create(held)
        self.holder(held)
        run("create", young, "4K", check=0)
        orphans = {r["name"] for r in run_json("ls", "--orphans")["regions"]}
        self.assertIn(dead, orphans)
        self.assertIn(young, orphans)
        self.assertNotIn(held, orphans)
        text = run("ls", "--orphans", check=0)[1].decode()
        self.assertIn(dead, text)
        self.assertNotIn(held, text)
        # A dry run removes nothing; --older-than spares what is younger.
        j = run_json("reap", "--dry-run", dead, held, young)
        self.assertTrue(j["dry_run"])
        self.assertEqual({r["name"] for r in j["removed"]}, {dead, young})
        self.assertTrue(os.path.exists("/dev/shm/" + dead))
        j = run_json("reap", "--older-than", "1d", dead, held, young)
        self.assertEqual(j["removed"], [])
        # The reap itself, of these names only (the machine is shared).
        _, out, _ = run("reap", dead, held, check=0)
        self.assertIn(f"removed {dead}", out.decode())
        self.assertNotIn(held, out.decode())
        self.assertFalse(os.path.exists("/dev/shm/" + dead))
        self.assertTrue(os.path.exists("/dev/shm/" + held))
        self.assertEqual(run("cat", held, "--length", "1", check=0)[1],
                         b"\0")
        run("reap", young, check=0)
        self.assertFalse(os.path.exists("/dev/shm/" + young))

    def test_all_and_pidfd(self):
        p = self.start(tool_cmd("spawn", "--region", "64K", "--",
                                sys.executable, "-c", HOLDER, "{}"), "anon")
        pid, fd = map(int, read_line(p, "anon").split())
        self.addCleanup(self.kill_pid, pid)
        j = run_json("ls", "--all")
        mine = [a for a in j["anonymous"]
                if any(h["pid"] == pid for h in a["holders"])]
        self.assertEqual(len(mine), 1, j["anonymous"])
        a = mine[0]
        self.assertEqual(a["size"], 65536)
        self.assertIn(a["kind"], ("memfd", "shmkit"))
        h = [h for h in a["holders"] if h["pid"] == pid][0]
        self.assertIn(fd, h["fds"])  # (Python's mmap holds a copy too)
        self.assertTrue(h["mapped"])
        if a["kind"] == "memfd":
            self.assertIsInstance(a["seals"], list)
        self.assertIsNone(run_json("ls")["anonymous"])
        info = run_json("info", f"{pid}:{fd}")
        self.assertEqual(info["size"], 65536)
        self.assertEqual((info["pid"], info["fd"]), (pid, fd))
        self.assertEqual(info["kind"], a["kind"])
        self.assertIn(pid, [h["pid"] for h in info["holders"]])
        text = run("info", f"{pid}:{fd}", check=0)[1].decode()
        self.assertIn("size:     65536", text)
        status, _, err = run("info", f"{pid}:9999")
        self.assertEqual(status, 1)
        self.assertEqual(len(err.splitlines()), 1)


def channel_header(capacity=4096, max_message=1024, head=64, tail=32,
                   sender_closed=0, receiver_closed=0, version=2):
    h = bytearray(256)
    h[0:4] = (0x434B4853).to_bytes(4, "little")
    h[4:6] = version.to_bytes(2, "little")
    h[8:16] = capacity.to_bytes(8, "little")
    h[16:24] = max_message.to_bytes(8, "little")
    h[24:32] = (256).to_bytes(8, "little")
    h[64:72] = head.to_bytes(8, "little")
    h[128:136] = tail.to_bytes(8, "little")
    h[192:196] = (1).to_bytes(4, "little")  # the receiver sleeps on its word
    h[208:212] = sender_closed.to_bytes(4, "little")
    h[212:216] = receiver_closed.to_bytes(4, "little")
    return bytes(h)


class Channels(Base):
    def test_channel_header(self):
        n = self.name("ch")
        self.create(n, str(256 + 4096))
        run("write", n, data=channel_header(sender_closed=1), check=0)
        c = run_json("info", n)["channel"]
        self.assertEqual(c["state"], "sender_closed")
        self.assertIsNone(c["problem"])
        self.assertEqual((c["capacity"], c["max_message"], c["fill"]),
                         (4096, 1024, 32))
        self.assertEqual(c["receiver"]["sleep"], "on_word")
        self.assertTrue(c["sender"]["closed"])
        self.assertEqual(c["sender"]["alive"], "no")
        if linux():
            # Nobody maps it: the receiver, which did not close, is gone.
            self.assertEqual(c["receiver"]["alive"], "no")
            self.holder(n)
            c = run_json("info", n)["channel"]
            self.assertEqual(c["receiver"]["alive"], "yes")
            self.assertEqual(c["sender"]["alive"], "no")
        text = run("info", n, check=0)[1].decode()
        self.assertIn("sender_closed", text)
        self.assertIn("fill      32 bytes", text)

    def test_hostile_headers(self):
        n = self.name("bad")
        self.create(n, str(256 + 4096))
        cases = [(dict(capacity=1000), "capacity"),
                 (dict(capacity=8192), "past the region"),
                 (dict(max_message=2048), "max message"),
                 (dict(head=32, tail=64), "inconsistent"),
                 (dict(head=2**64 - 16, tail=0), "inconsistent"),
                 (dict(head=40), "record"),
                 (dict(version=3), "newer"),
                 (dict(version=1), "no longer spoken")]
        for fields, problem in cases:
            run("write", n, data=channel_header(**fields), check=0)
            c = run_json("info", n)["channel"]
            self.assertEqual(c["state"], "broken", fields)
            self.assertIn(problem, c["problem"], fields)
            status, out, _ = run("info", n)
            self.assertEqual(status, 0)
            self.assertIn(b"broken", out)
        # The magic in a region too small for the header.
        m = self.name("tiny")
        self.create(m, "16")
        run("write", m, data=channel_header()[:16], check=0)
        self.assertEqual(run_json("info", m)["channel"]["state"], "broken")
        # No magic: no channel.
        run("write", n, data=b"\0" * 4, check=0)
        self.assertIsNone(run_json("info", n)["channel"])


class Spawn(Base):
    def test_python_child_reads_through_token(self):
        n = self.name("sp")
        self.create(n)
        run("write", n, data=b"hello from the test\0", check=0)
        _, out, _ = run("spawn", "--open", n, "--", sys.executable,
                        ARGS.child, "{}", check=0)
        self.assertIn(b"starting with 'hello from the test'", out)
        self.assertEqual(run("cat", n, "--offset", "64", "--length", "22",
                             check=0)[1], b"hello back from Python")
        # In the environment, a new region.
        _, out, _ = run("spawn", "--region", "1M", "--env", "SHMKIT_REGION",
                        "--", sys.executable, ARGS.child, check=0)
        self.assertIn(b"1048576 bytes, rw", out)
        # Read-only: the child gets "r" and a descriptor that cannot write.
        _, out, _ = run("spawn", "--open", n, "--readonly", "--",
                        sys.executable, ARGS.child, "{}", check=0)
        self.assertIn(b"4096 bytes, r,", out)

    def test_exit_status(self):
        code = "import sys; sys.exit(int(sys.argv[2]))"
        for want in (0, 3, 77):
            status, _, _ = run("spawn", "--region", "4K", "--",
                               sys.executable, "-c", code, "{}", str(want))
            self.assertEqual(status, want)
        if POSIX and not wine():
            kill = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
            status, _, _ = run("spawn", "--region", "4K", "--",
                               sys.executable, "-c", kill, "{}")
            self.assertEqual(status, 128 + signal.SIGKILL)
        status, _, err = run("spawn", "--region", "4K", "--",
                             "no-such-program-" + str(os.getpid()), "{}")
        self.assertEqual(status, 1)
        self.assertIn("not found", err)

    def test_token_argument(self):
        code = "import sys; print(sys.argv[1:])"
        _, out, _ = run("spawn", "--region", "4K", "--", sys.executable, "-c",
                        code, "a", "{}", "{}x", check=0)
        args = eval(out.decode())  # the child printed a list of strings
        self.assertEqual(args[0], "a")
        self.assertRegex(args[1], r"^shmkit1:[0-9]+:4096:rw$")
        self.assertEqual(args[2], "{}x")


class Json(Base):
    def test_every_command(self):
        n = self.name("js")
        j = run_json("create", n, "4K")
        self.addCleanup(lambda: run("rm", n))
        self.assertEqual(j, {"name": n, "size": 4096, "sparse": False})
        _, out, _ = run("write", n, "--offset", "2", "--json", data=b"abc",
                        check=0)
        self.assertEqual(json.loads(out), {"name": n, "size": 4096,
                                           "offset": 2, "written": 3})
        j = run_json("cat", n, "--offset", "1", "--length", "4")
        self.assertEqual(j, {"name": n, "size": 4096, "offset": 1,
                             "length": 4, "hex": "00616263"})
        j = run_json("info", n)
        for key in ("name", "label", "kind", "pid", "fd", "size", "uid",
                    "owner", "mode", "created", "created_from", "seals",
                    "holders", "unreadable_processes", "readable", "channel"):
            self.assertIn(key, j)
        self.assertEqual((j["name"], j["size"], j["kind"], j["channel"]),
                         (n, 4096, "named", None))
        if linux():
            self.assertEqual(j["mode"], "0600")
            self.assertEqual(j["seals"], ["seal"])
            j = run_json("ls")
            self.assertEqual(set(j), {"regions", "anonymous", "holders_known",
                                      "unreadable_processes"})
            r = [r for r in j["regions"] if r["name"] == n][0]
            self.assertEqual(set(r), {"name", "global", "size", "uid",
                                      "owner", "mode", "created",
                                      "created_from", "holders", "orphan"})
            j = run_json("reap", "--dry-run", n)
            self.assertEqual(set(j), {"dry_run", "removed", "skipped"})
            self.assertEqual(j["removed"][0]["name"], n)
            self.assertEqual(set(j["removed"][0]), {"name", "size", "age"})
        self.assertEqual(run_json("rm", n), {"removed": [n]})


# Bad usage: exit 2, one line on stderr, nothing on stdout.
BAD = [
    [], ["frob"], ["--frob"], ["help", "frob"],
    ["ls", "--frob"], ["ls", "extra"], ["ls", "--all", "--orphans"],
    ["ls", "--json=1"],
    ["create"], ["create", "x"], ["create", "x", "12Q"], ["create", "x", "0"],
    ["create", "x", "-5"], ["create", "x", "1.5G"], ["create", "x", "8E"],
    ["create", "x", "99999999999999999999"], ["create", "x", "9223372036854775808"],
    ["create", "x", "8388608T"], ["create", "x", "4KK"], ["create", "x", ""],
    ["create", "", "4K"], ["create", ".hidden", "4K"], ["create", "a/b", "4K"],
    ["create", "x" * 31, "4K"], ["create", "sp ace", "4K"],
    ["create", "caf\u00e9", "4K"], ["create", "x", "4K", "extra"],
    ["create", "two\nlines", "4K"], ["cat", "x", "--offset", "1\n2"],
    ["--\x1b[31m"], ["create", "x" * 100000, "4K"],
    ["create", "x", "4K", "--sparse=yes"],
    ["rm"], ["rm", "ok", "bad/name"],
    ["cat"], ["cat", "x", "--offset"], ["cat", "x", "--offset", "nope"],
    ["cat", "x", "--length", "-1"], ["cat", "bad/name"],
    ["write"], ["write", "x", "--offset", "1Q"],
    ["info"], ["info", "bad/name"], ["info", "12:"], ["info", ":3"],
    ["info", "0:3"], ["info", "12:99999999999"],
    ["reap", "--older-than", "soon"], ["reap", "--older-than", "5y"],
    ["reap", "--older-than"], ["reap", "bad/name"],
    ["spawn"], ["spawn", "--region", "4K"], ["spawn", "--region", "4K", "--"],
    ["spawn", "--", "true"], ["spawn", "--region", "0", "--", "true", "{}"],
    ["spawn", "--region", "4K", "--open", "x", "--", "true", "{}"],
    ["spawn", "--region", "4K", "--", "true"],
    ["spawn", "--region", "4K", "--env", "A=B", "--", "true"],
    ["spawn", "--region", "4K", "--env", "", "--", "true"],
    ["spawn", "--open", "bad/name", "--", "true", "{}"],
    ["spawn", "--open", "x", "--sparse", "--", "true", "{}"],
    ["spawn", "--bogus", "--", "true", "{}"],
]


class BadInput(Base):
    def test_bad_usage(self):
        for args in BAD:
            status, out, err = run(*args)
            self.assertEqual(status, 2, args)
            self.assertEqual(out, b"", args)
            self.assertEqual(len(err.splitlines()), 1, (args, err))
            self.assertIn("try 'shmkit", err, args)

    def test_help(self):
        status, out, _ = run("--help")
        self.assertEqual(status, 0)
        cmds = ["ls", "info", "create", "rm", "reap", "cat", "write", "spawn"]
        for c in cmds:
            self.assertIn(c, out.decode())
            status, out2, _ = run(c, "--help")
            self.assertEqual(status, 0, c)
            self.assertIn(b"usage: shmkit " + c.encode(), out2)
            self.assertIn(b"Example", out2)
            self.assertEqual(run("help", c, check=0)[1], out2)


class Windows(Base):
    """Under Wine: a name lives as long as a handle to it, so each test
    keeps one in a child of `shmkit spawn --region SIZE --name NAME` and
    runs the commands from that child (cmd.exe chains them)."""

    def inside(self, name, size, command, want=0):
        exe = "Z:" + os.path.abspath(ARGS.tool).replace("/", "\\")
        command = command.replace("shmkit.exe", exe)
        status, out, err = run("spawn", "--region", size, "--name", name,
                               "--env", "SHMKIT_T", "--", "cmd.exe", "/c",
                               command)
        self.assertEqual(status, want, (command, out, err))
        return out, err

    def test_create_write_cat(self):
        n = unique("w")
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(b"hello wine")
        self.addCleanup(os.unlink, f.name)
        path = "Z:" + f.name.replace("/", "\\")
        out, _ = self.inside(n, "4K",
                             f"shmkit.exe write {n} --offset 3 < {path} && "
                             f"shmkit.exe cat {n} --offset 3 --length 10 && "
                             f"shmkit.exe cat {n} --length 16 --hex")
        self.assertTrue(out.startswith(b"hello wine"), out)
        self.assertIn(b"|...hello wine...|", out)
        _, err = self.inside(n, "4K", f"shmkit.exe cat {n} --offset 5000",
                             want=1)
        self.assertIn("4096", err)
        # Created by the command itself, the region goes when it ends.
        run("create", n, "4K", check=0)
        self.assertEqual(run("cat", n)[0], 1)

    def test_ls_and_info(self):
        local, glob = unique("l"), unique("g")
        out, _ = self.inside(local, "8K", "shmkit.exe ls --json")
        j = json.loads(out)
        mine = [r for r in j["regions"] if r["name"] == local]
        self.assertEqual(len(mine), 1, j)
        self.assertEqual((mine[0]["size"], mine[0]["global"]), (8192, False))
        self.assertFalse(j["holders_known"])
        out, _ = self.inside("Global\\" + glob, "4K", "shmkit.exe ls --json")
        mine = [r for r in json.loads(out)["regions"] if r["name"] == glob]
        self.assertEqual(len(mine), 1)
        self.assertTrue(mine[0]["global"])
        out, _ = self.inside("Global\\" + glob, "4K",
                             f"shmkit.exe info Global\\{glob} --json")
        j = json.loads(out)
        self.assertEqual((j["size"], j["channel"]), (4096, None))
        out, _ = self.inside(local, "4K", f"shmkit.exe info Local\\{local}")
        self.assertIn(b"size:     4096", out)
        self.assertEqual(run("ls", "--orphans")[0], 1)
        self.assertEqual(run("reap")[0], 1)
        self.assertEqual(run("rm", local)[0], 1)

    def test_spawn(self):
        _, out, _ = run("spawn", "--region", "4K", "--", "cmd.exe", "/c",
                        "echo", "{}", check=0)
        self.assertRegex(out.decode(), r"shmkit1:[0-9]+:4096:rw")
        status, _, _ = run("spawn", "--region", "4K", "--env", "X", "--",
                           "cmd.exe", "/c", "exit 7")
        self.assertEqual(status, 7)


class Manual(unittest.TestCase):
    def test_renders_without_warnings(self):
        groff = shutil.which("groff")
        self.assertIsNotNone(groff, "groff is needed (Debian: groff-base)")
        p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", ARGS.man],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr.decode(), "")
        text = subprocess.run([groff, "-man", "-Tutf8", ARGS.man],
                              stdout=subprocess.PIPE, check=True).stdout
        text = re.sub(rb".\x08", b"", text)  # the terminal's overstrikes
        for c in (b"ls", b"info", b"create", b"reap", b"spawn", b"--json",
                  b"EXIT STATUS"):
            self.assertIn(c, text)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--child", required=True, help="examples/spawn_child.py")
    ap.add_argument("--man", required=True, help="tools/shmkit.1")
    ap.add_argument("--emulator", default="", help="e.g. wine")
    ap.add_argument("rest", nargs="*")
    ARGS = ap.parse_args()
    ARGS.emulator = ARGS.emulator.split() if ARGS.emulator else []
    if ARGS.rest:
        unittest.main(argv=[sys.argv[0]] + ARGS.rest, verbosity=2)
    # What runs where: under Wine a region goes with the command that made
    # it, so the Windows tests keep theirs in a child; listing holders is
    # Linux's.
    if wine():
        classes = [BadInput, Manual, Windows]
    else:
        classes = [Regions, Channels, Spawn, Json, BadInput, Manual]
        if linux():
            classes.append(Listing)
    load = unittest.defaultTestLoader.loadTestsFromTestCase
    suite = unittest.TestSuite(load(c) for c in classes)
    ok = unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
