#!/usr/bin/env python3
"""What the shmkit command shows: ls (holders, --all, --orphans), reap,
info PID:FD, and the JSON shape of every command; ls and info under Wine.
Helpers in tooltest.py."""
import json
import os
import shutil
import sys
import time

import tooltest as T
from tooltest import (CREATOR, HOLDER, Base, linux, read_line, run, run_json,
                      tool_cmd, unique)


# A process that makes a memfd (named by argv[1]) of 12 KiB, maps it,
# seals it against shrinking and growing, closes the descriptor (only the
# mapping holds it now), says its pid and the mapping's addresses, and
# waits to be killed.
# (Python's mmap keeps a descriptor of its own: libc's mmap keeps none.)
MAPPED_MEMFD = r"""
import ctypes, fcntl, os, sys, time
fd = os.memfd_create(sys.argv[1], os.MFD_ALLOW_SEALING)
os.ftruncate(fd, 12288)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
addr = libc.mmap(None, 12288, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
assert addr not in (None, ctypes.c_void_p(-1).value)
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
os.close(fd)
with open("/proc/self/maps") as f:
    line = [l for l in f if "/memfd:" + sys.argv[1] + " " in l][0]
print(os.getpid(), line.split()[0], flush=True)
time.sleep(600)
"""


# A process that maps a file of its own whose maps line holds, from byte
# 4351 on, a line of its making: a mapping of argv[1]'s device and inode.
# Its directories go under argv[2]; it prints its pid and waits.
LONG_MAPS_LINE = r"""
import mmap, os, sys, time
st = os.stat("/dev/shm/" + sys.argv[1])
fake = "7f0000000000-7f0000001000 r--s 00000000 %02x:%02x %d " % (
    os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
os.makedirs(sys.argv[2]); os.chdir(sys.argv[2])
for i in range(16):
    os.mkdir("p" * 250); os.chdir("p" * 250)
top = "x" + fake
os.makedirs(top + "/dev/shm")
fd = os.open(top + "/dev/shm/victim", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
def line():
    return [l for l in open("/proc/self/maps") if "/victim" in l][0]
extra = 4351 - line().index(fake)  # a directory before `top` moves it there
assert 2 <= extra <= 256, extra
os.mkdir("q" * (extra - 1)); os.rename(top, "q" * (extra - 1) + "/" + top)
assert line().index(fake) == 4351
print(os.getpid(), flush=True)
time.sleep(600)
"""


def openat2_here(libc):
    """Whether openat2 works here, asked as the library asks it: of "/",
    O_PATH, where only its absence (or a sandbox's denial) fails it."""
    import ctypes
    if os.uname().machine not in ("x86_64", "aarch64"):
        return False  # 437 is openat2 on these two; elsewhere not known here
    how = (ctypes.c_uint64 * 3)(os.O_PATH | os.O_CLOEXEC, 0, 0)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(ctypes.c_long(437), ctypes.c_int(-100), b"/",
                      ctypes.byref(how), ctypes.c_size_t(24))
    if fd < 0:
        return False
    os.close(fd)
    return True


def reap(*names):
    """`reap NAMES`'s output, asked again while it leaves a name because
    some of this user's processes could not be looked into: one that
    another test runs at the same time may for an instant not be readable
    in /proc (seen once as the ordinary user under ctest -j2), and reap
    then rightly leaves the name. The outputs of every try, joined."""
    text = ""
    for _ in range(100):
        _, out, _ = run("reap", *names, check=0)
        text += out.decode()
        if "could not be looked into" not in out.decode():
            break
        time.sleep(0.05)
    return text


# A process that opens the name argv[1] in /dev/shm, then ends its first
# thread while a second runs on: the descriptor stays the process's, but
# the first thread's /proc/PID/fd lists nothing (and is root's).
FIRST_THREAD_ENDS = r"""
import ctypes, os, sys, threading, time
fd = os.open("/dev/shm/" + sys.argv[1], os.O_RDWR)
threading.Thread(target=time.sleep, args=(600,)).start()
print(os.getpid(), fd, flush=True)
ctypes.CDLL(None).pthread_exit(None)
"""


class Listing(Base):
    def test_holder_whose_first_thread_ended(self):
        held = self.name("firstends")
        self.create(held)
        p = self.start([sys.executable, "-c", FIRST_THREAD_ENDS, held],
                       "holder")
        pid, fd = map(int, read_line(p, "holder").split())
        for _ in range(1000):  # until the first thread is a zombie
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            self.fail("the first thread did not end")
        holders = run_json("info", held)["holders"]
        self.assertIn(pid, {h["pid"] for h in holders})
        self.assertEqual(run_json("info", f"{pid}:{fd}")["name"], held)
        orphans = {r["name"] for r in run_json("ls", "--orphans")["regions"]}
        self.assertNotIn(held, orphans)
        reap(held)
        self.assertTrue(os.path.exists("/dev/shm/" + held))

    def test_all_mapped_only_memfd(self):
        """A memfd that only a mapping holds: its size and seals come from
        /proc/PID/map_files where the kernel lets this user open it there,
        and are unknown (null) where it does not."""
        label = unique("mf")
        p = self.start([sys.executable, "-c", MAPPED_MEMFD, label], "memfd")
        pid, span = read_line(p, "memfd").split()
        try:
            os.close(os.open(f"/proc/{pid}/map_files/{span}", os.O_RDONLY))
            readable = True
        except OSError:
            readable = False
        j = run_json("ls", "--all")
        mine = [a for a in j["anonymous"] if a["label"] == "memfd:" + label]
        self.assertEqual(len(mine), 1, j["anonymous"])
        a = mine[0]
        self.assertEqual(a["kind"], "memfd")
        self.assertEqual([(h["pid"], h["fds"], h["mapped"])
                          for h in a["holders"]], [(int(pid), [], True)])
        if readable:
            self.assertEqual((a["size"], a["seals"]),
                             (12288, ["shrink", "grow"]))
            text = run("ls", "--all", check=0)[1].decode()
            line = [l for l in text.splitlines()
                    if l.startswith("memfd:" + label + " ")]
            self.assertEqual(len(line), 1, text)
            self.assertIn(" 12K ", line[0])
            self.assertIn("shrink,grow", line[0])
        else:
            self.assertEqual((a["size"], a["seals"]), (None, None))

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
        out = reap(dead, held)
        self.assertIn(f"removed {dead}", out)
        self.assertNotIn(held, out)
        self.assertFalse(os.path.exists("/dev/shm/" + dead))
        self.assertTrue(os.path.exists("/dev/shm/" + held))
        self.assertEqual(run("cat", held, "--length", "1", check=0)[1],
                         b"\0")
        reap(young)
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


    def test_long_maps_line_forges_nothing(self):
        # Any user can make a mapping whose /proc/PID/maps line is longer
        # than the tool reads at once (4351 bytes): a path of deep
        # directories in /dev/shm. Its end must not read as a line of its
        # own, which would claim a mapping of any object the user names.
        victim = self.name("victim")
        self.create(victim)
        top = "/dev/shm/" + self.name("deep")
        self.addCleanup(shutil.rmtree, top, True)
        p = self.start([sys.executable, "-c", LONG_MAPS_LINE, victim, top],
                       "long")
        pid = int(read_line(p, "long").split()[0])
        self.addCleanup(self.kill_pid, pid)
        j = run_json("ls")
        mine = [n for n in j["regions"] if n["name"] == victim]
        self.assertEqual(len(mine), 1, j["regions"])
        self.assertNotIn(pid, [h["pid"] for h in mine[0]["holders"]])

    def test_holder_through_a_bind_mount(self):
        # A process (in a chroot, say) that reaches /dev/shm through another
        # mount of it holds its names as much: ls shows it, reap spares
        # them.
        if os.geteuid() != 0:
            self.skipTest("mount --bind needs root")
        import subprocess
        import tempfile
        n = self.name("bind")
        self.create(n)
        d = tempfile.mkdtemp(prefix="shm bind ")  # mountinfo says \040
        self.addCleanup(os.rmdir, d)
        subprocess.run(["mount", "--bind", "/dev/shm", d], check=True)
        self.addCleanup(subprocess.run, ["umount", d], check=True)
        p = self.start([sys.executable, "-c",
                        "import os, sys, time\n"
                        "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
                        "print(os.getpid(), fd, flush=True)\n"
                        "time.sleep(600)\n", os.path.join(d, n)], "bound")
        pid = int(read_line(p, "bound").split()[0])
        mine = [r for r in run_json("ls")["regions"] if r["name"] == n]
        self.assertEqual(len(mine), 1)
        self.assertIn(pid, [h["pid"] for h in mine[0]["holders"]])
        self.assertNotIn(f"removed {n}", reap(n))
        self.assertTrue(os.path.exists("/dev/shm/" + n))

    def test_a_mount_in_dev_shm_holds_nothing(self):
        # A user may mount FUSE on a directory or file of its own in
        # /dev/shm (fusermount), and a server that does not answer holds
        # every stat() and open() inside for ever. No command may wait for
        # it: not the ones that look at everybody's names, nor info of the
        # name or of a descriptor a process holds of it. This server never
        # answers, not even its start; closing its end (the cleanup) ends
        # whatever still waits.
        if os.geteuid() != 0:
            self.skipTest("mounting FUSE without fusermount needs root")
        import ctypes
        import subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        for rootmode, tag in (("40000", "fusedir"), ("100000", "fusefile")):
            n = unique(tag)
            path = "/dev/shm/" + n
            if rootmode == "40000":
                os.mkdir(path, 0o700)
                self.addCleanup(os.rmdir, path)
            else:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL, 0o600))
                self.addCleanup(os.unlink, path)
            try:
                fuse = os.open("/dev/fuse", os.O_RDWR)
            except OSError as e:
                self.skipTest(f"no /dev/fuse: {e}")
            opts = f"fd={fuse},rootmode={rootmode},user_id=0,group_id=0"
            if libc.mount(b"shmkit-test", path.encode(), b"fuse", 6,
                          opts.encode()) != 0:  # MS_NOSUID | MS_NODEV
                os.close(fuse)
                self.skipTest("no FUSE mount here: "
                              + os.strerror(ctypes.get_errno()))
            self.addCleanup(libc.umount2, path.encode(), 2)  # MNT_DETACH
            self.addCleanup(os.close, fuse)  # first: ends what waits
            # A descriptor of the mount point itself (O_PATH asks the
            # server nothing), as a process of that user may hold.
            p = self.start([sys.executable, "-c",
                            "import os, sys, time\n"
                            "fd = os.open(sys.argv[1], os.O_PATH)\n"
                            "print(os.getpid(), fd, flush=True)\n"
                            "time.sleep(600)\n", path], "O_PATH holder")
            pid, fd = read_line(p, "O_PATH holder").split()
            commands = [["ls", "--json"], ["ls", "--all", "--json"],
                        ["reap", "--dry-run"], ["info", f"{pid}:{fd}"]]
            # info NAME opens the name with the library, whose portable
            # path (shm_open) crosses the mount point, as it does without
            # openat2: docs/architecture.md.
            if not T.ARGS.portable and openat2_here(libc):
                commands.append(["info", n])
            for args in commands:
                try:
                    r = subprocess.run(tool_cmd(*args), timeout=30,
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
                except subprocess.TimeoutExpired:
                    self.fail(f"shmkit {' '.join(args)} waited for FUSE "
                              f"({tag})")
                if args[0] == "ls":
                    self.assertEqual(r.returncode, 0)
                    names = [o["name"] for o in
                             json.loads(r.stdout)["regions"]]
                    self.assertNotIn(n, names)
                elif args[0] == "info":  # NAME, or PID:FD
                    self.assertEqual(r.returncode, 1)
                    self.assertIn(b"not a shared memory object", r.stderr)

    def test_a_foreign_file_in_dev_shm_is_no_region(self):
        # A file of another file system reached through /dev/shm (a mount
        # inside it, FUSE or any), held open and mapped once deleted, reads
        # by its path as a deleted object of /dev/shm: it is none, and ls
        # --all leaves it out (its device tells), by descriptor and by
        # mapping alike.
        if os.geteuid() != 0:
            self.skipTest("mount --bind needs root")
        import subprocess
        import tempfile
        d = tempfile.mkdtemp(prefix="shm-foreign-")
        self.addCleanup(os.rmdir, d)
        if os.stat(d).st_dev == os.stat("/dev/shm").st_dev:
            self.skipTest("the temporary directory is on /dev/shm's file "
                          "system here")
        n = unique("foreign")
        mnt = "/dev/shm/" + n
        os.mkdir(mnt, 0o700)
        self.addCleanup(os.rmdir, mnt)
        subprocess.run(["mount", "--bind", d, mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", mnt], check=True)
        for keep in ("fd", "map"):
            p = self.start([sys.executable, "-c",
                            "import ctypes, os, sys, time\n"
                            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT"
                            ", 0o600)\n"
                            "os.ftruncate(fd, 4096)\n"
                            "libc = ctypes.CDLL(None)\n"
                            "libc.mmap.restype = ctypes.c_void_p\n"
                            "libc.mmap.argtypes = [ctypes.c_void_p, "
                            "ctypes.c_size_t, ctypes.c_int, ctypes.c_int, "
                            "ctypes.c_int, ctypes.c_long]\n"
                            "libc.mmap(None, 4096, 1, 1, fd, 0)\n"
                            "os.unlink(sys.argv[1])\n"
                            "if sys.argv[2] == 'map': os.close(fd)\n"
                            "print(os.getpid(), flush=True)\n"
                            "time.sleep(600)\n", f"{mnt}/{keep}", keep],
                           "foreign holder")
            read_line(p, "foreign holder")
            labels = [a["label"] for a in run_json("ls", "--all")["anonymous"]]
            self.assertEqual([l for l in labels if n in l], [], keep)
            self.stop(p)

    def test_json_names_round_trip(self):
        # Other programs name their objects with any bytes. The JSON, kept
        # ASCII, escapes UTF-8 characters as themselves and any other byte
        # as Python's surrogateescape reads it: os.fsencode() of the name
        # gives the file's bytes back.
        base = os.fsencode(unique("u8"))
        names = [base + "-é€😀".encode(),  # 2, 3 and 4 bytes of UTF-8
                 base + b"-\xff\xc3(\xed\xa0\x80\xc0\xaf"]  # none is
        for raw in names:
            path = b"/dev/shm/" + raw
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.addCleanup(os.unlink, path)
        got = {os.fsencode(r["name"]) for r in run_json("ls")["regions"]}
        for raw in names:
            self.assertIn(raw, got)

    def test_pidfd_opens_no_device(self):
        # What a process holds is its own choice: one that points a
        # descriptor at something it need not be able to open (O_PATH) must
        # not get the tool to open it with the tool's rights. A FIFO shows
        # it: inotify reports every open of it, whoever opens it.
        import ctypes
        import tempfile
        d = tempfile.mkdtemp()
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        self.addCleanup(lambda: (os.unlink(fifo), os.rmdir(d)))
        libc = ctypes.CDLL(None, use_errno=True)
        ino = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.assertGreaterEqual(ino, 0)
        self.addCleanup(os.close, ino)
        self.assertGreaterEqual(
            libc.inotify_add_watch(ino, fifo.encode(), 0x20), 0)  # IN_OPEN
        p = self.start([sys.executable, "-c",
                        "import os, sys, time\n"
                        "fd = os.open(sys.argv[1], os.O_PATH)\n"
                        "print(os.getpid(), fd, flush=True)\n"
                        "time.sleep(600)\n", fifo], "opath")
        pid, fd = map(int, read_line(p, "opath").split())
        status, _, err = run("info", f"{pid}:{fd}")
        self.assertEqual(status, 1)
        self.assertIn("not", err)
        try:
            opened = len(os.read(ino, 4096)) // 16  # events of no name
        except BlockingIOError:
            opened = 0
        self.assertEqual(opened, 0, "the tool opened the FIFO")


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


class WindowsListing(Base):
    """Under Wine: each test keeps its region in a child (Base.inside)."""

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


def pick(under_wine, on_linux):
    if under_wine:
        return [WindowsListing]
    return [Listing, Json] if on_linux else [Json]


if __name__ == "__main__":
    T.main(pick)
