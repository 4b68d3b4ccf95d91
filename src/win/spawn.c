/* Windows processes: CreateProcessW with a writable command line built from
 * argv, a STARTUPINFOEXW that starts from GetStartupInfoW, and
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST so that the child inherits exactly the
 * listed handles, not every inheritable one. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>
#include <wchar.h>

#include "win.h"
#include "sys.h"

#ifndef STARTF_USEMONITOR
#  define STARTF_USEMONITOR 0x400 /* shares hStdOutput with the monitor */
#endif
#ifndef STARTF_TITLEISAPPID
#  define STARTF_TITLEISAPPID 0x1000
#endif

int shmkit__os_environ(char ***out) {
  wchar_t *block = sys_GetEnvironmentStringsW(), *p;
  size_t n = 0, i = 0;
  char **env;

  if (block == NULL) return SHMKIT_ENOMEM;
  for (p = block; *p != L'\0'; p += wcslen(p) + 1) n++;
  if ((env = calloc(n + 1, sizeof(*env))) == NULL) {
    FreeEnvironmentStringsW(block);
    return SHMKIT_ENOMEM;
  }
  for (p = block; *p != L'\0'; p += wcslen(p) + 1) {
    /* "=C:=C:\dir": cmd.exe's drive directories, which a caller cannot
     * give either; and what is not NAME=value, which no block carries. */
    if (*p == L'=' || wcschr(p, L'=') == NULL) continue;
    if ((env[i] = shmkit__utf8(p)) == NULL) {
      shmkit__os_environ_free(env);
      FreeEnvironmentStringsW(block);
      return SHMKIT_ENOMEM;
    }
    i++;
  }
  FreeEnvironmentStringsW(block);
  *out = env;
  return 0;
}

void shmkit__os_environ_free(char **env) {
  if (env == NULL) return;
  for (size_t i = 0; env[i] != NULL; i++) free(env[i]);
  free(env);
}

/* The name's UTF-16 length, or 0 where it is not all ASCII. */
static size_t ascii_len(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return 0;
  return n;
}

static char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* A name (not NUL-terminated) in UTF-16, and its length. */
static int wide_name(const char *s, size_t n, wchar_t **out, int *len) {
  if (n > INT_MAX) return SHMKIT_E2BIG;
  *len = sys_MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, NULL,
                                 0);
  if (*len <= 0 || (*out = malloc((size_t)*len * sizeof(**out))) == NULL)
    return *len <= 0 ? SHMKIT_EINVAL : SHMKIT_ENOMEM;
  if (sys_MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, *out,
                              *len) != *len) {
    free(*out);
    return SHMKIT_EINVAL;
  }
  return 0;
}

/* Windows matches environment names ignoring case, code unit by code unit
 * through its upper-case table: CompareStringOrdinal ignoring case does
 * the same, beyond ASCII too. ASCII names need no conversion. */
int shmkit__os_env_same_name(const char *a, size_t na, const char *b,
                             size_t nb) {
  wchar_t *wa, *wb;
  int la, lb, err, same;

  if (ascii_len(a, na) == na && ascii_len(b, nb) == nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
      if (ascii_upper(a[i]) != ascii_upper(b[i])) return 0;
    return 1;
  }
  if (na == 0 || nb == 0) return na == nb;
  if ((err = wide_name(a, na, &wa, &la)) != 0) return err;
  if ((err = wide_name(b, nb, &wb, &lb)) != 0) {
    free(wa);
    return err;
  }
  same = CompareStringOrdinal(wa, la, wb, lb, TRUE) == CSTR_EQUAL;
  free(wa);
  free(wb);
  return same;
}

/* ---- the command line */

/* Appends one argument so that CommandLineToArgvW and the C runtime give it
 * back unchanged: quoted if empty or if it has white space or quotes; inside
 * quotes, backslashes are doubled only where a quote follows them. */
static size_t quote(wchar_t *out, const wchar_t *arg) {
  size_t n = 0, slashes;
  int plain = arg[0] != L'\0' && wcspbrk(arg, L" \t\n\v\"") == NULL;

  if (plain) {
    size_t len = wcslen(arg);
    if (out != NULL) memcpy(out, arg, len * sizeof(*out));
    return len;
  }
#define PUT(c)                                                                 \
  do {                                                                         \
    if (out != NULL) out[n] = (c);                                             \
    n++;                                                                       \
  } while (0)
  PUT(L'"');
  for (const wchar_t *p = arg;; p++) {
    for (slashes = 0; *p == L'\\'; p++) slashes++;
    if (*p == L'\0') {
      for (size_t k = 0; k < 2 * slashes; k++) PUT(L'\\');
      break;
    }
    if (*p == L'"') {
      for (size_t k = 0; k < 2 * slashes + 1; k++) PUT(L'\\');
    } else {
      for (size_t k = 0; k < slashes; k++) PUT(L'\\');
    }
    PUT(*p);
  }
  PUT(L'"');
#undef PUT
  return n;
}

/* The program name, argv[0], is read by another rule (CommandLineToArgvW
 * and the C runtime alike): in quotes it runs to the next quote, with no
 * escapes; otherwise to the first space or tab. So it is quoted when it has
 * white space or is empty, and its backslashes go as they are; a quote in
 * it cannot be carried at all (the caller refuses it). */
static size_t quote_program(wchar_t *out, const wchar_t *arg) {
  size_t len = wcslen(arg);
  int plain = len != 0 && wcspbrk(arg, L" \t\n\v") == NULL;

  if (out != NULL) {
    if (!plain) *out++ = L'"';
    memcpy(out, arg, len * sizeof(*out));
    if (!plain) out[len] = L'"';
  }
  return plain ? len : len + 2;
}

/* Windows runs a .bat or .cmd program through cmd.exe, which reads the
 * command line by rules of its own: it does not undo the quoting above,
 * expands %VARIABLES% even inside quotes (and !VARIABLES! where delayed
 * expansion is on), and ends the command at a line break, so an argument
 * such as "&echo INJECTED>file&rem  runs a command. Inside double quotes it
 * takes & | < > ( ) ^ , ; = and spaces literally. So for such a program
 * every argument is put in double quotes, and one with a character that no
 * quoting protects is refused. Backslashes before the closing quote are
 * doubled, as above, for a program the script passes its arguments on to. */
static const wchar_t batch_unsafe[] = L"\"%!\r\n";

static size_t quote_batch(wchar_t *out, const wchar_t *arg) {
  size_t len = wcslen(arg), slashes = 0, n = 0;

  while (slashes < len && arg[len - 1 - slashes] == L'\\') slashes++;
  if (out != NULL) {
    out[n++] = L'"';
    memcpy(out + n, arg, len * sizeof(*out));
    n += len;
    for (size_t k = 0; k < slashes; k++) out[n++] = L'\\';
    out[n++] = L'"';
  }
  return len + slashes + 2;
}

/* 1 if `app` names a batch file: its extension, once the trailing dots and
 * spaces Windows ignores in a file name are gone, is .bat or .cmd. */
static int is_batch(const wchar_t *app) {
  size_t n = wcslen(app);

  while (n > 0 && (app[n - 1] == L'.' || app[n - 1] == L' ')) n--;
  return n >= 4 && app[n - 4] == L'.' &&
         (_wcsnicmp(app + n - 3, L"bat", 3) == 0 ||
          _wcsnicmp(app + n - 3, L"cmd", 3) == 0);
}

/* CreateProcessW documents its command line as at most 32,767 characters
 * (UTF-16 units) with the terminating NUL. Longer, Wine 8 truncates it
 * without an error and the child gets other arguments than these: refuse
 * it here, before anything starts. */
#define COMMAND_LINE_MAX 32767

/* One argument as the command line carries it: for a batch file by
 * cmd.exe's rules, else argv[0] by the program name's and the rest by
 * CommandLineToArgvW's. */
static size_t quote_any(wchar_t *out, const wchar_t *arg, int batch, size_t i) {
  if (batch) return quote_batch(out, arg);
  return i == 0 ? quote_program(out, arg) : quote(out, arg);
}

/* A new, writable command line (CreateProcessW may write into it), for a
 * batch file (cmd.exe's rules) or any other program. */
static int command_line(char *const *argv, int batch, wchar_t **out) {
  size_t total = 1, n = 0; /* the NUL */
  wchar_t *line;
  int err = 0;

  for (size_t i = 0; argv[i] != NULL; i++) {
    wchar_t *w = shmkit__utf16(argv[i], &err);
    if (w == NULL) return err;
    if ((batch && wcspbrk(w, batch_unsafe) != NULL) ||
        (i == 0 && wcschr(w, L'"') != NULL)) {
      free(w);
      return SHMKIT_EINVAL;
    }
    /* the space before, the argument */
    total += (i > 0) + quote_any(NULL, w, batch, i);
    free(w);
    if (total > COMMAND_LINE_MAX) return SHMKIT_E2BIG;
  }
  if ((line = malloc(total * sizeof(*line))) == NULL) return SHMKIT_ENOMEM;
  for (size_t i = 0; argv[i] != NULL; i++) {
    wchar_t *w = shmkit__utf16(argv[i], &err);
    if (w == NULL) {
      free(line);
      return err;
    }
    if (i > 0) line[n++] = L' ';
    n += quote_any(line + n, w, batch, i);
    free(w);
  }
  line[n] = L'\0';
  *out = line;
  return 0;
}

/* ---- the environment block, as CreateProcessW documents it: sorted by
 * name, ignoring case, code unit by code unit; one entry per name */

typedef struct env_entry {
  const wchar_t *text; /* NAME=value */
  int name;            /* NAME's length */
  size_t index;        /* its place in envp: the later of one name counts */
} env_entry;

/* CompareStringOrdinal only compares memory: with valid strings and
 * lengths it cannot fail, so it is not in the fault table (sys.h). */
static int compare_names(const env_entry *x, const env_entry *y) {
  return CompareStringOrdinal(x->text, x->name, y->text, y->name, TRUE) -
         CSTR_EQUAL;
}

static int compare_entries(const void *a, const void *b) {
  const env_entry *x = a, *y = b;
  int c = compare_names(x, y);

  if (c != 0) return c;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int environment_block(char *const *envp, wchar_t **out) {
  size_t n = 0, total = 1, at = 0;
  env_entry *e;
  wchar_t *block = NULL;
  int err = 0;

  while (envp[n] != NULL) n++;
  if ((e = calloc(n + 1, sizeof(*e))) == NULL) return SHMKIT_ENOMEM;
  for (size_t i = 0; i < n && err == 0; i++) {
    wchar_t *w = shmkit__utf16(envp[i], &err), *eq;
    if (w == NULL) break;
    e[i].text = w;
    e[i].index = i;
    /* An empty string would end the block early; a name must be there, and
     * the '=' that ends it (a name the system sees starting with '=' is
     * cmd.exe's, and refused before here). */
    if ((eq = wcschr(w, L'=')) == NULL || eq == w || eq - w > INT_MAX)
      err = SHMKIT_EINVAL;
    else
      e[i].name = (int)(eq - w);
    total += wcslen(w) + 1;
  }
  if (err == 0) {
    qsort(e, n, sizeof(*e), compare_entries);
    if ((block = malloc((total + 1) * sizeof(*block))) == NULL)
      err = SHMKIT_ENOMEM;
  }
  if (err == 0) {
    for (size_t i = 0; i < n; i++) {
      size_t len = wcslen(e[i].text) + 1;
      if (i + 1 < n && compare_names(&e[i], &e[i + 1]) == 0) continue;
      memcpy(block + at, e[i].text, len * sizeof(*block));
      at += len;
    }
    block[at++] = L'\0';
    if (at == 1) block[at++] = L'\0'; /* no entry: two NULs all the same */
    *out = block;
  }
  for (size_t i = 0; i < n; i++) free((wchar_t *)e[i].text);
  free(e);
  return err;
}

/* ---- spawning */

/* The program to run: found on PATH (with .exe added) or taken as it is. */
static int application(const shmkit__spawn *s, wchar_t **out) {
  wchar_t *file, *found;
  DWORD n;
  int err;

  if ((file = shmkit__utf16(s->file, &err)) == NULL) return err;
  if (!(s->flags & SHMKIT_SPAWN_SEARCH_PATH)) {
    *out = file;
    return 0;
  }
  n = sys_SearchPathW(NULL, file, L".exe", 0, NULL, NULL);
  if (n == 0 || (found = malloc(n * sizeof(*found))) == NULL) {
    free(file);
    return n == 0 ? SHMKIT_ENOENT : SHMKIT_ENOMEM;
  }
  if (sys_SearchPathW(NULL, file, L".exe", n, found, NULL) == 0) {
    free(found);
    free(file);
    return SHMKIT_ENOENT;
  }
  free(file);
  *out = found;
  return 0;
}

static int spawn_error(DWORD e) {
  switch (e) {
  case ERROR_DIRECTORY: /* the working directory */
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
    return SHMKIT_ENOENT;
  case ERROR_ACCESS_DENIED:
    return SHMKIT_EACCES;
  default:
    return shmkit__win_error(e);
  }
}

int shmkit__os_spawn(const shmkit__spawn *s, int64_t *pid,
                     shmkit_handle *proc) {
  static const DWORD std_ids[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                   STD_ERROR_HANDLE};
  HANDLE self = GetCurrentProcess(), std[3] = {NULL, NULL, NULL};
  HANDLE *list = NULL;
  size_t count = 0;
  wchar_t *app = NULL, *line = NULL, *env = NULL, *cwd = NULL;
  STARTUPINFOEXW si;
  PROCESS_INFORMATION pi;
  SIZE_T attr_size = 0;
  int err, made_inheritable = 0;
  DWORD e = 0;

  memset(&si, 0, sizeof(si));
  if ((err = application(s, &app)) != 0 ||
      (err = command_line(s->argv, is_batch(app), &line)) != 0 ||
      (err = environment_block(s->envp, &env)) != 0)
    goto done;
  if (s->cwd != NULL && (cwd = shmkit__utf16(s->cwd, &err)) == NULL) goto done;
  if ((list = calloc(s->handle_count + 3, sizeof(*list))) == NULL) {
    err = SHMKIT_ENOMEM;
    goto done;
  }

  /* Start from our own STARTUPINFO, cb set first. What it says of our
   * standard handles and of the C runtime's inherited descriptors
   * (lpReserved2) is not the child's business: the child gets fresh
   * inheritable copies of our standard handles instead. */
  si.StartupInfo.cb = sizeof(si.StartupInfo);
  GetStartupInfoW(&si.StartupInfo);
  si.StartupInfo.cb = sizeof(si);
  si.StartupInfo.lpReserved = NULL;
  si.StartupInfo.lpReserved2 = NULL;
  si.StartupInfo.cbReserved2 = 0;
  /* Hot key and monitor reuse the standard handle fields, and the title
   * flags describe our shortcut, not the child's. */
  si.StartupInfo.dwFlags &=
      ~(DWORD)(STARTF_USEHOTKEY | STARTF_USEMONITOR | STARTF_TITLEISLINKNAME |
               STARTF_TITLEISAPPID);
  si.StartupInfo.dwFlags |= STARTF_USESTDHANDLES;
  for (int i = 0; i < 3; i++) {
    HANDLE h = GetStdHandle(std_ids[i]);
    if (h != NULL && h != INVALID_HANDLE_VALUE &&
        sys_DuplicateHandle(self, h, self, &std[i], 0, TRUE,
                            DUPLICATE_SAME_ACCESS))
      list[count++] = std[i];
  }
  si.StartupInfo.hStdInput = std[0];
  si.StartupInfo.hStdOutput = std[1];
  si.StartupInfo.hStdError = std[2];

  /* The listed handles are inheritable only for this call: the handle list
   * requires it, and no other child started meanwhile may get them. */
  for (size_t i = 0; i < s->handle_count; i++) {
    HANDLE h = (HANDLE)s->handles[i];
    if (!sys_SetHandleInformation(h, HANDLE_FLAG_INHERIT,
                                  HANDLE_FLAG_INHERIT)) {
      err = shmkit__win_last_error();
      goto restore;
    }
    made_inheritable = (int)i + 1;
    list[count++] = h;
  }

  if (count != 0) {
    sys_InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
    si.lpAttributeList = malloc(attr_size);
    if (si.lpAttributeList == NULL ||
        !sys_InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0,
                                               &attr_size)) {
      err =
          si.lpAttributeList == NULL ? SHMKIT_ENOMEM : shmkit__win_last_error();
      free(si.lpAttributeList);
      si.lpAttributeList = NULL;
      goto restore;
    }
    if (!sys_UpdateProcThreadAttribute(si.lpAttributeList, 0,
                                       PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                       count * sizeof(*list), NULL, NULL)) {
      err = shmkit__win_last_error();
      goto restore;
    }
  }
  if (!sys_CreateProcessW(app, line, NULL, NULL, count != 0,
                          CREATE_UNICODE_ENVIRONMENT |
                              EXTENDED_STARTUPINFO_PRESENT,
                          env, cwd, &si.StartupInfo, &pi)) {
    e = GetLastError();
    err = spawn_error(e);
    goto restore;
  }
  CloseHandle(pi.hThread);
  *pid = pi.dwProcessId;
  *proc = (shmkit_handle)pi.hProcess;

restore:
  for (int i = 0; i < made_inheritable; i++)
    sys_SetHandleInformation((HANDLE)s->handles[i], HANDLE_FLAG_INHERIT, 0);
  if (si.lpAttributeList != NULL) {
    DeleteProcThreadAttributeList(si.lpAttributeList);
    free(si.lpAttributeList);
  }
  for (int i = 0; i < 3; i++)
    if (std[i] != NULL) CloseHandle(std[i]);
done:
  free(list);
  free(app);
  free(line);
  free(env);
  free(cwd);
  return err;
}

int shmkit__os_wait(int64_t pid, shmkit_handle proc, int timeout_ms,
                    int *exit_code, int *term_signal) {
  DWORD code;

  (void)pid;
  switch (sys_WaitForSingleObject(
      (HANDLE)proc, timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms)) {
  case WAIT_OBJECT_0:
    break;
  case WAIT_TIMEOUT:
    return SHMKIT_ETIMEDOUT;
  default:
    return shmkit__win_last_error();
  }
  if (!sys_GetExitCodeProcess((HANDLE)proc, &code))
    return shmkit__win_last_error();
  *exit_code = (int)code;
  *term_signal = 0; /* no signals on Windows */
  return 0;
}

/* The public limit is what one WaitForMultipleObjects takes. */
_Static_assert(SHMKIT_WAIT_ANY_MAX <= MAXIMUM_WAIT_OBJECTS,
               "one wait for all of shmkit_process_wait_any's processes");

int shmkit__os_wait_any(const int64_t *pids, const shmkit_handle *procs,
                        size_t count, int timeout_ms, size_t *which) {
  HANDLE handles[SHMKIT_WAIT_ANY_MAX];
  DWORD r;

  (void)pids;
  for (size_t i = 0; i < count; i++) handles[i] = (HANDLE)procs[i];
  r = sys_WaitForMultipleObjects((DWORD)count, handles, FALSE,
                                 timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
  if (r == WAIT_TIMEOUT) return SHMKIT_ETIMEDOUT;
  if (r >= WAIT_OBJECT_0 + count) return shmkit__win_last_error();
  *which = r - WAIT_OBJECT_0;
  return 0;
}

int shmkit__os_kill(int64_t pid, shmkit_handle proc) {
  (void)pid;
  if (sys_TerminateProcess((HANDLE)proc, 1)) return 0;
  /* Access denied once it has exited: that is not an error here. */
  if (sys_WaitForSingleObject((HANDLE)proc, 0) == WAIT_OBJECT_0) return 0;
  return shmkit__win_last_error();
}

void shmkit__os_process_close(shmkit_handle proc) {
  if (proc != SHMKIT_INVALID_HANDLE) CloseHandle((HANDLE)proc);
}
