/* The shmkit command: see, create, inspect and clean up shared memory from a
 * shell, and hand it to any program. This file: the command table's
 * dispatch, argument parsing, sizes, names and output helpers shared by the
 * commands (cmd-*.c). The help texts are in help.c, the manual in
 * shmkit.1. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

extern const tool_cmd tool_cmds[];
extern const size_t tool_ncmds;
extern const char tool_main_help[];

/* A message with arguments from the command line in it: control
 * characters escaped, so that it stays one line and cannot drive the
 * terminal. */
static void put_message(const char *fmt, va_list ap) {
  char buf[1024];

  vsnprintf(buf, sizeof(buf), fmt, ap);
  for (const char *p = buf; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f)
      fprintf(stderr, "\\x%02x", c);
    else
      fputc(c, stderr);
  }
}

static int usage_line(const char *cmd, const char *fmt, va_list ap) {
  fprintf(stderr, "shmkit%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  put_message(fmt, ap);
  fprintf(stderr, " (try 'shmkit%s%s --help')\n", cmd ? " " : "",
          cmd ? cmd : "");
  return TOOL_USAGE;
}

int tool_usage(const tool_cmd *cmd, const char *fmt, ...) {
  va_list ap;
  int r;

  va_start(ap, fmt);
  r = usage_line(cmd ? cmd->name : NULL, fmt, ap);
  va_end(ap);
  return r;
}

int tool_fail(const tool_cmd *cmd, int err, const char *fmt, ...) {
  va_list ap;

  if (cmd != NULL)
    fprintf(stderr, "shmkit %s: ", cmd->name);
  else
    fputs("shmkit: ", stderr);
  va_start(ap, fmt);
  put_message(fmt, ap);
  va_end(ap);
  if (err < 0) fprintf(stderr, ": %s", shmkit_strerror(err));
  fputc('\n', stderr);
  return TOOL_FAIL;
}

/* Quotes an argument for a message: at most 40 bytes of it, escaped. */
const char *tool_shown(const char *s, char *buf, size_t size) {
  size_t o = 0;
  for (size_t i = 0; s[i] && o + 8 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 40) {
      o += (size_t)snprintf(buf + o, size - o, "...");
      break;
    }
    if (c >= 0x20 && c < 0x7f)
      buf[o++] = (char)c;
    else
      o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
  }
  buf[o] = 0;
  return buf;
}

int tool_parse(const tool_cmd *cmd, int argc, char **argv, const tool_opt *opts,
               const char **pos, int max_pos, int *npos, int stop_at_dashes,
               int *rest, int *status) {
  char buf[200];
  int i, only_pos = 0;

  *npos = 0;
  if (rest) *rest = argc;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i];
    const tool_opt *o = NULL;
    const char *eq;
    size_t len;

    if (!only_pos && strcmp(a, "--") == 0) {
      if (stop_at_dashes) {
        if (rest) *rest = i + 1;
        return 0;
      }
      only_pos = 1;
      continue;
    }
    if (only_pos || a[0] != '-' || a[1] == 0) {
      if (stop_at_dashes == 2) {
        if (rest) *rest = i;
        return 0;
      }
      if (*npos == max_pos) {
        *status = tool_usage(cmd, "unexpected argument '%s'",
                             tool_shown(a, buf, sizeof(buf)));
        return -1;
      }
      pos[(*npos)++] = a;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(cmd->help, stdout);
      *status = TOOL_OK;
      return -1;
    }
    eq = strchr(a, '=');
    len = eq ? (size_t)(eq - a) : strlen(a);
    for (const tool_opt *p = opts; p && p->name; p++)
      if (strlen(p->name) == len && strncmp(p->name, a, len) == 0) o = p;
    if (o == NULL) {
      *status = tool_usage(cmd, "unknown option '%s'",
                           tool_shown(a, buf, sizeof(buf)));
      return -1;
    }
    if (o->value == NULL) {
      if (eq) {
        *status = tool_usage(cmd, "%s takes no value", o->name);
        return -1;
      }
      *o->flag = 1;
    } else if (eq) {
      *o->value = eq + 1;
    } else if (i + 1 < argc) {
      *o->value = argv[++i];
    } else {
      *status = tool_usage(cmd, "%s needs a value", o->name);
      return -1;
    }
  }
  if (stop_at_dashes && rest) *rest = argc;
  return 0;
}

/* A suffix and what it multiplies by. */
typedef struct unit {
  char suffix;
  uint64_t times;
} unit;

static const unit size_units[] = {
    {'K', 1ull << 10}, {'k', 1ull << 10}, {'M', 1ull << 20},
    {'m', 1ull << 20}, {'G', 1ull << 30}, {'g', 1ull << 30},
    {'T', 1ull << 40}, {'t', 1ull << 40}, {0, 0}};

static const unit time_units[] = {
    {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};

/* Decimal digits and at most one suffix of `units`, the product at most
 * 2^63-1: 0 and *out, or -1. */
static int parse_scaled(const char *s, const unit *units, uint64_t *out) {
  const uint64_t max = (uint64_t)INT64_MAX;
  uint64_t v = 0, times = 1;
  size_t i = 0;

  if (!isdigit((unsigned char)s[0])) return -1;
  for (; isdigit((unsigned char)s[i]); i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  if (s[i] != 0) {
    const unit *u = units;
    while (u->suffix != 0 && u->suffix != s[i]) u++;
    if (u->suffix == 0 || s[i + 1] != 0) return -1;
    times = u->times;
  }
  if (v > max / times) return -1;
  *out = v * times;
  return 0;
}

int tool_parse_size(const char *s, uint64_t *out) {
  return parse_scaled(s, size_units, out);
}

int tool_parse_duration(const char *s, uint64_t *seconds) {
  return parse_scaled(s, time_units, seconds);
}

int tool_check_name(const char *s, const char **base, unsigned *flags) {
  size_t n;

  *flags = 0;
#ifdef _WIN32
  if (strncmp(s, "Global\\", 7) == 0) {
    s += 7;
    *flags = SHMKIT_GLOBAL;
  } else if (strncmp(s, "Local\\", 6) == 0) {
    s += 6;
  }
#endif
  n = strlen(s);
  if (n < 1 || n > 30 || s[0] == '.') return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(isascii(c) && isalnum(c)) && c != '.' && c != '_' && c != '-')
      return -1;
  }
  *base = s;
  return 0;
}

int tool_size_arg(const tool_cmd *cmd, const char *what, const char *arg,
                  uint64_t min, uint64_t *out) {
  char buf[200];

  if (tool_parse_size(arg, out) == 0 && *out >= min) return TOOL_OK;
  return tool_usage(cmd, "bad %s '%s' (%llu to 2^63-1 bytes, %s)", what,
                    tool_shown(arg, buf, sizeof(buf)), (unsigned long long)min,
                    TOOL_SIZE_RULES);
}

int tool_name_arg(const tool_cmd *cmd, const char *arg, const char **base,
                  unsigned *flags) {
  char buf[200];

  if (tool_check_name(arg, base, flags) == 0) return TOOL_OK;
  return tool_usage(cmd, "bad name '%s' (%s)",
                    tool_shown(arg, buf, sizeof(buf)), TOOL_NAME_RULES);
}

int tool_parse_pidfd(const char *s, int64_t *pid, int *fd) {
  const char *colon = strchr(s, ':');
  int64_t p = 0;
  long f = 0;
  const char *c;

  if (colon == NULL || colon == s || colon[1] == 0) return -1;
  for (c = s; c < colon; c++) {
    if (!isdigit((unsigned char)*c) || p > (INT64_MAX - 9) / 10) return -1;
    p = p * 10 + (*c - '0');
  }
  for (c = colon + 1; *c; c++) {
    if (!isdigit((unsigned char)*c) || f > (0x7fffffffL - 9) / 10) return -1;
    f = f * 10 + (*c - '0');
  }
  if (p <= 0) return -1;
  *pid = p;
  *fd = (int)f;
  return 0;
}

/* The character a UTF-8 sequence at s (n bytes left) encodes, and its
 * length in *len; -1 if the bytes there are not one (a stray byte, an
 * overlong form, a surrogate, past U+10FFFF). */
static long utf8_at(const unsigned char *s, size_t n, size_t *len) {
  static const long least[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t k = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                            : 0;
  long c;

  if (k == 0 || k > n) return -1;
  c = s[0] & (0x7f >> k);
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80) return -1;
    c = c << 6 | (s[i] & 0x3f);
  }
  if (c < least[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return -1;
  *len = k;
  return c;
}

/* Names are bytes, JSON is ASCII here: a character of UTF-8 is escaped as
 * itself (a pair of surrogates past U+FFFF), a byte that is no part of one
 * as U+DC00 + the byte, as Python's surrogateescape reads it, so that
 * os.fsencode() gives the bytes back. */
void json_strn(const char *s, size_t n) {
  const unsigned char *b = (const unsigned char *)s;

  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = b[i];
    size_t len;
    long u;

    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      printf("\\u%04x", c);
    else if (c < 0x80)
      putchar(c);
    else if ((u = utf8_at(b + i, n - i, &len)) < 0)
      printf("\\u%04x", 0xdc00 + c);
    else {
      if (u < 0x10000)
        printf("\\u%04lx", u);
      else
        printf("\\u%04lx\\u%04lx", 0xd800 + ((u - 0x10000) >> 10),
               0xdc00 + ((u - 0x10000) & 0x3ff));
      i += len - 1;
    }
  }
  putchar('"');
}

void json_str(const char *s) {
  if (s == NULL)
    fputs("null", stdout);
  else
    json_strn(s, strlen(s));
}

void json_key(const char *key, int *first) {
  if (!*first) putchar(',');
  *first = 0;
  json_str(key);
  putchar(':');
}

void json_field_str(const char *key, const char *s, int *first) {
  json_key(key, first);
  json_str(s);
}

void json_field_u64(const char *key, uint64_t v, int *first) {
  json_key(key, first);
  printf("%llu", (unsigned long long)v);
}

void json_field_known(const char *key, int64_t v, int *first) {
  json_key(key, first);
  if (v < 0)
    fputs("null", stdout);
  else
    printf("%lld", (long long)v);
}

void json_field_bool(const char *key, int v, int *first) {
  json_key(key, first);
  fputs(v ? "true" : "false", stdout);
}

void text_str(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c < 0x7f && c != '\\')
      fputc(c, f);
    else if (c == '\\')
      fputs("\\\\", f);
    else
      fprintf(f, "\\x%02x", c);
  }
}

static const tool_cmd *find(const char *name) {
  for (size_t i = 0; i < tool_ncmds; i++)
    if (strcmp(tool_cmds[i].name, name) == 0) return &tool_cmds[i];
  return NULL;
}

static int dispatch(int argc, char **argv) {
  const tool_cmd *cmd;
  char buf[200];
  int whole =
      argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
       strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "help") == 0);

  if (argc < 2) return tool_usage(NULL, "needs a COMMAND");
  /* The tool's own options and "help [COMMAND]" take nothing more. */
  if (whole && argc > (strcmp(argv[1], "help") == 0 ? 3 : 2))
    return tool_usage(NULL, "unexpected argument '%s'",
                      tool_shown(argv[argc - 1], buf, sizeof(buf)));
  if (strcmp(argv[1], "--version") == 0) {
    printf("shmkit %d.%d.%d\n", SHMKIT_VERSION_MAJOR, SHMKIT_VERSION_MINOR,
           SHMKIT_VERSION_PATCH);
    return TOOL_OK;
  }
  if (whole && (argc == 2 || strcmp(argv[2], "help") == 0)) {
    fputs(tool_main_help, stdout);
    return TOOL_OK;
  }
  if (whole) {
    if ((cmd = find(argv[2])) == NULL)
      return tool_usage(NULL, "no command '%s'",
                        tool_shown(argv[2], buf, sizeof(buf)));
    fputs(cmd->help, stdout);
    return TOOL_OK;
  }
  if ((cmd = find(argv[1])) == NULL) {
    if (argv[1][0] == '-')
      return tool_usage(NULL, "unknown option '%s'",
                        tool_shown(argv[1], buf, sizeof(buf)));
    return tool_usage(NULL, "unknown command '%s'",
                      tool_shown(argv[1], buf, sizeof(buf)));
  }
  return cmd->run(cmd, argc - 2, argv + 2);
}

int main(int argc, char **argv) {
  int status = dispatch(argc, argv);

  /* What was printed must have gone out: a full disk or a failed pipe
   * makes a success nobody could read a failure. */
  if ((fflush(stdout) != 0 || ferror(stdout)) && status == TOOL_OK)
    status = tool_fail(NULL, 0, "writing the output failed");
  return status;
}
