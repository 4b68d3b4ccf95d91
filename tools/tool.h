/* The shmkit command: what its files share. Built on include/shmkit.h only;
 * what the public API cannot say (who holds a region, which names exist)
 * comes from the system, in list-linux.c, list-win.c or list-none.c. */
#ifndef SHMKIT_TOOL_H
#define SHMKIT_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmkit.h"

/* Exit statuses: success, a failure (message on stderr), bad usage. */
#define TOOL_OK    0
#define TOOL_FAIL  1
#define TOOL_USAGE 2

/* A command: its name, what it does in one line, its help text, and the
 * function that runs it with the arguments after its name. */
typedef struct tool_cmd {
  const char *name;
  const char *summary;
  const char *help;
  int (*run)(const struct tool_cmd *cmd, int argc, char **argv);
} tool_cmd;

/* An option of a command: "--name" alone (*flag set to 1) or with a value
 * ("--name VALUE" or "--name=VALUE", *value set). */
typedef struct tool_opt {
  const char *name;
  const char **value; /* NULL: a flag */
  int *flag;
} tool_opt;

/* Parses argv[0..argc) against opts; positional arguments go to pos (at
 * most max_pos; *npos says how many). Stops at "--" when stop_at_dashes is
 * set, with *rest the index after it (argc if none); with stop_at_dashes 2
 * also at the first positional argument, *rest its index. Prints the help and
 * returns -1 with *status 0 for --help; on bad usage prints one line and
 * returns -1 with *status TOOL_USAGE. Returns 0 otherwise. */
int tool_parse(const tool_cmd *cmd, int argc, char **argv, const tool_opt *opts,
               const char **pos, int max_pos, int *npos, int stop_at_dashes,
               int *rest, int *status);

/* Bad usage: prints "shmkit CMD: MESSAGE (try 'shmkit CMD --help')", one
 * line, and returns TOOL_USAGE. */
int tool_usage(const tool_cmd *cmd, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A failure: prints "shmkit CMD: WHAT: shmkit error text" (err < 0) or
 * "shmkit CMD: WHAT" (err 0), "shmkit: WHAT" when cmd is NULL, and returns
 * TOOL_FAIL. */
int tool_fail(const tool_cmd *cmd, int err, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* An argument as a message shows it: at most 40 bytes, anything but
 * printable ASCII escaped. Returns buf. */
const char *tool_shown(const char *s, char *buf, size_t size);

/* A size, an offset or a length: decimal digits, optionally followed by K,
 * M, G or T (binary: 1024, 1024^2, ...), at most 2^63-1. Returns 0, or -1
 * for anything else (garbage, overflow). */
int tool_parse_size(const char *s, uint64_t *out);

/* A duration: decimal digits, optionally followed by s, m, h or d. */
int tool_parse_duration(const char *s, uint64_t *seconds);

/* What usage messages say a size and a name are. */
#define TOOL_SIZE_RULES "digits with an optional K, M, G or T"
#ifdef _WIN32
#  define TOOL_NAME_RULES                                                      \
    "1 to 30 of A-Z a-z 0-9 . _ -, not starting with '.', after an optional "  \
    "Local\\ or Global\\"
#else
#  define TOOL_NAME_RULES "1 to 30 of A-Z a-z 0-9 . _ -, not starting with '.'"
#endif

/* A region name as the tool takes it: the library's rules (1 to 30 of
 * A-Z a-z 0-9 . _ -, not starting with '.'), and on Windows an optional
 * "Local\" or "Global\" before it (*flags gets SHMKIT_GLOBAL for the
 * latter). *base points at the name without the prefix. 0 or -1. */
int tool_check_name(const char *s, const char **base, unsigned *flags);

/* tool_parse_size() for a command's argument, `what` being "size",
 * "offset"...: TOOL_OK and *out (at least `min`), or a usage line that
 * shows the argument and the rules. */
int tool_size_arg(const tool_cmd *cmd, const char *what, const char *arg,
                  uint64_t min, uint64_t *out);

/* tool_check_name() for a command's argument: TOOL_OK, or a usage line
 * (TOOL_USAGE) that shows the argument and the rules. */
int tool_name_arg(const tool_cmd *cmd, const char *arg, const char **base,
                  unsigned *flags);

/* "PID:FD" (Linux): 0 and the numbers, or -1 if s is not of that form. */
int tool_parse_pidfd(const char *s, int64_t *pid, int *fd);

/* Calls fn on [offset, offset + length) of region r, mapped with `access`
 * a window (at most 64 MiB) at a time: fn gets the window's bytes, how
 * many, and the offset of the first; it returns how many it used, and
 * fewer than it got ends the walk. *done: the bytes used in all. Returns
 * 0, a shmkit error from mapping a window, or TOOL_SHRANK when the region
 * shrank under a view (POSIX: another process truncated it). */
#define TOOL_SHRANK 1
typedef size_t (*tool_window_fn)(void *ctx, unsigned char *p, size_t n,
                                 uint64_t at);
int tool_walk(shmkit_region *r, uint64_t offset, uint64_t length, int access,
              tool_window_fn fn, void *ctx, uint64_t *done);

/* JSON output on stdout. */
void json_str(const char *s);               /* a quoted, escaped string */
void json_strn(const char *s, size_t n);    /* the same for n bytes */
void json_key(const char *key, int *first); /* ,"key": */
/* ,"key":value */
void json_field_str(const char *key, const char *s, int *first); /* or null */
void json_field_u64(const char *key, uint64_t v, int *first);
void json_field_known(const char *key, int64_t v, int *first); /* <0: null */
void json_field_bool(const char *key, int v, int *first);

/* Text output: a string with control characters and other bytes that are
 * not printable ASCII escaped (\xNN), so a hostile name cannot drive the
 * terminal. */
void text_str(FILE *f, const char *s);

/* The commands (each in its file). */
int cmd_create(const tool_cmd *cmd, int argc, char **argv);
int cmd_rm(const tool_cmd *cmd, int argc, char **argv);
int cmd_cat(const tool_cmd *cmd, int argc, char **argv);
int cmd_write(const tool_cmd *cmd, int argc, char **argv);
int cmd_info(const tool_cmd *cmd, int argc, char **argv);
int cmd_ls(const tool_cmd *cmd, int argc, char **argv);
int cmd_reap(const tool_cmd *cmd, int argc, char **argv);
int cmd_spawn(const tool_cmd *cmd, int argc, char **argv);

#endif
