// The gateway's tokens. Only SHA-256 hashes of token texts are stored.
//
//   tokens     sha256(secret)             → Token
//   token_ids  be64(UINT64_MAX - id)      → sha256(secret)   (newest first)
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "gateway.h"
#include "rt_check.h"
#include "rt_key.h"
#include "rt_log.h"

const char *const gw_dbs[] = {"tokens", "token_ids", NULL};

void
gw_token_new(char *out, size_t n)
{
    unsigned char b[32];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r > 0)
            got += (size_t) r;
        else if (errno != EINTR)
            break;
    }
    char enc[64];
    rt_page_token_encode(b, sizeof b, enc); // URL-safe base64, no padding
    snprintf(out, n, "cg_%s", enc);
}

static void
hash(const char *secret, unsigned char out[32])
{
    mbedtls_sha256_ret((const unsigned char *) secret, strlen(secret), out, 0);
}

static void
id_key(uint64_t id, unsigned char k[8])
{
    rt_be64_put(k, UINT64_MAX - id);
}

void
gw_token_put(rt_txn *t, const gw_svc *s, const char *secret, const Civic__Gateway__V1__Token *tok)
{
    unsigned char h[32], k[8];
    hash(secret, h);
    rt_put_msg(t, s->tokens, h, 32, &tok->base);
    id_key(tok->id, k);
    rt_put(t, s->token_ids, k, 8, h, 32);
}

Civic__Gateway__V1__Token *
gw_token_lookup(rt_txn *t, const gw_svc *s, const char *secret)
{
    unsigned char h[32];
    void *tok = NULL;
    hash(secret, h);
    return rt_get_msg(t, s->tokens, h, 32, &civic__gateway__v1__token__descriptor, &tok) == 0 ? tok : NULL;
}

Civic__Gateway__V1__Token *
gw_token_by_id(rt_txn *t, const gw_svc *s, uint64_t id, unsigned char h[32])
{
    unsigned char k[8];
    MDB_val v;
    id_key(id, k);
    int rc = rt_get(t, s->token_ids, k, 8, &v);
    if (rc == MDB_NOTFOUND) {
        rt_txn_fail(t, CIVIC_NOT_FOUND, "id: no token %llu", (unsigned long long) id);
        return NULL;
    }
    if (rc != 0 || v.mv_size != 32)
        return NULL;
    memcpy(h, v.mv_data, 32);
    void *tok = NULL;
    if (rt_get_msg(t, s->tokens, h, 32, &civic__gateway__v1__token__descriptor, &tok) != 0) {
        rt_txn_fail(t, CIVIC_INTERNAL, "token %llu has no record", (unsigned long long) id);
        return NULL;
    }
    return tok;
}

static int
read_secret(const char *file, char *out, size_t n)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return -1;
    size_t len = fread(out, 1, n - 1, f);
    fclose(f);
    out[len] = '\0';
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
        out[--len] = '\0';
    return len >= 16 ? 0 : -1;
}

int
gw_bootstrap_admin(gw_svc *s, const char *data_dir, const char *file, int reset)
{
    rt_arena a;
    rt_arena_init(&a, 1 << 20);
    rt_txn t = {.store = s->store, .arena = &a, .principal = "bootstrap"};
    int rc = mdb_txn_begin(rt_store_env(s->store), NULL, 0, &t.txn);
    if (rc != 0) {
        rt_arena_fini(&a);
        return -1;
    }
    MDB_stat st;
    mdb_stat(t.txn, s->token_ids, &st);
    if (st.ms_entries > 0 && !reset) {
        mdb_txn_abort(t.txn);
        rt_arena_fini(&a);
        return 0;
    }
    char secret[128];
    const char *where;
    char path[4200];
    if (file != NULL && file[0] != '\0') {
        if (read_secret(file, secret, sizeof secret) != 0) {
            rt_log(RT_LOG_ERROR, "gateway.admin_token_file", "file=%s error=\"unreadable or shorter than 16 bytes\"", file);
            mdb_txn_abort(t.txn);
            rt_arena_fini(&a);
            return -1;
        }
        where = file;
    } else {
        gw_token_new(secret, sizeof secret);
        snprintf(path, sizeof path, "%s/admin.token", data_dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, secret, strlen(secret)) < 0 || write(fd, "\n", 1) < 0) {
            rt_log(RT_LOG_ERROR, "gateway.admin_token_file", "file=%s error=\"%s\"", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            mdb_txn_abort(t.txn);
            rt_arena_fini(&a);
            return -1;
        }
        fsync(fd);
        close(fd);
        where = path;
    }
    if (reset) {
        // Revoke every earlier bootstrap admin token.
        MDB_cursor *c;
        MDB_val k, v;
        mdb_cursor_open(t.txn, s->token_ids, &c);
        for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            void *old = NULL;
            if (rt_get_msg(&t, s->tokens, v.mv_data, 32, &civic__gateway__v1__token__descriptor, &old) != 0)
                continue;
            Civic__Gateway__V1__Token *o = old;
            if (strcmp(o->created_by, "bootstrap") == 0 && !o->revoked) {
                o->revoked = 1;
                rt_put_msg(&t, s->tokens, v.mv_data, 32, &o->base);
            }
        }
        mdb_cursor_close(c);
    }
    Civic__Gateway__V1__Token tok = CIVIC__GATEWAY__V1__TOKEN__INIT;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tok.id = rt_seq_next(&t, "token");
    tok.principal = "admin";
    tok.role = CIVIC__GATEWAY__V1__ROLE__ROLE_ADMIN;
    tok.create_time = rt_ts_new(&t, (int64_t) now.tv_sec * 1000);
    tok.created_by = "bootstrap";
    tok.note = "the first admin token";
    gw_token_put(&t, s, secret, &tok);
    t.now_ms = (int64_t) now.tv_sec * 1000;
    rt_event(&t, "token.created", tok.id, &tok.base);
    rc = t.code == 0 ? mdb_txn_commit(t.txn) : (mdb_txn_abort(t.txn), -1);
    memset(secret, 0, sizeof secret);
    rt_arena_fini(&a);
    if (rc == 0)
        rt_log(RT_LOG_INFO, "gateway.admin_token", "file=%s message=\"admin token %s\"", where,
               reset ? "reset" : "created");
    return rc == 0 ? 0 : -1;
}
