// Processes, ports and directories for the integration tests.
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "civic/rpc/v1/rpc.pb-c.h"

// Every server a test started, so that one left running by a failed test
// (cmocka leaves a test at its first failed assertion) is killed at exit.
static pid_t live[64];

static void
kill_live(void)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] > 0)
            kill(live[i], SIGKILL);
}

static void
track(pid_t pid, pid_t gone)
{
    static int registered;
    if (!registered) {
        atexit(kill_live);
        registered = 1;
    }
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] == gone) {
            live[i] = pid;
            return;
        }
}

int
th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *) &a, &len) != 0)
        fail_msg("no free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

void
th_tmpdir(char *out, size_t n)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, n, "%s/civic-test-XXXXXX", base);
    if (mkdtemp(out) == NULL)
        fail_msg("mkdtemp: %s", strerror(errno));
}

void
th_skip(const char *why)
{
    const char *req = getenv("CIVIC_REQUIRE_ALL");
    if (req && strcmp(req, "1") == 0)
        fail_msg("cannot run here, and CIVIC_REQUIRE_ALL=1: %s", why);
    print_message("SKIP: %s\n", why);
    skip();
}

// Whether a TCP connection to url's port is accepted now.
static int
port_accepts(const char *url)
{
    const char *colon = strrchr(url, ':');
    if (strncmp(url, "tcp://", 6) != 0 || colon == NULL)
        return 1; // not TCP: let nng find out
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(colon + 1))};
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int) (colon - url - 6), url + 6);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *) &a, sizeof a) == 0;
    close(fd);
    return ok;
}

// wait_port waits up to ms for url's port to take a TCP connection.
static int
wait_port(const char *url, int ms)
{
    for (int64_t until = civic_now_ms() + ms; civic_now_ms() < until;) {
        if (port_accepts(url))
            return 0;
        struct timespec d = {0, 20 * 1000000};
        nanosleep(&d, NULL);
    }
    return -1;
}

int
th_wait_serving(const char *url, int ms)
{
    int64_t until = civic_now_ms() + ms;
    while (civic_now_ms() < until) {
        civic_channel *ch;
        civic_status st;
        // nng 1.5.2 leaks a pipe when a socket closes while its connection
        // is still being negotiated; a channel opened before the port
        // listens is likely to be closed just then. So wait for the port
        // with a plain connect, and give the channel time to finish.
        civic_channel_opts o = {.wait_connect_ms = 2000, .max_attempts = 1};
        if (port_accepts(url) && civic_channel_open(&ch, url, &o, &st) == 0) {
            Civic__Rpc__V1__CheckRequest req = CIVIC__RPC__V1__CHECK_REQUEST__INIT;
            ProtobufCMessage *resp = NULL;
            // Long enough for a server whose test hook stalls every call.
            civic_call_opts co = {.timeout_ms = 5000, .read = 1};
            int rc = civic_call(ch, "/civic.rpc.v1.HealthService/Check", &req.base,
                                &civic__rpc__v1__check_response__descriptor, &resp, &co, &st);
            civic_channel_close(ch);
            if (rc == 0) {
                int serving = ((Civic__Rpc__V1__CheckResponse *) resp)->status ==
                              CIVIC__RPC__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING_STATUS_SERVING;
                protobuf_c_message_free_unpacked(resp, NULL);
                if (serving)
                    return 0;
            }
        }
        struct timespec d = {0, 20 * 1000000};
        nanosleep(&d, NULL);
    }
    return -1;
}

static void
print_log_tail(const th_server *s)
{
    FILE *f = fopen(s->log, "r");
    if (f == NULL)
        return;
    char line[1024];
    long n = 0;
    while (fgets(line, sizeof line, f))
        n++;
    rewind(f);
    for (long i = 0; fgets(line, sizeof line, f); i++)
        if (i >= n - 30)
            fprintf(stderr, "  | %s", line);
    fclose(f);
}

static int
spawn(th_server *s, int wait_serving)
{
    char listen[80];
    snprintf(listen, sizeof listen, "--listen=%s", s->url);
    char data[300];
    snprintf(data, sizeof data, "--data=%s/data", s->dir);
    const char *argv[48];
    int n = 0;
    argv[n++] = s->bin;
    argv[n++] = listen;
    argv[n++] = data;
    argv[n++] = "--admin-listen=";
    for (int i = 0; i < s->n_args; i++)
        argv[n++] = s->args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        execv(s->bin, (char *const *) (uintptr_t) argv);
        _exit(127);
    }
    s->pid = pid;
    track(pid, 0);
    if (wait_serving ? th_wait_serving(s->url, 15000) == 0 : wait_port(s->url, 15000) == 0)
        return 0;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
        track(0, pid);
        s->pid = 0;
    }
    return -1;
}

static void
server_start(th_server *s, const char *bin, const char *const *args, int wait_serving)
{
    memset(s, 0, sizeof *s);
    s->bin = bin;
    for (int i = 0; args != NULL && args[i] != NULL && i < 31; i++)
        s->args[s->n_args++] = strdup(args[i]);
    th_tmpdir(s->dir, sizeof s->dir);
    s->own_dir = 1;
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = th_free_port();
        snprintf(s->url, sizeof s->url, "tcp://127.0.0.1:%d", s->port);
        if (spawn(s, wait_serving) == 0)
            return;
        if (s->pid > 0)
            th_server_kill(s);
    }
    print_log_tail(s);
    fail_msg("%s did not start serving", bin);
}

int
th_log_wait(const th_server *s, const char *text, int ms)
{
    for (int64_t until = civic_now_ms() + ms; civic_now_ms() < until;) {
        FILE *f = fopen(s->log, "r");
        char line[2048];
        int found = 0;
        while (f != NULL && !found && fgets(line, sizeof line, f))
            found = strstr(line, text) != NULL;
        if (f != NULL)
            fclose(f);
        if (found)
            return 0;
        struct timespec d = {0, 20 * 1000000};
        nanosleep(&d, NULL);
    }
    return -1;
}

void
th_server_start(th_server *s, const char *bin, const char *const *args)
{
    server_start(s, bin, args, 1);
}

void
th_server_spawn(th_server *s, const char *bin, const char *const *args)
{
    server_start(s, bin, args, 0);
}

void
th_server_restart(th_server *s)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        if (spawn(s, 1) == 0)
            return;
        if (s->pid > 0)
            th_server_kill(s);
        // The port may still be held by the process just killed.
        struct timespec d = {0, 100 * 1000000};
        nanosleep(&d, NULL);
    }
    print_log_tail(s);
    fail_msg("%s did not restart", s->bin);
}

int
th_server_term(th_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int64_t until = civic_now_ms() + 20000;
    int status;
    while (civic_now_ms() < until) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) {
            track(0, s->pid);
            s->pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                print_log_tail(s);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec d = {0, 10 * 1000000};
        nanosleep(&d, NULL);
    }
    th_server_kill(s);
    return -1;
}

void
th_server_kill(th_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    int status;
    waitpid(s->pid, &status, 0);
    track(0, s->pid);
    s->pid = 0;
}

void
th_server_cleanup(th_server *s)
{
    if (s->pid > 0)
        th_server_term(s);
    for (int i = 0; i < s->n_args; i++)
        free(s->args[i]);
    s->n_args = 0;
    if (s->own_dir && getenv("CIVIC_KEEP_TEST_DIRS") == NULL) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
}

civic_channel *
th_channel(const th_server *s)
{
    civic_channel *ch;
    civic_status st;
    if (civic_channel_open(&ch, s->url, NULL, &st) != 0)
        fail_msg("cannot connect to %s: %s", s->url, st.message);
    return ch;
}

static void
read_all(int fd, char *out, size_t n)
{
    size_t len = 0;
    for (;;) {
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            break;
        if (out != NULL && len + 1 < n) {
            size_t k = (size_t) r < n - 1 - len ? (size_t) r : n - 1 - len;
            memcpy(out + len, buf, k);
            len += k;
        }
    }
    if (out != NULL && n > 0)
        out[len] = '\0';
}

void
th_cli_start(th_cli_proc *p, const char *const *argv)
{
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0)
        fail_msg("pipe: %s", strerror(errno));
    // Our read ends stay out of every CLI started later.
    fcntl(po[0], F_SETFD, FD_CLOEXEC);
    fcntl(pe[0], F_SETFD, FD_CLOEXEC);
    const char *bin = getenv("CIVIC_CLI") ? getenv("CIVIC_CLI") : CIVIC_CLI_BIN;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        const char *a[64];
        int k = 0;
        a[k++] = bin;
        for (int i = 0; argv[i] && k < 63; i++)
            a[k++] = argv[i];
        a[k] = NULL;
        execv(bin, (char *const *) (uintptr_t) a);
        _exit(127);
    }
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    close(po[1]);
    close(pe[1]);
    p->pid = pid;
    p->out = po[0];
    p->err = pe[0];
}

int
th_cli_wait(th_cli_proc *p, char *out, size_t n, char *err, size_t errn)
{
    // Read stdout fully, then stderr: safe because the CLI's stderr output
    // is small (it would block only past the pipe size).
    read_all(p->out, out, n);
    read_all(p->err, err, errn);
    close(p->out);
    close(p->err);
    int status;
    waitpid(p->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
th_cli(char *out, size_t n, char *err, size_t errn, const char *const *argv)
{
    th_cli_proc p;
    th_cli_start(&p, argv);
    return th_cli_wait(&p, out, n, err, errn);
}
