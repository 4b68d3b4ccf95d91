/* Windows hardening of what crosses a process boundary: sections whose
 * pages are not memory yet, and endpoints that another process names
 * first. What a Wine pass cannot show of these is said at each test and in
 * the README. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>

#include "task.h"

/* ---- sections made with SEC_RESERVE */

/* A paging-file section made with SEC_RESERVE, as another program may hand
 * one over: its pages are reserved, not committed. */
static HANDLE reserved_section(DWORD size) {
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
                                PAGE_READWRITE | SEC_RESERVE, 0, size, NULL);
  if (h == NULL) FAIL("CreateFileMappingW: %lu", (unsigned long)GetLastError());
  return h;
}

static HANDLE dup_access(HANDLE h, DWORD access, BOOL inherit) {
  HANDLE self = GetCurrentProcess(), out;
  if (!DuplicateHandle(self, h, self, &out, access, inherit, 0))
    FAIL("DuplicateHandle: %lu", (unsigned long)GetLastError());
  return out;
}

/* Every way in (adopt, token, pull) refuses a SEC_RESERVE section with
 * SHMKIT_ENOTSHM, with SECTION_QUERY (the attribute says it) and without
 * (the pages say it), and leaves the handle to the caller. On Windows a
 * view's first read of such a page is an access violation; Wine commits the
 * page on touch instead, so the fault this prevents is not shown here, only
 * the refusal (README: what a Wine pass cannot prove). */
TEST_IMPL(adopt_refuses_reserved_win) {
  shmkit_region *r = (shmkit_region *)&r;
  HANDLE h = reserved_section(65536), ro, c;
  char token[64];
  DWORD flags;

  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)h, SHMKIT_READ_WRITE),
             SHMKIT_ENOTSHM);
  ASSERT(GetHandleInformation(h, &flags));

  /* The classic read-only hand-over: FILE_MAP_READ alone, no query. */
  ro = dup_access(h, FILE_MAP_READ, TRUE);
  ASSERT_ERR(shmkit_region_adopt(&r, (shmkit_handle)ro, SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  snprintf(token, sizeof(token), "shmkit1:%llu:65536:r",
           (unsigned long long)(uintptr_t)ro);
  ASSERT_ERR(shmkit_region_from_token(&r, token), SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  ASSERT(GetHandleInformation(ro, &flags));
  snprintf(token, sizeof(token), "shmkit1:%llu:65536:r",
           (unsigned long long)(uintptr_t)h);
  ASSERT_ERR(shmkit_region_from_token(&r, token), SHMKIT_ENOTSHM);
  /* Pulled out of a process (this one: the same check). */
  ASSERT_ERR(shmkit_region_pull(&r, test_self_pid(), (shmkit_handle)h,
                                SHMKIT_READ_ONLY),
             SHMKIT_ENOTSHM);
  ASSERT_NULL(r);
  CloseHandle(ro);

  CloseHandle(h);

  /* A committed section (the default, SEC_COMMIT) is taken both ways. */
  c = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 65536,
                         NULL);
  ASSERT(c != NULL);
  ro = dup_access(c, FILE_MAP_READ, FALSE);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)ro, SHMKIT_READ_ONLY));
  shmkit_region_close(r);
  ASSERT_OK(shmkit_region_adopt(&r, (shmkit_handle)c, SHMKIT_READ_WRITE));
  shmkit_region_close(r);
  return 0;
}

/* ---- endpoints another process names first */

/* A named event "Local\<name>.<what>" for a test and its child to meet. */
static HANDLE meet(const char *name, const char *what) {
  wchar_t w[96];
  HANDLE h;

  _snwprintf(w, 96, L"Local\\%hs.%hs", name, what);
  w[95] = L'\0';
  h = CreateEventW(NULL, TRUE, FALSE, w);
  if (h == NULL) FAIL("CreateEventW: %lu", (unsigned long)GetLastError());
  return h;
}

/* The pipe shmkit's endpoint `name` uses, made with the plain call, as a
 * process of this user that is not shmkit's listener would make it. Says
 * "ready", then takes one client if one comes before "done", reads what it
 * sends, and exits with 0 (no client), 1 (a client that sent nothing) or 2
 * (a client that sent bytes). */
CHILD_IMPL(pipe_squatter) {
  char user[256];
  wchar_t path[512];
  char buf[256];
  HANDLE ready, done, pipe, w[2];
  OVERLAPPED io;
  DWORD n = 0, e;
  int connected = 0;

  if (argc < 1) return 9;
  test_self_user(user, sizeof(user));
  _snwprintf(path, 512, L"\\\\.\\pipe\\shmkit.%hs.%hs", user, argv[0]);
  path[511] = L'\0';
  ready = meet(argv[0], "ready");
  done = meet(argv[0], "done");
  pipe = CreateNamedPipeW(path, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                          PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                          PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
  if (pipe == INVALID_HANDLE_VALUE) return 8;
  memset(&io, 0, sizeof(io));
  io.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  w[0] = io.hEvent;
  w[1] = done;
  if (ConnectNamedPipe(pipe, &io)) {
    connected = 1;
  } else if ((e = GetLastError()) == ERROR_PIPE_CONNECTED ||
             e == ERROR_NO_DATA) {
    connected = 1;
  } else if (e == ERROR_IO_PENDING) {
    SetEvent(ready);
    if (WaitForMultipleObjects(2, w, FALSE, 120000) == WAIT_OBJECT_0)
      connected = 1;
    else
      CancelIo(pipe);
  }
  SetEvent(ready);
  if (connected) {
    ResetEvent(io.hEvent);
    if (ReadFile(pipe, buf, sizeof(buf), &n, &io)) {
      /* n bytes at once */
    } else if ((e = GetLastError()) == ERROR_MORE_DATA) {
      n = 1;
    } else if (e == ERROR_IO_PENDING) {
      /* Until the client closes (or sends), or the test is done. */
      if (WaitForMultipleObjects(2, w, FALSE, 120000) == WAIT_OBJECT_0) {
        if (!GetOverlappedResult(pipe, &io, &n, FALSE))
          n = GetLastError() == ERROR_MORE_DATA ? 1 : 0;
      } else {
        CancelIo(pipe);
        GetOverlappedResult(pipe, &io, &n, TRUE);
      }
    } else {
      n = 0; /* closed: nothing came */
    }
  }
  printf("squatter: %s, %lu bytes\n", connected ? "reached" : "not reached",
         (unsigned long)n);
  CloseHandle(pipe);
  return connected ? (n > 0 ? 2 : 1) : 0;
}

static void squat(test_proc *p, const char *name, HANDLE *done) {
  const char *args[] = {name, NULL};
  HANDLE ready = meet(name, "ready");

  *done = meet(name, "done");
  test_spawn(p, "pipe_squatter", args, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(WaitForSingleObject(ready, 60000), WAIT_OBJECT_0);
  CloseHandle(ready);
}

/* A process of this user that made the pipe's name while nobody listens is
 * no listener: shmkit_connect reaches its pipe (nothing keeps a client from
 * opening it) but finds no listener's lock, and fails with SHMKIT_ENOENT
 * having written nothing: the squatter gets a client and no byte. */
TEST_IMPL(conn_squatted_pipe_win) {
  shmkit_conn *c = (shmkit_conn *)&c;
  test_proc p;
  HANDLE done;
  char name[32];

  test_name(name, "squat");
  squat(&p, name, &done);
  ASSERT_ERR(shmkit_connect(&c, name, 5000), SHMKIT_ENOENT);
  ASSERT_NULL(c);
  SetEvent(done);
  ASSERT_EQ(test_wait(&p, 60000), 1);
  CloseHandle(done);
  return 0;
}

/* The pipe made first, then shmkit_listen on its name. Windows refuses the
 * listener's first instance (FILE_FLAG_FIRST_PIPE_INSTANCE): SHMKIT_EEXIST.
 * Wine ignores the flag, so both serve the name: then what keeps clients
 * from the squatter is the check that the pipe's server holds the lock.
 * The listener's single instance, once connected, leaves only the
 * squatter's to the next client, so of two connects one reaches the
 * listener and one the squatter, which is refused (SHMKIT_EACCES) without
 * a byte sent. */
TEST_IMPL(listen_squatted_pipe_win) {
  shmkit_conn *l, *c[2], *s;
  shmkit_peer peer;
  test_proc p;
  HANDLE done;
  char name[32], buf[8];
  int err, ok = 0, refused = 0, code;

  test_name(name, "squat2");
  squat(&p, name, &done);
  err = shmkit_listen(&l, name);
  if (err == SHMKIT_EEXIST) { /* Windows */
    SetEvent(done);
    ASSERT_EQ(test_wait(&p, 60000), 0);
    CloseHandle(done);
    return 0;
  }
  ASSERT_OK(err); /* Wine */
  for (int i = 0; i < 2; i++) {
    c[i] = (shmkit_conn *)&c;
    err = shmkit_connect(&c[i], name, 5000);
    if (err == 0) {
      ok++;
      ASSERT_OK(shmkit_conn_peer(c[i], &peer));
      ASSERT_EQ(peer.pid, test_self_pid());
      ASSERT_OK(shmkit_conn_send(c[i], "hi", 3, NULL, 0, 5000));
    } else {
      refused++;
      ASSERT_EQ(err, SHMKIT_EACCES);
      ASSERT_NULL(c[i]);
    }
  }
  ASSERT_EQ(ok, 1);
  ASSERT_EQ(refused, 1);
  /* And the listener got its client's message. */
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  {
    shmkit_msg m;
    ASSERT_OK(recv_msg(s, &m, buf, sizeof(buf), 30000));
    ASSERT_STR_EQ(buf, "hi");
  }
  shmkit_conn_close(s);
  shmkit_conn_close(c[0]);
  shmkit_conn_close(c[1]);
  shmkit_conn_close(l);
  SetEvent(done);
  code = test_wait(&p, 60000);
  ASSERT_EQ(code, 1); /* reached, and not one byte */
  CloseHandle(done);
  return 0;
}

/* The listener's lock used to be a mutex Global\shmkit.ep.<SID>.<name>,
 * which any user may create (no privilege is needed for a mutex there):
 * such an object no longer keeps the user from listening. (Another user's
 * is what Windows would see; Wine has one user, so this one's stands in.) */
TEST_IMPL(listen_old_global_lock_win) {
  shmkit_conn *l, *c, *s;
  char name[32], user[256];
  wchar_t w[512];
  HANDLE m;

  test_name(name, "oldlock");
  test_self_user(user, sizeof(user));
  _snwprintf(w, 512, L"Global\\shmkit.ep.%hs.%hs", user, name);
  w[511] = L'\0';
  m = CreateMutexW(NULL, FALSE, w);
  ASSERT(m != NULL);
  ASSERT_OK(shmkit_listen(&l, name));
  ASSERT_OK(shmkit_connect(&c, name, 5000));
  ASSERT_OK(shmkit_accept(&s, l, 30000));
  shmkit_conn_close(s);
  shmkit_conn_close(c);
  shmkit_conn_close(l);
  CloseHandle(m);
  return 0;
}

/* Listens on argv[0], says "ready", and waits to be killed. */
CHILD_IMPL(endpoint_holder) {
  shmkit_conn *l;
  HANDLE ready;

  if (argc < 1) return 9;
  ready = meet(argv[0], "ready");
  if (shmkit_listen(&l, argv[0]) != 0) return 8;
  SetEvent(ready);
  Sleep(120000);
  return 7;
}

/* The lock is the listener's handle and goes with it: a killed listener
 * leaves nothing that keeps the name in use, or that a client would take
 * for a listener. */
TEST_IMPL(listen_after_killed_listener_win) {
  shmkit_conn *l = (shmkit_conn *)&l, *c = (shmkit_conn *)&c;
  const char *args[2];
  test_proc p;
  HANDLE ready;
  char name[32];

  test_name(name, "killed");
  args[0] = name;
  args[1] = NULL;
  ready = meet(name, "ready");
  test_spawn(&p, "endpoint_holder", args, SHMKIT_INVALID_HANDLE);
  ASSERT_EQ(WaitForSingleObject(ready, 60000), WAIT_OBJECT_0);
  ASSERT_ERR(shmkit_listen(&l, name), SHMKIT_EEXIST);
  ASSERT_NULL(l);
  ASSERT(TerminateProcess((HANDLE)p.id, 1));
  ASSERT_EQ(test_wait(&p, 60000), 1);
  ASSERT_ERR(shmkit_connect(&c, name, 0), SHMKIT_ENOENT);
  ASSERT_OK(shmkit_listen(&l, name));
  shmkit_conn_close(l);
  CloseHandle(ready);
  return 0;
}

/* ---- integrity levels */

/* The backend's check of a peer (src/win/endpoint.c), linked from the
 * static library: 0 if `process` runs at our integrity level or above,
 * SHMKIT_EACCES if below. */
int shmkit__win_integrity_check(HANDLE process);

/* This runner as `--child sleep 20000`, with a copy of our token lowered to
 * Low integrity; NULL if the system would not make one. */
static HANDLE start_low(void) {
  HANDLE tok, low;
  PSID sid = NULL;
  TOKEN_MANDATORY_LABEL label;
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  wchar_t cmd[1024];
  BOOL ok;

  ASSERT(OpenProcessToken(GetCurrentProcess(),
                          TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ADJUST_DEFAULT |
                              TOKEN_ASSIGN_PRIMARY,
                          &tok));
  ok = DuplicateTokenEx(tok, MAXIMUM_ALLOWED, NULL, SecurityImpersonation,
                        TokenPrimary, &low);
  CloseHandle(tok);
  if (!ok) return NULL;
  ASSERT(ConvertStringSidToSidW(L"S-1-16-4096", &sid)); /* Low */
  label.Label.Sid = sid;
  label.Label.Attributes = SE_GROUP_INTEGRITY;
  ok = SetTokenInformation(low, TokenIntegrityLevel, &label,
                           sizeof(label) + GetLengthSid(sid));
  LocalFree(sid);
  if (!ok) {
    CloseHandle(low);
    return NULL;
  }
  _snwprintf(cmd, 1024, L"\"%hs\" --child sleep 20000", test_self_path());
  cmd[1023] = L'\0';
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  ok = CreateProcessAsUserW(low, NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL,
                            &si, &pi);
  CloseHandle(low);
  if (!ok) return NULL;
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

static DWORD integrity_rid(HANDLE process) {
  union {
    TOKEN_MANDATORY_LABEL label;
    char bytes[sizeof(TOKEN_MANDATORY_LABEL) + SECURITY_MAX_SID_SIZE];
  } info;
  HANDLE tok;
  DWORD n, rid;

  ASSERT(OpenProcessToken(process, TOKEN_QUERY, &tok));
  ASSERT(
      GetTokenInformation(tok, TokenIntegrityLevel, &info, sizeof(info), &n));
  rid = *GetSidSubAuthority(info.label.Label.Sid,
                            *GetSidSubAuthorityCount(info.label.Label.Sid) - 1);
  CloseHandle(tok);
  return rid;
}

/* A peer at our level passes the check both ends of a connection make
 * (this process, a child of it); one at a lower level (a Low copy of our
 * token) is refused with SHMKIT_EACCES. Wine has no integrity levels: every
 * process reads High and a lowered token stays High, so there the second
 * half is skipped (README: what a Wine pass cannot prove). */
TEST_IMPL(conn_integrity_check_win) {
  const char *args[] = {"20000", NULL};
  test_proc p;
  HANDLE low;
  int low_shown;

  ASSERT_OK(shmkit__win_integrity_check(GetCurrentProcess()));
  test_spawn(&p, "sleep", args, SHMKIT_INVALID_HANDLE);
  ASSERT_OK(shmkit__win_integrity_check((HANDLE)p.id));
  TerminateProcess((HANDLE)p.id, 1);
  test_wait(&p, 60000);

  if ((low = start_low()) == NULL) return TEST_SKIP;
  low_shown = integrity_rid(low) < integrity_rid(GetCurrentProcess());
  if (low_shown) ASSERT_ERR(shmkit__win_integrity_check(low), SHMKIT_EACCES);
  TerminateProcess(low, 1);
  WaitForSingleObject(low, 60000);
  CloseHandle(low);
  return low_shown ? 0 : TEST_SKIP;
}
