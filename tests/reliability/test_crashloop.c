// civic.reliability.crashloop: writers drive writes through the gateway,
// each with its own request id and idempotency key, while the test kill -9s
// a random service (a back end or the gateway) at a random moment, restarts
// it, and repeats. Then Jepsen's rule: every acknowledged write is present
// exactly once, no write of unknown outcome is present twice, and every
// store, stopped cleanly, has no dead readers and passes its index audit.
//   test_civic_reliability_crashloop [--cycles N] [--seed S]
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "civic_msg.h"
#include "gw_fixture.h"
#include "putil.h"
#include "tasks_th.h"
#include "vt.h"

static int cycles = 20;
static unsigned seed;

#define MAX_WRITES 100000

// One kind of write per service, named by its unique key.
typedef struct wkind {
    const char *name;
    const char *method, *in, *out;
    const char *tmpl; // the request as JSON, KEY and NUM (8 digits) filled in
    const char *list; // the list method, its types, and where the key is
    const char *list_in, *list_out, *list_json, *items, *key_field;
} wkind;

static const wkind kinds[] = {
    {"points", "/civic.points.v1.PointsService/CreateArea", "civic.points.v1.CreateAreaRequest",
     "civic.points.v1.CreateAreaResponse", "{\"area\":{\"name\":\"KEY\",\"level\":\"AREA_LEVEL_AREA\"}}",
     "/civic.points.v1.PointsService/ListAreas", "civic.points.v1.ListAreasRequest",
     "civic.points.v1.ListAreasResponse", "{\"level\":\"AREA_LEVEL_AREA\",\"pageSize\":500", "areas", "name"},
    {"tasks", "/civic.tasks.v1.TasksService/CreateWork", "civic.tasks.v1.CreateWorkRequest",
     "civic.tasks.v1.CreateWorkResponse",
     "{\"name\":\"KEY\",\"areaId\":\"1\",\"unitId\":\"1\",\"standard\":\"s\",\"target\":\"10\","
     "\"measure\":\"m\",\"deadline\":\"DEADLINE\"}",
     "/civic.tasks.v1.TasksService/ListWorks", "civic.tasks.v1.ListWorksRequest",
     "civic.tasks.v1.ListWorksResponse", "{\"pageSize\":500", "works", "name"},
    {"volunteers", "/civic.volunteers.v1.VolunteersService/RegisterVolunteer",
     "civic.volunteers.v1.RegisterVolunteerRequest", "civic.volunteers.v1.RegisterVolunteerResponse",
     "{\"volunteer\":{\"name\":\"KEY\",\"phone\":\"139NUM\",\"kind\":\"VOLUNTEER_KIND_RESIDENT\","
     "\"areaId\":\"1\",\"community\":\"c\",\"consent\":true}}",
     "/civic.volunteers.v1.VolunteersService/ListVolunteers", "civic.volunteers.v1.ListVolunteersRequest",
     "civic.volunteers.v1.ListVolunteersResponse", "{\"includeInactive\":true,\"pageSize\":500", "volunteers",
     "name"},
    {"gateway", "/civic.gateway.v1.GatewayService/CreateToken", "civic.gateway.v1.CreateTokenRequest",
     "civic.gateway.v1.CreateTokenResponse", "{\"principal\":\"KEY\",\"role\":\"ROLE_VIEWER\",\"ttlSeconds\":3600}",
     "/civic.gateway.v1.GatewayService/ListTokens", "civic.gateway.v1.ListTokensRequest",
     "civic.gateway.v1.ListTokensResponse", "{\"pageSize\":500", "tokens", "principal"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

typedef struct writer {
    const wkind *k;
    gw_fixture *f;
    pthread_t thread;
    atomic_int n;                   // writes attempted
    atomic_int ok_since;            // acknowledged since ok_since was reset
    char error[600];                // the first failure no crash explains
    unsigned char outcome[MAX_WRITES]; // 0 none, 1 acknowledged, 2 unknown
} writer;

static atomic_int stopping;
static char deadline[32]; // RFC 3339, a month from the start

// jcall makes one call with JSON in and out; returns the status code.
static int
jcall(civic_channel *ch, const char *method, const char *in, const char *out, const char *json,
      const char *key, json_t **reply, civic_status *st)
{
    const ProtobufCMessageDescriptor *ind = civic_msg_find_type(in), *outd = civic_msg_find_type(out);
    assert_non_null(ind);
    assert_non_null(outd);
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    if (j == NULL)
        fail_msg("bad JSON %s: %s", json, je.text);
    ProtobufCMessage *req = civic_msg_new(ind);
    char err[256];
    if (civic_msg_from_json(req, j, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    json_decref(j);
    ProtobufCMessage *resp = NULL;
    civic_call_opts o = {.timeout_ms = 5000, .read = key == NULL, .idempotency_key = key, .request_id = key};
    int rc = civic_call(ch, method, req, outd, &resp, &o, st);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc == 0 && reply != NULL)
        *reply = civic_msg_to_json(resp);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

// fill writes tmpl into out with KEY replaced by key, NUM by i and
// DEADLINE by deadline.
static void
fill(char *out, size_t n, const char *tmpl, const char *key, int i)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < n;) {
        if (strncmp(p, "KEY", 3) == 0) {
            o += (size_t) snprintf(out + o, n - o, "%s", key);
            p += 3;
        } else if (strncmp(p, "DEADLINE", 8) == 0) {
            o += (size_t) snprintf(out + o, n - o, "%s", deadline);
            p += 8;
        } else if (strncmp(p, "NUM", 3) == 0) {
            o += (size_t) snprintf(out + o, n - o, "%08d", i);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

static void *
writer_main(void *arg)
{
    writer *w = arg;
    civic_channel *ch;
    civic_status st;
    // Retries of UNAVAILABLE cover a restart of a second or two.
    civic_channel_opts o = {.token = w->f->admin, .max_attempts = 8, .lazy = 1};
    if (civic_channel_open(&ch, w->f->gateway.url, &o, &st) != 0)
        return NULL;
    for (int i = 0; !atomic_load(&stopping) && i < MAX_WRITES; i++) {
        char key[64], json[512];
        snprintf(key, sizeof key, "cl-%s-%d", w->k->name, i);
        fill(json, sizeof json, w->k->tmpl, key, i);
        atomic_store(&w->n, i + 1);
        int rc = jcall(ch, w->k->method, w->k->in, w->k->out, json, key, NULL, &st);
        // A token's reply is never replayed (it holds the token): a retry
        // after a lost reply is told the write was done.
        if (rc == CIVIC_ALREADY_EXISTS && strstr(st.message, "earlier attempt") != NULL)
            rc = 0;
        w->outcome[i] = rc == 0 ? 1 : 2;
        if (rc == 0)
            atomic_fetch_add(&w->ok_since, 1);
        else if (rc != CIVIC_UNAVAILABLE && rc != CIVIC_DEADLINE_EXCEEDED) {
            // Only a crash may fail a write; anything else is a bug.
            snprintf(w->error, sizeof w->error, "write %d: %s: %s", i, civic_code_name(rc), st.message);
            break;
        }
    }
    civic_channel_close(ch);
    return NULL;
}

static void
sleep_ms(int ms)
{
    struct timespec d = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

// count_present lists every record of w's kind and counts each key's copies
// into copies (indexed by write number).
static void
count_present(gw_fixture *f, const wkind *k, int *copies, int n)
{
    civic_channel *ch = gw_channel(f, f->admin);
    char token[256] = "";
    for (;;) {
        char json[600];
        snprintf(json, sizeof json, "%s,\"pageToken\":\"%s\"}", k->list_json, token);
        json_t *reply = NULL;
        civic_status st;
        int rc = jcall(ch, k->list, k->list_in, k->list_out, json, NULL, &reply, &st);
        if (rc != 0)
            fail_msg("%s: %s: %s", k->list, civic_code_name(rc), st.message);
        json_t *items = json_object_get(reply, k->items);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            const char *name = json_string_value(json_object_get(it, k->key_field));
            char prefix[32];
            int len = snprintf(prefix, sizeof prefix, "cl-%s-", k->name);
            if (name != NULL && strncmp(name, prefix, (size_t) len) == 0) {
                int x = atoi(name + len);
                if (x >= 0 && x < n)
                    copies[x]++;
            }
        }
        const char *next = json_string_value(json_object_get(reply, "nextPageToken"));
        snprintf(token, sizeof token, "%s", next ? next : "");
        json_decref(reply);
        if (token[0] == '\0')
            break;
    }
    civic_channel_close(ch);
}

// dead_readers opens a stopped service's LMDB environment and counts the
// reader slots left by processes that are gone.
static int
dead_readers(const char *dir)
{
    MDB_env *env;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    mdb_env_set_maxreaders(env, 1024);
    int rc = mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0600);
    if (rc != 0)
        fail_msg("open %s: %s", dir, mdb_strerror(rc));
    int dead = -1;
    assert_int_equal(mdb_reader_check(env, &dead), 0);
    mdb_env_close(env);
    return dead;
}

static void
test_crashloop(void **state)
{
    (void) state;
    static gw_fixture f;
    const char *gargs[] = {"--rate-per-token=0", "--rate-per-client=0", NULL};
    gw_fixture_start_with(&f, NULL, gargs);
    th_server *victims[] = {&f.points, &f.tasks, &f.volunteers, &f.gateway};

    static writer ws[N_KINDS];
    for (size_t i = 0; i < N_KINDS; i++) {
        ws[i].k = &kinds[i];
        ws[i].f = &f;
        assert_int_equal(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]), 0);
    }
    int kills[4] = {0};
    for (int c = 0; c < cycles; c++) {
        sleep_ms(100 + (int) (rand_r(&seed) % 700));
        int v = (int) (rand_r(&seed) % 4);
        th_server_kill(victims[v]);
        kills[v]++;
        sleep_ms((int) (rand_r(&seed) % 300));
        th_server_restart(victims[v]);
    }
    // The system has recovered when every writer is acknowledged again.
    for (size_t i = 0; i < N_KINDS; i++)
        atomic_store(&ws[i].ok_since, 0);
    int64_t until = civic_now_ms() + 30000;
    for (size_t i = 0; i < N_KINDS; i++)
        while (atomic_load(&ws[i].ok_since) < 3 && civic_now_ms() < until)
            sleep_ms(50);
    atomic_store(&stopping, 1);
    for (size_t i = 0; i < N_KINDS; i++)
        pthread_join(ws[i].thread, NULL);
    for (size_t i = 0; i < N_KINDS; i++)
        if (ws[i].error[0])
            fail_msg("%s: %s", ws[i].k->name, ws[i].error);
    for (size_t i = 0; i < N_KINDS; i++)
        if (atomic_load(&ws[i].ok_since) < 3)
            fail_msg("%s writes never succeeded again after the last restart", ws[i].k->name);

    int lost = 0, dup = 0, acked = 0, unknown = 0, unknown_present = 0;
    static int copies[MAX_WRITES];
    for (size_t i = 0; i < N_KINDS; i++) {
        int n = atomic_load(&ws[i].n);
        memset(copies, 0, sizeof copies);
        count_present(&f, ws[i].k, copies, n);
        int k_lost = 0, k_dup = 0, k_acked = 0, k_unknown = 0;
        for (int x = 0; x < n; x++) {
            if (ws[i].outcome[x] == 1) {
                k_acked++;
                if (copies[x] == 0) {
                    k_lost++;
                    fprintf(stderr, "# LOST: cl-%s-%d was acknowledged\n", ws[i].k->name, x);
                }
            } else if (ws[i].outcome[x] == 2) {
                k_unknown++;
                unknown_present += copies[x] > 0;
            }
            if (copies[x] > 1) {
                k_dup++;
                fprintf(stderr, "# DUPLICATED: cl-%s-%d is there %d times\n", ws[i].k->name, x, copies[x]);
            }
        }
        print_message("# %-10s %5d writes acknowledged, %3d of unknown outcome, %d lost, %d duplicated\n",
                      ws[i].k->name, k_acked, k_unknown, k_lost, k_dup);
        lost += k_lost;
        dup += k_dup;
        acked += k_acked;
        unknown += k_unknown;
    }
    print_message("# %d cycles (killed points %d, tasks %d, volunteers %d, gateway %d): %d acknowledged, "
                  "%d lost, %d duplicated; %d of unknown outcome (%d of them present)\n",
                  cycles, kills[0], kills[1], kills[2], kills[3], acked, lost, dup, unknown, unknown_present);
    assert_true(acked > 0);
    assert_int_equal(lost, 0);
    assert_int_equal(dup, 0);

    // Every store, stopped cleanly, opens with no dead readers and agrees
    // with its indexes.
    for (int v = 0; v < 4; v++)
        if (th_server_term(victims[v]) != 0)
            fail_msg("%s did not stop cleanly; its log: %s", victims[v]->bin, victims[v]->log);
    for (int v = 0; v < 4; v++) {
        char dir[300];
        snprintf(dir, sizeof dir, "%s/data", victims[v]->dir);
        int dead = dead_readers(dir);
        if (dead != 0)
            fail_msg("%s: %d dead readers", dir, dead);
        char err[512] = "";
        if (v == 0 && pu_audit(dir, NULL, NULL, err, sizeof err) != 0)
            fail_msg("points audit: %s", err);
        else if (v == 1)
            tt_audit(dir);
        else if (v == 2)
            vt_audit(dir);
    }
    print_message("# every store: no dead readers, indexes agree\n");
    gw_fixture_stop(&f);
}

int
main(int argc, char **argv)
{
    seed = (unsigned) time(NULL);
    time_t dl = time(NULL) + 30 * 86400;
    strftime(deadline, sizeof deadline, "%Y-%m-%dT%H:%M:%SZ", gmtime(&dl));
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--cycles") == 0)
            cycles = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = (unsigned) strtoul(argv[i + 1], NULL, 10);
    }
    if (cycles < 1)
        cycles = 1;
    print_message("# seed %u (repeat with --seed %u)\n", seed, seed);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_crashloop)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
