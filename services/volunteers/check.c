// An audit of the volunteers store for tests: every index entry and counter
// is rebuilt from the records, brute force, as store.c's header describes
// them, and compared with what is stored, entry by entry; the sign-up rules
// are checked too (seats taken within capacity, one live sign-up per
// volunteer and activity, no two REGISTERED sign-ups of a volunteer
// overlapping, no seat taken by a newcomer ahead of someone still
// waiting, no check-in before the sign-up held its seat and no check-out
// before the check-in). It reads everything, so it is for tests and offline
// checks, never for a live call. Records are unpacked on the heap.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "volunteers.h"

// An expected entry: a key, and a value (index entries) or a count
// (counters).
typedef struct ent {
    unsigned char k[160];
    unsigned char v[16];
    unsigned char klen, vlen;
    int64_t count;
} ent;

typedef struct elist {
    const char *name;
    MDB_dbi db;
    int counter;
    ent *v;
    size_t n, cap;
} elist;

// What the rules need of a sign-up.
typedef struct su_fact {
    uint64_t activity_id, volunteer_id, id;
    int state;
    int promoted; // it left the waitlist for a seat
    int64_t start, end;
} su_fact;

typedef struct act_fact {
    uint64_t id;
    int32_t capacity;
    int64_t start, end;
} act_fact;

enum {
    L_PHONE, L_VAREA, L_VKIND, L_VNAME, L_AEND, L_AAREA, L_AKIND, L_SAV, L_SAS, L_SV, L_HOLD,
    L_DUE, L_HV, L_HA, L_COUNTS, L_DAY, L_WEEK, L_N
};

typedef struct audit {
    rt_audit r;    // the transaction, and the first disagreement found
    const vol_svc *s;
    elist l[L_N];
    su_fact *su;
    size_t n_su, cap_su;
    act_fact *act;
    size_t n_act, cap_act;
} audit;

static void *
grow(audit *a, void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : 256;
    void *q = realloc(p, c * size);
    if (q == NULL) {
        rt_txn_fail(a->r.t, CIVIC_RESOURCE_EXHAUSTED, "audit: out of memory");
        return p;
    }
    *cap = c;
    return q;
}

static void
push(audit *a, int which, const rt_key *k, const void *val, size_t vlen, int64_t count)
{
    elist *l = &a->l[which];
    if (k->overflow || k->len > sizeof l->v->k || vlen > sizeof l->v->v) {
        rt_audit_bad(&a->r, "%s: a key of %zu bytes", l->name, k->len);
        return;
    }
    l->v = grow(a, l->v, &l->cap, l->n, sizeof *l->v);
    if (l->n >= l->cap)
        return;
    ent *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->k, k->b, k->len);
    e->klen = (unsigned char) k->len;
    if (vlen > 0)
        memcpy(e->v, val, vlen);
    e->vlen = (unsigned char) vlen;
    e->count = count;
}

static void
entry(audit *a, int which, const rt_key *k)
{
    push(a, which, k, NULL, 0, 0);
}

static void
count(audit *a, int which, const rt_key *k, int64_t delta)
{
    if (delta != 0)
        push(a, which, k, NULL, 0, delta);
}

static int
ent_cmp(const void *x, const void *y)
{
    const ent *a = x, *b = y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->k, b->k, n);
    return c ? c : (int) a->klen - (int) b->klen;
}

static void
hex(char *out, size_t n, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < n; i++)
        o += (size_t) snprintf(out + o, n - o, "%02x", b[i]);
    if (n > 0)
        out[o < n ? o : n - 1] = '\0';
}

// compare checks a database against its expected entries: the same keys,
// the same values (index entries) or counts (counters, summed over
// duplicates; those summing to 0 must be absent).
static void
compare(audit *a, elist *l)
{
    if (rt_audit_failed(&a->r))
        return;
    if (l->n > 0)
        qsort(l->v, l->n, sizeof *l->v, ent_cmp);
    size_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (m > 0 && ent_cmp(&l->v[m - 1], &l->v[i]) == 0) {
            if (!l->counter) {
                rt_audit_bad(&a->r, "%s: two records give one key", l->name);
                return;
            }
            l->v[m - 1].count += l->v[i].count;
        } else {
            l->v[m++] = l->v[i];
        }
    }
    if (l->counter) {
        size_t z = 0;
        for (size_t i = 0; i < m; i++)
            if (l->v[i].count != 0)
                l->v[z++] = l->v[i];
        m = z;
    }
    MDB_cursor *c;
    MDB_val k, v;
    char kt[340];
    if (rt_txn_mdb(a->r.t, mdb_cursor_open(a->r.t->txn, l->db, &c), "audit"))
        return;
    size_t i = 0;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; !rt_audit_failed(&a->r); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), i++) {
        if (rc != 0 && i == m)
            break;
        if (rc != 0) {
            hex(kt, sizeof kt, l->v[i].k, l->v[i].klen);
            rt_audit_bad(&a->r, "%s: no entry %s; the records give one", l->name, kt);
            break;
        }
        hex(kt, sizeof kt, k.mv_data, k.mv_size);
        if (i == m) {
            rt_audit_bad(&a->r, "%s: entry %s; the records give none", l->name, kt);
            break;
        }
        ent got = {.klen = (unsigned char) (k.mv_size < sizeof got.k ? k.mv_size : 0)};
        memcpy(got.k, k.mv_data, got.klen);
        int cmp = ent_cmp(&l->v[i], &got);
        if (cmp != 0) {
            rt_audit_bad(&a->r, "%s: entry %s is not the one the records give next", l->name, kt);
            break;
        }
        if (l->counter) {
            int64_t have = v.mv_size == 8 ? (int64_t) rt_be64_get(v.mv_data) : INT64_MIN;
            if (have != l->v[i].count)
                rt_audit_bad(&a->r, "%s: counter %s is %lld; the records give %lld", l->name, kt,
                    (long long) have, (long long) l->v[i].count);
        } else if (v.mv_size != l->v[i].vlen || memcmp(v.mv_data, l->v[i].v, v.mv_size) != 0) {
            rt_audit_bad(&a->r, "%s: entry %s has the wrong value", l->name, kt);
        }
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(a->r.t, rc, "audit");
    mdb_cursor_close(c);
}

// --- the records ---

typedef void (*record_fn)(audit *a, const void *rec, uint64_t key_id);

static void
walk(audit *a, MDB_dbi db, const ProtobufCMessageDescriptor *desc, const char *name, record_fn fn)
{
    MDB_cursor *c;
    MDB_val k, v;
    if (rt_audit_failed(&a->r) || rt_txn_mdb(a->r.t, mdb_cursor_open(a->r.t->txn, db, &c), "audit"))
        return;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0 && !rt_audit_failed(&a->r); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        void *rec = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
        if (k.mv_size != 8 || rec == NULL) {
            rt_audit_bad(&a->r, "%s: a %zu-byte key, or a record that does not decode", name, k.mv_size);
            if (rec)
                protobuf_c_message_free_unpacked(rec, NULL);
            break;
        }
        fn(a, rec, rt_be64_get(k.mv_data));
        protobuf_c_message_free_unpacked(rec, NULL);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        rt_txn_mdb(a->r.t, rc, "audit");
    mdb_cursor_close(c);
}

static void
on_volunteer(audit *a, const void *rec, uint64_t id)
{
    const vol_volunteer *v = rec;
    rt_key k;
    if (v->id != id)
        rt_audit_bad(&a->r, "volunteers: record %llu stored under %llu", (unsigned long long) v->id,
            (unsigned long long) id);
    if (v->state == VOL_ANONYMISED && (v->name[0] || v->phone[0]))
        rt_audit_bad(&a->r, "volunteer %llu is ANONYMISED but keeps a name or phone", (unsigned long long) id);
    if (v->phone[0]) {
        vol_key_phone(&k, v->phone, v->id);
        entry(a, L_PHONE, &k);
    }
    vol_key_vol_area(&k, v);
    entry(a, L_VAREA, &k);
    vol_key_vol_kind(&k, v);
    entry(a, L_VKIND, &k);
    if (v->name[0]) {
        vol_key_vol_name(&k, v);
        entry(a, L_VNAME, &k);
    }
    if (v->state == VOL_ACTIVE) {
        vol_key_count(&k, 'A', v->area_id);
        count(a, L_COUNTS, &k, 1);
    }
}

static void
on_activity(audit *a, const void *rec, uint64_t id)
{
    const vol_activity *x = rec;
    rt_key k;
    if (x->id != id || x->start_time == NULL || x->end_time == NULL || x->capacity <= 0)
        rt_audit_bad(&a->r, "activity %llu: a wrong id, no times or no capacity", (unsigned long long) id);
    if (rt_audit_failed(&a->r))
        return;
    vol_key_act_end(&k, x);
    entry(a, L_AEND, &k);
    vol_key_act_area(&k, x);
    entry(a, L_AAREA, &k);
    vol_key_act_kind(&k, x);
    entry(a, L_AKIND, &k);
    a->act = grow(a, a->act, &a->cap_act, a->n_act, sizeof *a->act);
    if (a->n_act < a->cap_act)
        a->act[a->n_act++] = (act_fact){x->id, x->capacity, rt_ts_ms(x->start_time, 0),
                                        rt_ts_ms(x->end_time, 0)};
}

static void
on_signup(audit *a, const void *rec, uint64_t id)
{
    const vol_signup *su = rec;
    rt_key k;
    if (su->id != id || su->state <= 0 || su->state >= SU_STATES || su->position != 0)
        rt_audit_bad(&a->r, "sign-up %llu: a wrong id, state or a stored position", (unsigned long long) id);
    if (su->check_in_time != NULL) {
        int64_t seat = rt_ts_ms(su->promote_time ? su->promote_time : su->create_time, 0);
        int64_t in = rt_ts_ms(su->check_in_time, 0);
        if (in < seat || (su->check_out_time != NULL && rt_ts_ms(su->check_out_time, 0) < in))
            rt_audit_bad(&a->r, "sign-up %llu: checked in before it held a seat, or out before in",
                (unsigned long long) id);
    }
    if (rt_audit_failed(&a->r))
        return;
    vol_key_su_act_vol(&k, su);
    entry(a, L_SAV, &k);
    vol_key_su_act_state(&k, su);
    entry(a, L_SAS, &k);
    vol_key_su_vol(&k, su);
    entry(a, L_SV, &k);
    if (vol_holds(su->state)) {
        unsigned char val[9];
        vol_key_su_hold(&k, su);
        vol_hold_value(val, su);
        push(a, L_HOLD, &k, val, sizeof val, 0);
    }
    if (su->state == SU_REGISTERED) {
        vol_key_su_due(&k, su);
        entry(a, L_DUE, &k);
    }
    vol_key_state_count(&k, su->activity_id, su->state);
    count(a, L_COUNTS, &k, 1);
    a->su = grow(a, a->su, &a->cap_su, a->n_su, sizeof *a->su);
    if (a->n_su < a->cap_su)
        a->su[a->n_su++] = (su_fact){su->activity_id, su->volunteer_id, su->id, su->state,
                                     su->promote_time != NULL, rt_ts_ms(su->activity_start_time, 0),
                                     rt_ts_ms(su->activity_end_time, 0)};
}

static void
on_hours(audit *a, const void *rec, uint64_t id)
{
    const vol_hours *h = rec;
    rt_key k;
    if (h->id != id || h->n_history == 0)
        rt_audit_bad(&a->r, "hours record %llu: a wrong id or no history", (unsigned long long) id);
    else if (h->history[h->n_history - 1]->state != h->state ||
             h->history[h->n_history - 1]->minutes != h->minutes)
        rt_audit_bad(&a->r, "hours record %llu: its last history step is not its state", (unsigned long long) id);
    else if ((h->state == HOURS_RECORDED && h->minutes != h->computed_minutes) ||
             (h->state == HOURS_DECLINED && h->minutes != 0))
        rt_audit_bad(&a->r, "hours record %llu: minutes %d do not fit its state", (unsigned long long) id,
            h->minutes);
    if (rt_audit_failed(&a->r))
        return;
    vol_key_hours_vol(&k, h);
    entry(a, L_HV, &k);
    vol_key_hours_act(&k, h);
    entry(a, L_HA, &k);
    int64_t m = vol_hours_counted(h);
    vol_key_count(&k, 'T', h->volunteer_id);
    count(a, L_COUNTS, &k, m);
    vol_key_count(&k, 'N', h->volunteer_id);
    count(a, L_COUNTS, &k, h->state != HOURS_DECLINED);
    vol_key_day(&k, 'V', h->local_day, h->volunteer_id);
    count(a, L_DAY, &k, m);
    vol_key_day(&k, 'A', h->local_day, h->area_id);
    count(a, L_DAY, &k, m);
    vol_key_day(&k, 'K', h->local_day, (uint64_t) h->volunteer_kind);
    count(a, L_DAY, &k, m);
    vol_key_week_vol(&k, vol_monday(h->local_day), h->area_id, h->volunteer_id);
    count(a, L_WEEK, &k, m);
}

// --- the rules ---

static int
su_by_vol_start(const void *x, const void *y)
{
    const su_fact *a = x, *b = y;
    if (a->volunteer_id != b->volunteer_id)
        return a->volunteer_id < b->volunteer_id ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int
su_by_act_vol(const void *x, const void *y)
{
    const su_fact *a = x, *b = y;
    if (a->activity_id != b->activity_id)
        return a->activity_id < b->activity_id ? -1 : 1;
    if (a->volunteer_id != b->volunteer_id)
        return a->volunteer_id < b->volunteer_id ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int
su_by_act_id(const void *x, const void *y)
{
    const su_fact *a = x, *b = y;
    if (a->activity_id != b->activity_id)
        return a->activity_id < b->activity_id ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

// check_fifo: sign-up ids follow the order the writes were made, so in an
// activity's sign-ups by id, none after one still WAITLISTED took a seat
// straight away (rather than by a promotion).
static void
check_fifo(audit *a)
{
    qsort(a->su, a->n_su, sizeof *a->su, su_by_act_id);
    uint64_t waiting = 0; // the first still waiting in the activity so far
    for (size_t i = 0; i < a->n_su && !rt_audit_failed(&a->r); i++) {
        const su_fact *f = &a->su[i];
        if (i == 0 || f[-1].activity_id != f->activity_id)
            waiting = 0;
        if (waiting != 0 && vol_takes_seat(f->state) && !f->promoted)
            rt_audit_bad(&a->r, "activity %llu: sign-up %llu took a seat ahead of sign-up %llu, waitlisted",
                (unsigned long long) f->activity_id, (unsigned long long) f->id,
                (unsigned long long) waiting);
        if (waiting == 0 && f->state == SU_WAITLISTED)
            waiting = f->id;
    }
}

static const act_fact *
find_act(const audit *a, uint64_t id)
{
    size_t lo = 0, hi = a->n_act; // activities were read in id order
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->act[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->n_act && a->act[lo].id == id ? &a->act[lo] : NULL;
}

static void
check_rules(audit *a)
{
    if (rt_audit_failed(&a->r) || a->n_su == 0)
        return;
    qsort(a->su, a->n_su, sizeof *a->su, su_by_act_vol);
    int32_t taken = 0;
    for (size_t i = 0; i < a->n_su && !rt_audit_failed(&a->r); i++) {
        const su_fact *f = &a->su[i];
        const act_fact *act = find_act(a, f->activity_id);
        if (act == NULL || act->start != f->start || act->end != f->end) {
            rt_audit_bad(&a->r, "sign-up %llu: activity %llu is missing or has other times",
                (unsigned long long) f->id, (unsigned long long) f->activity_id);
            break;
        }
        if (i > 0 && f[-1].activity_id == f->activity_id && f[-1].volunteer_id == f->volunteer_id &&
            f[-1].state != SU_CANCELLED && f->state != SU_CANCELLED)
            rt_audit_bad(&a->r, "volunteer %llu has two live sign-ups to activity %llu",
                (unsigned long long) f->volunteer_id, (unsigned long long) f->activity_id);
        if (i == 0 || f[-1].activity_id != f->activity_id)
            taken = 0;
        taken += vol_takes_seat(f->state);
        if (taken > act->capacity)
            rt_audit_bad(&a->r, "activity %llu: %d seats taken, capacity %d", (unsigned long long) act->id,
                taken, act->capacity);
    }
    check_fifo(a);
    qsort(a->su, a->n_su, sizeof *a->su, su_by_vol_start);
    int64_t reach = INT64_MIN; // the latest end of the volunteer's REGISTERED so far
    uint64_t reach_id = 0;
    for (size_t i = 0; i < a->n_su && !rt_audit_failed(&a->r); i++) {
        const su_fact *f = &a->su[i];
        if (i == 0 || f[-1].volunteer_id != f->volunteer_id)
            reach = INT64_MIN;
        if (f->state != SU_REGISTERED && f->state != SU_CHECKED_IN)
            continue;
        if (f->start < reach)
            rt_audit_bad(&a->r, "volunteer %llu: sign-ups %llu and %llu are both registered and overlap",
                (unsigned long long) f->volunteer_id, (unsigned long long) reach_id,
                (unsigned long long) f->id);
        if (f->end > reach) {
            reach = f->end;
            reach_id = f->id;
        }
    }
}

// week_areas derives h_week's 'A' counters from its 'V' ones: the
// volunteers with minutes > 0 per (Monday, area).
static void
week_areas(audit *a)
{
    elist *l = &a->l[L_WEEK];
    if (rt_audit_failed(&a->r) || l->n == 0)
        return;
    qsort(l->v, l->n, sizeof *l->v, ent_cmp);
    size_t n = l->n;
    for (size_t i = 0; i < n && !rt_audit_failed(&a->r);) {
        size_t j = i;
        int64_t sum = 0;
        while (j < n && ent_cmp(&l->v[i], &l->v[j]) == 0)
            sum += l->v[j++].count;
        if (sum > 0 && l->v[i].k[0] == 'V') {
            rt_key k;
            vol_key_week_area(&k, (int32_t) rt_be32_get(l->v[i].k + 1),
                              rt_be64_get(l->v[i].k + 5));
            count(a, L_WEEK, &k, 1);
        }
        i = j;
    }
}

int
vol_check_indexes(rt_txn *t, const vol_svc *s, char *err, size_t n)
{
    audit a = {.r = {.t = t, .err = err, .n = n}, .s = s};
    const struct {
        const char *name;
        MDB_dbi db;
        int counter;
    } dbs[L_N] = {
        {"vol_by_phone", s->vol_by_phone, 0}, {"vol_by_area", s->vol_by_area, 0},
        {"vol_by_kind", s->vol_by_kind, 0},   {"vol_by_name", s->vol_by_name, 0},
        {"act_by_end", s->act_by_end, 0},     {"act_by_area", s->act_by_area, 0},
        {"act_by_kind", s->act_by_kind, 0},   {"su_by_act_vol", s->su_by_act_vol, 0},
        {"su_by_act_state", s->su_by_act_state, 0}, {"su_by_vol", s->su_by_vol, 0},
        {"su_hold", s->su_hold, 0},           {"su_due", s->su_due, 0},
        {"hours_by_vol", s->hours_by_vol, 0}, {"hours_by_act", s->hours_by_act, 0},
        {"counts", s->counts, 1},             {"h_day", s->h_day, 1},
        {"h_week", s->h_week, 1},
    };
    for (int i = 0; i < L_N; i++) {
        a.l[i].name = dbs[i].name;
        a.l[i].db = dbs[i].db;
        a.l[i].counter = dbs[i].counter;
    }
    if (n > 0)
        err[0] = '\0';
    walk(&a, s->volunteers, &civic__volunteers__v1__volunteer__descriptor, "volunteers", on_volunteer);
    walk(&a, s->activities, &civic__volunteers__v1__activity__descriptor, "activities", on_activity);
    walk(&a, s->signups, &civic__volunteers__v1__signup__descriptor, "signups", on_signup);
    walk(&a, s->hours, &civic__volunteers__v1__hours_record__descriptor, "hours", on_hours);
    check_rules(&a);
    week_areas(&a);
    for (int i = 0; i < L_N; i++)
        compare(&a, &a.l[i]);
    for (int i = 0; i < L_N; i++)
        free(a.l[i].v);
    free(a.su);
    free(a.act);
    if (rt_txn_status(t)) {
        if (n > 0)
            snprintf(err, n, "%s", t->message);
        return rt_txn_status(t);
    }
    return a.r.bad ? -1 : 0;
}
