/* shmkit create, rm, cat, write: named regions through the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <fcntl.h>
#  include <io.h>
#else
#  include <sys/stat.h>
#endif

#include "tool.h"

/* Opens NAME (the tool's spelling) with `access`; bad names are bad usage. */
static int open_named(const tool_cmd *cmd, const char *arg, int access,
                      shmkit_region **r) {
  const char *base;
  unsigned flags;
  int err, status;

  if ((status = tool_name_arg(cmd, arg, &base, &flags)) != TOOL_OK)
    return status;
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
  if ((status = tool_name_arg(cmd, pos[0], &base, &flags)) != TOOL_OK)
    return status;
  if ((status = tool_size_arg(cmd, "size", pos[1], 1, &size)) != TOOL_OK)
    return status;
  err = shmkit_region_create_named(&r, base, size,
                                   (sparse ? SHMKIT_SPARSE : 0) | flags);
  if (err != 0) return tool_fail(cmd, err, "%s", pos[0]);
  if (json) {
    int first = 1;
    putchar('{');
    json_field_str("name", pos[0], &first);
    json_field_u64("size", shmkit_region_size(r), &first);
    json_field_bool("sparse", sparse, &first);
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
    if ((status = tool_name_arg(cmd, pos[i], &base, &flags)) != TOOL_OK) {
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

/* What cat and write share: the arguments, the region, open, and the
 * range of it they work on, checked. */
typedef struct range {
  const char *name, *off_s, *len_s;
  int json;
  shmkit_region *r;
  uint64_t size, offset, length;
} range;

/* Parses the arguments against opts (which point into *x), opens the
 * region and checks the range (without --length: from the offset to the
 * end). Returns 0 to go on, or -1 with *status the exit status (after
 * --help too, with TOOL_OK). */
static int range_open(const tool_cmd *cmd, int argc, char **argv,
                      const tool_opt *opts, int access, range *x, int *status) {
  int npos;

  if (tool_parse(cmd, argc, argv, opts, &x->name, 1, &npos, 0, NULL, status))
    return -1;
  *status = npos < 1 ? tool_usage(cmd, "needs a NAME") : TOOL_OK;
  if (*status == TOOL_OK && x->off_s)
    *status = tool_size_arg(cmd, "offset", x->off_s, 0, &x->offset);
  if (*status == TOOL_OK && x->len_s)
    *status = tool_size_arg(cmd, "length", x->len_s, 0, &x->length);
  if (*status == TOOL_OK) *status = open_named(cmd, x->name, access, &x->r);
  if (*status != TOOL_OK) return -1;
  x->size = shmkit_region_size(x->r);
  if (!x->len_s) x->length = x->offset <= x->size ? x->size - x->offset : 0;
  *status = in_range(cmd, x->name, x->size, x->offset, x->length);
  if (*status == TOOL_OK) return 0;
  shmkit_region_close(x->r);
  return -1;
}

/* The fields cat's and write's JSON begin with; the object stays open. */
static void range_json(const range *x, const char *count_key, uint64_t count,
                       int *first) {
  putchar('{');
  json_field_str("name", x->name, first);
  json_field_u64("size", x->size, first);
  json_field_u64("offset", x->offset, first);
  json_field_u64(count_key, count, first);
}

/* A failure in the middle of a walk (tool_walk()'s result, not 0). */
static int walk_failed(const tool_cmd *cmd, const range *x, int err,
                       uint64_t done, const char *doing) {
  if (err == TOOL_SHRANK)
    return tool_fail(cmd, 0, "%s: the region shrank while it was %s", x->name,
                     doing);
  return tool_fail(cmd, err, "%s: map at %llu", x->name,
                   (unsigned long long)(x->offset + done));
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

/* How cat prints a window. */
enum { AS_BYTES, AS_HEX, AS_JSON };

static size_t put_window(void *ctx, unsigned char *p, size_t n, uint64_t at) {
  switch (*(const int *)ctx) {
  case AS_JSON:
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    return n;
  case AS_HEX:
    for (size_t i = 0; i < n; i += 16)
      hex_line(at + i, p + i, n - i < 16 ? n - i : 16);
    return n;
  default:
    return fwrite(p, 1, n, stdout);
  }
}

int cmd_cat(const tool_cmd *cmd, int argc, char **argv) {
  range x = {0};
  int status, hex = 0, err, as;
  const tool_opt opts[] = {{"--offset", &x.off_s, NULL},
                           {"--length", &x.len_s, NULL},
                           {"--hex", NULL, &hex},
                           {"--json", NULL, &x.json},
                           {NULL, NULL, NULL}};
  uint64_t done;

  if (range_open(cmd, argc, argv, opts, SHMKIT_READ_ONLY, &x, &status) != 0)
    return status;
  as = x.json ? AS_JSON : hex ? AS_HEX : AS_BYTES;
#ifdef _WIN32
  if (as == AS_BYTES) _setmode(_fileno(stdout), _O_BINARY);
#endif
  if (x.json) {
    int first = 1;
    range_json(&x, "length", x.length, &first);
    json_key("hex", &first);
    putchar('"');
  }
  err = tool_walk(x.r, x.offset, x.length, SHMKIT_READ_ONLY, put_window, &as,
                  &done);
  shmkit_region_close(x.r);
  if (x.json) puts("\"}");
  if (err != 0) return walk_failed(cmd, &x, err, done, "read");
  if (done < x.length || fflush(stdout) != 0)
    return tool_fail(cmd, 0, "writing the output failed");
  return TOOL_OK;
}

static size_t get_window(void *ctx, unsigned char *p, size_t n, uint64_t at) {
  (void)ctx, (void)at;
  return fread(p, 1, n, stdin);
}

int cmd_write(const tool_cmd *cmd, int argc, char **argv) {
  range x = {0};
  int status, err;
  const tool_opt opts[] = {{"--offset", &x.off_s, NULL},
                           {"--json", NULL, &x.json},
                           {NULL, NULL, NULL}};
  uint64_t done;

  /* No --length: from the offset to the end, the most that can be
   * written. */
  if (range_open(cmd, argc, argv, opts, SHMKIT_READ_WRITE, &x, &status) != 0)
    return status;
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
      if (in_range(cmd, x.name, x.size, x.offset, left) != 0) {
        shmkit_region_close(x.r);
        return TOOL_FAIL;
      }
    }
  }
#endif
  err = tool_walk(x.r, x.offset, x.length, SHMKIT_READ_WRITE, get_window, NULL,
                  &done);
  shmkit_region_close(x.r);
  if (err != 0) return walk_failed(cmd, &x, err, done, "written");
  if (ferror(stdin)) return tool_fail(cmd, 0, "reading the input failed");
  /* Full: one more byte of input means it did not fit. */
  if (done == x.length && fgetc(stdin) != EOF)
    return tool_fail(cmd, SHMKIT_ERANGE,
                     "%s: the input runs past the end (size %llu bytes): "
                     "the first %llu bytes were written at offset %llu, the "
                     "rest was not",
                     x.name, (unsigned long long)x.size,
                     (unsigned long long)done, (unsigned long long)x.offset);
  if (x.json) {
    int first = 1;
    range_json(&x, "written", done, &first);
    puts("}");
  }
  return TOOL_OK;
}
