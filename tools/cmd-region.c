/* shmkit create, rm, cat, write: named regions through the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <fcntl.h>
#  include <io.h>
#else
#  include <setjmp.h>
#  include <signal.h>
#  include <sys/stat.h>
#endif

#include "tool.h"

/* Views are mapped a window at a time, so that a region of any size reads
 * and writes through a bounded piece of address space. */
#define WINDOW ((size_t)64 << 20)

#ifndef _WIN32
/* Another process may shrink a region under our view (POSIX), and a read
 * past the new end raises SIGBUS: it becomes an error, not a crash. */
static sigjmp_buf bus_jump;
static void on_bus(int sig) {
  (void)sig;
  siglongjmp(bus_jump, 1);
}
#  define GUARD_BEGIN(failed)                                                  \
    struct sigaction sa_, old_;                                                \
    memset(&sa_, 0, sizeof(sa_));                                              \
    sa_.sa_handler = on_bus;                                                   \
    sigemptyset(&sa_.sa_mask);                                                 \
    sigaction(SIGBUS, &sa_, &old_);                                            \
    failed = sigsetjmp(bus_jump, 1);
#  define GUARD_END() sigaction(SIGBUS, &old_, NULL)
#else
#  define GUARD_BEGIN(failed) failed = 0;
#  define GUARD_END()         ((void)0)
#endif

/* Opens NAME (the tool's spelling) with `access`; bad names are bad usage. */
static int open_named(const tool_cmd *cmd, const char *arg, int access,
                      shmkit_region **r) {
  const char *base;
  unsigned flags;
  int err;

  if (tool_check_name(arg, &base, &flags) != 0)
    return tool_usage(cmd,
                      "bad name '%s' (1 to 30 of A-Z a-z 0-9 . _ -, "
                      "not starting with '.')",
                      arg);
  if ((err = shmkit_region_open(r, base, access | (int)flags)) != 0)
    return tool_fail(cmd, err, "%s", arg);
  return TOOL_OK;
}

int cmd_create(const tool_cmd *cmd, int argc, char **argv) {
  const char *pos[2], *base;
  int npos, status, sparse = 0, json = 0, err;
  const tool_opt opts[] = {
      {"--sparse", NULL, &sparse}, {"--json", NULL, &json}, {NULL, NULL, NULL}};
  shmkit_region *r;
  uint64_t size;
  unsigned flags;

  if (tool_parse(cmd, argc, argv, opts, pos, 2, &npos, 0, NULL, &status))
    return status;
  if (npos < 2) return tool_usage(cmd, "needs NAME and SIZE");
  if (tool_check_name(pos[0], &base, &flags) != 0)
    return tool_usage(cmd,
                      "bad name '%s' (1 to 30 of A-Z a-z 0-9 . _ -, "
                      "not starting with '.')",
                      pos[0]);
  if (tool_parse_size(pos[1], &size) != 0 || size == 0)
    return tool_usage(cmd,
                      "bad size '%s' (1 to 2^63-1 bytes, digits with an "
                      "optional K, M, G or T)",
                      pos[1]);
  err = shmkit_region_create_named(&r, base, size,
                                   (sparse ? SHMKIT_SPARSE : 0) | flags);
  if (err != 0) return tool_fail(cmd, err, "%s", pos[0]);
  if (json) {
    int first = 1;
    putchar('{');
    json_key("name", &first);
    json_str(pos[0]);
    json_key("size", &first);
    printf("%llu", (unsigned long long)shmkit_region_size(r));
    json_key("sparse", &first);
    fputs(sparse ? "true" : "false", stdout);
    puts("}");
  }
#ifdef _WIN32
  /* A Windows name lives as long as a handle to it: this process's is the
   * only one, and it ends with the process. Say so, once. */
  if (!json)
    fprintf(stderr,
            "shmkit create: note: on Windows the region goes with its last "
            "handle, here when this command ends; use spawn to keep it\n");
#endif
  shmkit_region_close(r);
  return TOOL_OK;
}

int cmd_rm(const tool_cmd *cmd, int argc, char **argv) {
  const char **pos;
  int npos, status, json = 0, failed = 0, first = 1;
  const tool_opt opts[] = {{"--json", NULL, &json}, {NULL, NULL, NULL}};

  if ((pos = calloc((size_t)argc + 1, sizeof(*pos))) == NULL)
    return tool_fail(cmd, SHMKIT_ENOMEM, "arguments");
  if (tool_parse(cmd, argc, argv, opts, pos, argc, &npos, 0, NULL, &status)) {
    free(pos);
    return status;
  }
  if (npos == 0) {
    free(pos);
    return tool_usage(cmd, "needs at least one NAME");
  }
  for (int i = 0; i < npos; i++) {
    const char *base;
    unsigned flags;
    if (tool_check_name(pos[i], &base, &flags) != 0) {
      status = tool_usage(cmd, "bad name '%s'", pos[i]);
      free(pos);
      return status;
    }
  }
  if (json) fputs("{\"removed\":[", stdout);
  for (int i = 0; i < npos; i++) {
    const char *base;
    unsigned flags;
    int err;
    tool_check_name(pos[i], &base, &flags);
    if ((err = shmkit_region_remove(base)) != 0) {
      tool_fail(cmd, err, "%s", pos[i]);
      failed = 1;
    } else if (json) {
      if (!first) putchar(',');
      first = 0;
      json_str(pos[i]);
    }
  }
  if (json) puts("]}");
  free(pos);
  return failed ? TOOL_FAIL : TOOL_OK;
}

/* Checks [offset, offset + length) against the region; prints the error. */
static int in_range(const tool_cmd *cmd, const char *name, uint64_t size,
                    uint64_t offset, uint64_t length) {
  if (offset > size)
    return tool_fail(cmd, SHMKIT_ERANGE,
                     "%s: offset %llu is past the end (size %llu bytes)", name,
                     (unsigned long long)offset, (unsigned long long)size);
  if (length > size - offset)
    return tool_fail(cmd, SHMKIT_ERANGE,
                     "%s: offset %llu + length %llu runs past the end (size "
                     "%llu bytes)",
                     name, (unsigned long long)offset,
                     (unsigned long long)length, (unsigned long long)size);
  return TOOL_OK;
}

static void hex_line(uint64_t at, const unsigned char *p, size_t n) {
  printf("%08llx ", (unsigned long long)at);
  for (size_t i = 0; i < 16; i++) {
    if (i == 8) putchar(' ');
    if (i < n)
      printf(" %02x", p[i]);
    else
      fputs("   ", stdout);
  }
  fputs("  |", stdout);
  for (size_t i = 0; i < n; i++)
    putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
  puts("|");
}

int cmd_cat(const tool_cmd *cmd, int argc, char **argv) {
  const char *pos[1], *off_s = NULL, *len_s = NULL;
  int npos, status, hex = 0, json = 0, failed;
  const tool_opt opts[] = {{"--offset", &off_s, NULL},
                           {"--length", &len_s, NULL},
                           {"--hex", NULL, &hex},
                           {"--json", NULL, &json},
                           {NULL, NULL, NULL}};
  uint64_t offset = 0, length, size;
  volatile uint64_t done = 0; /* read after a SIGBUS */
  shmkit_region *r;

  if (tool_parse(cmd, argc, argv, opts, pos, 1, &npos, 0, NULL, &status))
    return status;
  if (npos < 1) return tool_usage(cmd, "needs a NAME");
  if (off_s && tool_parse_size(off_s, &offset) != 0)
    return tool_usage(cmd, "bad offset '%s'", off_s);
  if (len_s && tool_parse_size(len_s, &length) != 0)
    return tool_usage(cmd, "bad length '%s'", len_s);
  if ((status = open_named(cmd, pos[0], SHMKIT_READ_ONLY, &r)) != 0)
    return status;
  size = shmkit_region_size(r);
  if (!len_s) length = offset <= size ? size - offset : 0;
  if ((status = in_range(cmd, pos[0], size, offset, length)) != 0) {
    shmkit_region_close(r);
    return status;
  }
#ifdef _WIN32
  if (!hex && !json) _setmode(_fileno(stdout), _O_BINARY);
#endif
  if (json) {
    int first = 1;
    putchar('{');
    json_key("name", &first);
    json_str(pos[0]);
    json_key("size", &first);
    printf("%llu", (unsigned long long)size);
    json_key("offset", &first);
    printf("%llu", (unsigned long long)offset);
    json_key("length", &first);
    printf("%llu", (unsigned long long)length);
    json_key("hex", &first);
    putchar('"');
  }
  GUARD_BEGIN(failed)
  while (!failed && done < length) {
    size_t n = length - done > WINDOW ? WINDOW : (size_t)(length - done);
    shmkit_view *v;
    const unsigned char *p;
    int err = shmkit_view_map(&v, r, offset + done, n, SHMKIT_READ_ONLY);
    if (err != 0) {
      GUARD_END();
      shmkit_region_close(r);
      if (json) puts("\"}");
      return tool_fail(cmd, err, "%s: map at %llu", pos[0],
                       (unsigned long long)(offset + done));
    }
    p = shmkit_view_data(v);
    if (json) {
      for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    } else if (hex) {
      for (size_t i = 0; i < n; i += 16)
        hex_line(offset + done + i, p + i, n - i < 16 ? n - i : 16);
    } else if (fwrite(p, 1, n, stdout) != n) {
      failed = 2;
    }
    shmkit_view_unmap(v);
    done += n;
  }
  GUARD_END();
  shmkit_region_close(r);
  if (json) puts("\"}");
  if (fflush(stdout) != 0 && !failed) failed = 2;
  if (failed == 1)
    return tool_fail(cmd, 0, "%s: the region shrank while it was read", pos[0]);
  if (failed == 2) return tool_fail(cmd, 0, "writing the output failed");
  return TOOL_OK;
}

int cmd_write(const tool_cmd *cmd, int argc, char **argv) {
  const char *pos[1], *off_s = NULL;
  int npos, status, json = 0, failed;
  volatile int more = 0;
  const tool_opt opts[] = {
      {"--offset", &off_s, NULL}, {"--json", NULL, &json}, {NULL, NULL, NULL}};
  uint64_t offset = 0, size;
  volatile uint64_t done = 0; /* read after a SIGBUS */
  shmkit_region *r;

  if (tool_parse(cmd, argc, argv, opts, pos, 1, &npos, 0, NULL, &status))
    return status;
  if (npos < 1) return tool_usage(cmd, "needs a NAME");
  if (off_s && tool_parse_size(off_s, &offset) != 0)
    return tool_usage(cmd, "bad offset '%s'", off_s);
  if ((status = open_named(cmd, pos[0], SHMKIT_READ_WRITE, &r)) != 0)
    return status;
  size = shmkit_region_size(r);
  if ((status = in_range(cmd, pos[0], size, offset, 0)) != 0) {
    shmkit_region_close(r);
    return status;
  }
#ifdef _WIN32
  _setmode(_fileno(stdin), _O_BINARY);
#else
  {
    /* Input of a known length is checked before anything is written. */
    struct stat st;
    if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
      long pos_now = ftell(stdin);
      uint64_t left =
          (uint64_t)st.st_size - (pos_now > 0 ? (uint64_t)pos_now : 0);
      if (in_range(cmd, pos[0], size, offset, left) != 0) {
        shmkit_region_close(r);
        return TOOL_FAIL;
      }
    }
  }
#endif
  GUARD_BEGIN(failed)
  while (!failed && offset + done < size) {
    uint64_t left = size - offset - done;
    size_t n = left > WINDOW ? WINDOW : (size_t)left, got;
    shmkit_view *v;
    int err = shmkit_view_map(&v, r, offset + done, n, SHMKIT_READ_WRITE);
    if (err != 0) {
      GUARD_END();
      shmkit_region_close(r);
      return tool_fail(cmd, err, "%s: map at %llu", pos[0],
                       (unsigned long long)(offset + done));
    }
    got = fread(shmkit_view_data(v), 1, n, stdin);
    shmkit_view_unmap(v);
    done += got;
    if (got < n) break;
  }
  GUARD_END();
  if (!failed && ferror(stdin)) failed = 2;
  /* Full: one more byte of input means it did not fit. */
  if (!failed && offset + done == size && fgetc(stdin) != EOF) more = 1;
  shmkit_region_close(r);
  if (failed == 1)
    return tool_fail(cmd, 0, "%s: the region shrank while it was written",
                     pos[0]);
  if (failed == 2) return tool_fail(cmd, 0, "reading the input failed");
  if (more)
    return tool_fail(cmd, SHMKIT_ERANGE,
                     "%s: the input runs past the end (size %llu bytes): "
                     "the first %llu bytes were written at offset %llu, the "
                     "rest was not",
                     pos[0], (unsigned long long)size, (unsigned long long)done,
                     (unsigned long long)offset);
  if (json) {
    int first = 1;
    putchar('{');
    json_key("name", &first);
    json_str(pos[0]);
    json_key("offset", &first);
    printf("%llu", (unsigned long long)offset);
    json_key("written", &first);
    printf("%llu", (unsigned long long)done);
    puts("}");
  }
  return TOOL_OK;
}
