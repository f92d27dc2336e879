// The test harness: real service processes on free loopback ports with
// temporary data directories, the real CLI, and cmocka helpers. Nothing here
// mocks nng, LMDB or a service.
#ifndef HARNESS_H
#define HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
// cmocka needs the four above first.
#include <cmocka.h>

#include "civic_client.h"

// assert_ok checks a civic status code and prints its name when it fails.
#define assert_code(expr, want)                                                                    \
    do {                                                                                           \
        int code_ = (expr);                                                                        \
        if (code_ != (want))                                                                       \
            fail_msg("%s: got %s, want %s", #expr, civic_code_name(code_), civic_code_name(want)); \
    } while (0)
#define assert_ok(expr) assert_code(expr, CIVIC_OK)

typedef struct th_server {
    const char *bin;
    pid_t pid;
    int port;
    char url[64];
    char dir[256];     // data directory
    char log[300];     // the server's stderr
    char *args[32];    // extra arguments
    int n_args;
    int own_dir;
} th_server;

// th_server_start starts bin (a service binary) on a free port with a new
// temporary data directory and the extra arguments (NULL-terminated), and
// waits until Health answers SERVING. Fails the test if it cannot.
void th_server_start(th_server *s, const char *bin, const char *const *args);

// th_server_spawn is th_server_start that waits only for the port to take
// connections, not for SERVING: for tests of a server still starting.
void th_server_spawn(th_server *s, const char *bin, const char *const *args);

// th_log_wait waits up to ms for a line of the server's log to hold text.
// Returns 0 or -1.
int th_log_wait(const th_server *s, const char *text, int ms);

// th_server_restart starts the same binary again on the same port and data.
void th_server_restart(th_server *s);

// th_server_term sends SIGTERM, waits (up to 20 s) and returns the exit
// status (or -1 if it had to be killed).
int th_server_term(th_server *s);

// th_server_kill sends SIGKILL and reaps the process.
void th_server_kill(th_server *s);

// th_server_cleanup stops the server if running and removes its directory.
void th_server_cleanup(th_server *s);

// th_channel opens a channel to the server (fails the test if it cannot).
civic_channel *th_channel(const th_server *s);

// th_wait_serving waits up to ms for Health SERVING at url. Returns 0 or -1.
int th_wait_serving(const char *url, int ms);

// th_free_port returns a loopback TCP port that was free a moment ago.
int th_free_port(void);

// th_cli runs the civic CLI with the given arguments (NULL-terminated),
// capturing stdout into out (NUL-terminated, truncated to n) and stderr into
// err if not NULL. Returns the exit status.
int th_cli(char *out, size_t n, char *err, size_t errn, const char *const *argv);

// th_cli_start starts the civic CLI with the given arguments (NULL-
// terminated) and returns at once, so that several may run side by side.
// th_cli_wait collects one as th_cli does (stdout into out, stderr into err
// if not NULL), reaps it and returns its exit status.
typedef struct th_cli_proc {
    pid_t pid;
    int out, err; // the read ends of its stdout and stderr
} th_cli_proc;
void th_cli_start(th_cli_proc *p, const char *const *argv);
int th_cli_wait(th_cli_proc *p, char *out, size_t n, char *err, size_t errn);

// th_skip skips with a reason, or fails under CIVIC_REQUIRE_ALL=1.
void th_skip(const char *why);

// th_tmpdir makes a new temporary directory into out.
void th_tmpdir(char *out, size_t n);

#endif
