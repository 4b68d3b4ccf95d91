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
 * "shmkit CMD: WHAT" (err 0) and returns TOOL_FAIL. */
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

/* A region name as the tool takes it: the library's rules (1 to 30 of
 * A-Z a-z 0-9 . _ -, not starting with '.'), and on Windows an optional
 * "Local\" or "Global\" before it (*flags gets SHMKIT_GLOBAL for the
 * latter). *base points at the name without the prefix. 0 or -1. */
int tool_check_name(const char *s, const char **base, unsigned *flags);

/* "PID:FD" (Linux): 0 and the numbers, or -1 if s is not of that form. */
int tool_parse_pidfd(const char *s, int64_t *pid, int *fd);

/* JSON output on stdout. */
void json_str(const char *s);               /* a quoted, escaped string */
void json_strn(const char *s, size_t n);    /* the same for n bytes */
void json_key(const char *key, int *first); /* ,"key": */

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
