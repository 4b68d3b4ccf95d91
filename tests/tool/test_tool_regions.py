#!/usr/bin/env python3
"""The shmkit command with a region's contents and with processes: create,
write, cat, rm, info of a channel's header, spawn; and those under Wine.
Helpers in tooltest.py."""
import os
import signal
import sys
import tempfile
import unittest

import tooltest as T
from tooltest import POSIX, Base, linux, run, run_json, unique, wine


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


def channel_header(capacity=4096, max_message=1024, head=64, tail=32,
                   sender_closed=0, receiver_closed=0, version=2,
                   sender_nowake=0):
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
    h[216:220] = sender_nowake.to_bytes(4, "little")
    return bytes(h)


class Channels(Base):
    def test_channel_header(self):
        n = self.name("ch")
        self.create(n, str(256 + 4096))
        run("write", n, data=channel_header(sender_closed=1, sender_nowake=1),
            check=0)
        c = run_json("info", n)["channel"]
        self.assertEqual(c["state"], "sender_closed")
        self.assertFalse(c["sender"]["wakes_word"])
        self.assertTrue(c["receiver"]["wakes_word"])
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
        self.assertIn("cannot wake a word", text)
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
            if problem == "inconsistent":  # no fill is made up
                self.assertIn(b"fill      ?", out, fields)
                self.assertIsNone(c["fill"], fields)
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
                        T.ARGS.child, "{}", check=0)
        self.assertIn(b"starting with 'hello from the test'", out)
        self.assertEqual(run("cat", n, "--offset", "64", "--length", "22",
                             check=0)[1], b"hello back from Python")
        # In the environment, a new region.
        _, out, _ = run("spawn", "--region", "1M", "--env", "SHMKIT_REGION",
                        "--", sys.executable, T.ARGS.child, check=0)
        self.assertIn(b"1048576 bytes, rw", out)
        # Read-only: the child gets "r" and a descriptor that cannot write.
        _, out, _ = run("spawn", "--open", n, "--readonly", "--",
                        sys.executable, T.ARGS.child, "{}", check=0)
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
        # A name made for a program that never started goes with it.
        n = self.name("spnone")
        status, _, err = run("spawn", "--region", "4K", "--name", n, "--",
                             "no-such-program-" + str(os.getpid()), "{}")
        self.assertEqual(status, 1)
        self.assertIn("not found", err)
        self.assertEqual(run("info", n)[0], 1)

    def test_token_argument(self):
        code = "import sys; print(sys.argv[1:])"
        _, out, _ = run("spawn", "--region", "4K", "--", sys.executable, "-c",
                        code, "a", "{}", "{}x", check=0)
        args = eval(out.decode())  # the child printed a list of strings
        self.assertEqual(args[0], "a")
        self.assertRegex(args[1], r"^shmkit1:[0-9]+:4096:rw$")
        self.assertEqual(args[2], "{}x")


class WindowsRegions(Base):
    """Under Wine: each test keeps its region in a child (Base.inside)."""

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

    def test_spawn(self):
        _, out, _ = run("spawn", "--region", "4K", "--", "cmd.exe", "/c",
                        "echo", "{}", check=0)
        self.assertRegex(out.decode(), r"shmkit1:[0-9]+:4096:rw")
        status, _, _ = run("spawn", "--region", "4K", "--env", "X", "--",
                           "cmd.exe", "/c", "exit 7")
        self.assertEqual(status, 7)


def pick(under_wine, on_linux):
    if under_wine:
        return [WindowsRegions]
    return [Regions, Channels, Spawn]


if __name__ == "__main__":
    T.main(pick)
