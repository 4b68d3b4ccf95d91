/* The command table and each command's --help, with examples. The manual
 * (shmkit.1) and docs/tool.md say the same at length. */
#include "tool.h"

const char tool_main_help[] =
    "usage: shmkit COMMAND [ARGS...]   (shmkit COMMAND --help for each)\n"
    "\n"
    "See, create, inspect and clean up shared memory, and hand it to any\n"
    "program.\n"
    "\n"
    "  ls      the named regions, who holds them (--all: anonymous too)\n"
    "  info    one region: size, owner, mode, seals, holders, channel\n"
    "  create  a named region of a size\n"
    "  rm      remove names\n"
    "  reap    remove this user's names that no process holds\n"
    "  cat     print a region's bytes (or a range, or a hex dump)\n"
    "  write   write standard input into a region\n"
    "  spawn   start a program with a region it inherits, and its token\n"
    "\n"
    "Exit status: 0 success, 1 failure (a message on stderr), 2 bad usage\n"
    "(spawn: the program's own status once it started). --json on every\n"
    "command that prints. Manual: man shmkit.\n"
    "\n"
    "Examples:\n"
    "  shmkit create frames 64M\n"
    "  printf hello | shmkit write frames\n"
    "  shmkit ls --all\n"
    "  shmkit spawn --open frames -- python3 examples/spawn_child.py {}\n"
    "  shmkit reap --dry-run\n";

static const char ls_help[] =
    "usage: shmkit ls [--all | --orphans] [--json]\n"
    "\n"
    "Lists the named regions (Linux: the files of /dev/shm) with their size,\n"
    "owner, mode, creation time and holders: each process that has one open\n"
    "(pid, program, descriptor numbers) or mapped. The time is the file's\n"
    "birth time where the file system keeps one (statx), else its status\n"
    "change time; --json says which (created_from).\n"
    "\n"
    "Holders come from /proc/PID/fd and /proc/PID/maps: only processes this\n"
    "user may look into are seen (its own; every process for root). What\n"
    "other users' processes hold is not shown.\n"
    "\n"
    "  --all      also the anonymous regions this user's processes hold:\n"
    "             memfds, and shmkit's anonymous objects of the portable\n"
    "             build (/dev/shm/shmkit.<16 hex digits>, removed), with\n"
    "             size and seals\n"
    "  --orphans  only names of this user (any, for root) that no process\n"
    "             holds open or maps: what 'shmkit reap' would remove\n"
    "  --json     one JSON object (see man shmkit)\n"
    "\n"
    "Windows: the sections of this session's namespace (and Global\\), with\n"
    "sizes where they open; holders are not listed there.\n"
    "\n"
    "Examples:\n"
    "  shmkit ls\n"
    "  shmkit ls --all\n"
    "  shmkit ls --orphans --json\n";

static const char info_help[] =
    "usage: shmkit info NAME [--json]\n"
    "       shmkit info PID:FD [--json]    (Linux)\n"
    "\n"
    "One region, named or held by process PID at descriptor FD: size,\n"
    "owner, mode, creation time, seals and holders, and when its first bytes\n"
    "are a shmkit channel's header, the channel: its state (open,\n"
    "sender_closed, receiver_closed, closed, or broken when a field breaks\n"
    "the rules), capacity, fill (head - tail), each side's sleep state and\n"
    "closed flag, and whether each side is alive: 'no' once it closed; else\n"
    "'yes' when at least as many processes map the region as sides have not\n"
    "closed, 'no' when none does, 'unknown' in between or where holders\n"
    "cannot be seen. The region is mapped read-only and nothing in it is\n"
    "trusted.\n"
    "\n"
    "Examples:\n"
    "  shmkit info frames\n"
    "  shmkit info 4242:5 --json\n";

static const char create_help[] =
    "usage: shmkit create NAME SIZE [--sparse] [--json]\n"
    "\n"
    "Creates a named region of SIZE bytes, zero-filled, owner-only (0600),\n"
    "exclusively (an existing name fails). SIZE: digits, optionally with K,\n"
    "M, G or T (1024, 1024^2, ...), 1 to 2^63-1. The memory is reserved\n"
    "now unless --sparse (then pages are taken as they are written).\n"
    "NAME: 1 to 30 of A-Z a-z 0-9 . _ -, not starting with '.'; on Windows\n"
    "optionally Local\\NAME or Global\\NAME. A POSIX name stays until\n"
    "'shmkit rm'; a Windows one goes with its last handle.\n"
    "\n"
    "Examples:\n"
    "  shmkit create frames 64M\n"
    "  shmkit create big 6G --sparse\n";

static const char rm_help[] =
    "usage: shmkit rm NAME... [--json]\n"
    "\n"
    "Removes each name: it can no longer be opened; the memory stays while\n"
    "processes hold or map it. Goes on after a failure and then exits 1.\n"
    "Windows has no removal (a name goes with its last handle).\n"
    "\n"
    "Example:\n"
    "  shmkit rm frames big\n";

static const char reap_help[] =
    "usage: shmkit reap [--dry-run] [--older-than DURATION] [--json] "
    "[NAME...]\n"
    "\n"
    "Removes this user's names that no process holds open or maps (what\n"
    "'shmkit ls --orphans' shows), printing each. Just before removing one\n"
    "it looks again: a name made again or opened since the scan is skipped\n"
    "and said so. A name made by a program that closed it on purpose, for\n"
    "another to open later, looks orphaned too: --older-than spares young\n"
    "ones. With NAMEs, only those of them that are orphans.\n"
    "\n"
    "  --dry-run             print what would be removed, remove nothing\n"
    "  --older-than DURATION only names created at least that long ago:\n"
    "                        digits with s, m, h or d (seconds by default)\n"
    "\n"
    "Examples:\n"
    "  shmkit reap --dry-run\n"
    "  shmkit reap --older-than 1h\n";

static const char cat_help[] =
    "usage: shmkit cat NAME [--offset N] [--length N] [--hex] [--json]\n"
    "\n"
    "Prints the region's bytes, from --offset (0) for --length bytes (to\n"
    "the end). A range past the region's end fails (exit 1) and says the\n"
    "size. N: digits, optionally with K, M, G or T.\n"
    "\n"
    "  --hex   a hex dump: offset, 16 bytes, their printable characters\n"
    "  --json  {\"name\", \"size\", \"offset\", \"length\", \"hex\"}\n"
    "\n"
    "Examples:\n"
    "  shmkit cat frames --length 64 --hex\n"
    "  shmkit cat frames --offset 4K --length 100 > part.bin\n";

static const char write_help[] =
    "usage: shmkit write NAME [--offset N] [--json] < data\n"
    "\n"
    "Writes standard input into the region from --offset (0). Input that\n"
    "runs past the region's end fails (exit 1) and says the size; from a\n"
    "file that is known before anything is written, from a pipe only once\n"
    "the region is full (what fit was written).\n"
    "\n"
    "Examples:\n"
    "  printf hello | shmkit write frames\n"
    "  shmkit write frames --offset 1M < frame.bin\n";

static const char spawn_help[] =
    "usage: shmkit spawn (--region SIZE [--name NAME] [--sparse] | --open "
    "NAME)\n"
    "                    [--readonly] [--env VAR] [--] PROGRAM ARGS...\n"
    "\n"
    "Starts PROGRAM with a region it inherits: a new anonymous one of SIZE\n"
    "bytes (named NAME with --name: on Windows the name then lives while\n"
    "PROGRAM runs), or the named one. Its token, shmkit1:<fd>:<size>:<r|rw> "
    "(the\n"
    "descriptor number, a HANDLE value on Windows), replaces every argument\n"
    "that is exactly {}, and with --env is in VAR. The program reads the\n"
    "token, checks the descriptor and maps it (Python: mmap.mmap(fd, size);\n"
    "see examples/spawn_child.py). --readonly hands over a read-only handle.\n"
    "Exits with the program's status (killed by a signal: 128 + its\n"
    "number); a program that cannot start is exit 1 with a message.\n"
    "\n"
    "Examples:\n"
    "  shmkit spawn --region 1M -- python3 examples/spawn_child.py {}\n"
    "  shmkit spawn --open frames --readonly --env SHM -- ./viewer\n"
    "  shmkit spawn --region 4K -- sh -c 'echo token: $1' sh {}\n";

const tool_cmd tool_cmds[] = {
    {"ls", "list named regions", ls_help, cmd_ls},
    {"info", "one region", info_help, cmd_info},
    {"create", "create a named region", create_help, cmd_create},
    {"rm", "remove names", rm_help, cmd_rm},
    {"reap", "remove orphaned names", reap_help, cmd_reap},
    {"cat", "print a region", cat_help, cmd_cat},
    {"write", "write into a region", write_help, cmd_write},
    {"spawn", "start a program with a region", spawn_help, cmd_spawn},
};
const size_t tool_ncmds = sizeof(tool_cmds) / sizeof(tool_cmds[0]);
