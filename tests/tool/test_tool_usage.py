#!/usr/bin/env python3
"""The shmkit command's usage: bad input of every kind (exit 2 and one
line), --help on every command, and the manual. Helpers in tooltest.py."""
import re
import shutil
import subprocess
import unittest

import tooltest as T
from tooltest import Base, run


# Bad usage: exit 2, one line on stderr, nothing on stdout. (The longest
# argument fits a Windows command line: 32767 characters in all.)
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
    ["--\x1b[31m"], ["create", "x" * 30000, "4K"],
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
    ["spawn", "--region", "4K", "--", "", "{}"],
    ["--version", "extra"], ["--help", "extra"], ["help", "ls", "extra"],
]

# Bad usage whose one line must name what was wrong: (args, text).
NAMED = [
    (["frob"], "unknown command 'frob'"),
    (["ls", "--frob"], "unknown option '--frob'"),
    (["create", "x", "12Q"], "bad size '12Q'"),
    (["create", "x", "0"], "bad size '0'"),
    (["create", "x", "99999999999T"], "bad size '99999999999T'"),
    (["create", "a/b", "4K"], "bad name 'a/b'"),
    (["create", "x", "4K", "extra"], "unexpected argument 'extra'"),
    (["cat", "x", "--length"], "--length needs a value"),
    (["cat", "x", "--offset", "4KK"], "bad offset '4KK'"),
    (["reap", "--older-than", "5y"], "bad duration '5y'"),
    (["help", "ls", "extra"], "unexpected argument 'extra'"),
    (["--version", "extra"], "unexpected argument 'extra'"),
    (["spawn", "--region", "4K", "--", "", "{}"], "needs a PROGRAM"),
    (["spawn", "--region", "4K", "--", "true"], "put {} among"),
    (["create", "x" * 100, "4K"], "bad name '" + "x" * 40 + "...'"),
]


class BadInput(Base):
    def test_bad_usage(self):
        for args in BAD:
            status, out, err = run(*args)
            self.assertEqual(status, 2, args)
            self.assertEqual(out, b"", args)
            self.assertEqual(len(err.splitlines()), 1, (args, err))
            self.assertIn("try 'shmkit", err, args)

    def test_message_names_the_mistake(self):
        for args, text in NAMED:
            status, _, err = run(*args)
            self.assertEqual(status, 2, args)
            self.assertIn(text, err, args)

    def test_help(self):
        status, out, _ = run("--help")
        self.assertEqual(status, 0)
        self.assertIn(b"Examples:", out)
        self.assertEqual(run("help", check=0)[1], out)
        self.assertEqual(run("help", "help", check=0)[1], out)
        cmds = ["ls", "info", "create", "rm", "reap", "cat", "write", "spawn"]
        for c in cmds:
            self.assertIn(c, out.decode())
            # Help and nothing else: no input read, nothing on stderr.
            status, out2, err = run(c, "--help", data=b"input")
            self.assertEqual((status, err), (0, ""), c)
            self.assertIn(b"usage: shmkit " + c.encode(), out2)
            self.assertIn(b"Example", out2)
            self.assertEqual(run("help", c, check=0)[1], out2)


class Output(Base):
    def test_lost_output_is_a_failure(self):
        # A full disk: what the command printed never arrived, so the
        # command failed, whatever it did besides. (Linux: /dev/full.)
        name = self.name("full")
        self.create(name)
        for args in (["--version"], ["help"], ["ls"], ["ls", "--json"],
                     ["info", name], ["info", name, "--json"]):
            with open("/dev/full", "w") as full:
                p = subprocess.run(T.tool_cmd(*args), stdout=full,
                                   stderr=subprocess.PIPE, timeout=120)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn(b"writing the output failed", p.stderr, args)


class Manual(unittest.TestCase):
    def test_renders_without_warnings(self):
        groff = shutil.which("groff")
        self.assertIsNotNone(groff, "groff is needed (Debian: groff-base)")
        p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", T.ARGS.man],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr.decode(), "")
        text = subprocess.run([groff, "-man", "-Tutf8", T.ARGS.man],
                              stdout=subprocess.PIPE, check=True).stdout
        text = re.sub(rb".\x08", b"", text)  # the terminal's overstrikes
        for c in (b"ls", b"info", b"create", b"reap", b"spawn", b"--json",
                  b"EXIT STATUS"):
            self.assertIn(c, text)


def pick(under_wine, on_linux):
    return [BadInput, Manual] + ([Output] if on_linux else [])


if __name__ == "__main__":
    T.main(pick)
