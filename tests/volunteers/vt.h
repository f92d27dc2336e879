// Helpers for the volunteers service's tests: calls as a role (open mode:
// identity in x-civic-* metadata), fixtures, and the store audit.
#ifndef VT_H
#define VT_H

#include "civic/volunteers/v1/volunteers.pb-c.h"
#include "harness.h"

#define VT "/civic.volunteers.v1.VolunteersService/"

// vt_call calls method as principal:role (role NULL: no identity, which is
// admin in open mode) with an idempotency key (or NULL). *resp is set on
// OK (free with protobuf_c_message_free_unpacked). st may be NULL.
int vt_call(civic_channel *ch, const char *principal, const char *role, const char *method,
            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *out,
            ProtobufCMessage **resp, const char *idem, civic_status *st);

// vt_volunteer registers a volunteer (as admin) and returns its id; phone
// NULL makes one from n. Fails the test on error.
uint64_t vt_volunteer(civic_channel *ch, int n, const char *phone, uint64_t area_id);

// vt_activity creates an activity [start, end) (Unix seconds) and returns
// its id. Fails the test on error.
uint64_t vt_activity(civic_channel *ch, uint64_t area_id, int64_t start_s, int64_t end_s,
                     int capacity);

// vt_signup signs volunteer up for activity as the volunteer themself;
// returns the status code, with the sign-up in *out (free it) when OK.
int vt_signup(civic_channel *ch, uint64_t volunteer, uint64_t activity, const char *idem,
              Civic__Volunteers__V1__Signup **out, civic_status *st);

// vt_list_signups lists every sign-up of an activity (as admin), all pages,
// into *out (an array of unpacked sign-ups; free with vt_signups_free).
size_t vt_list_signups(civic_channel *ch, uint64_t activity, Civic__Volunteers__V1__Signup ***out);
void vt_signups_free(Civic__Volunteers__V1__Signup **v, size_t n);

// vt_audit opens the data directory of a stopped server and runs the index
// and counter audit; fails the test on a disagreement.
void vt_audit(const char *dir);

// vt_now_s is the wall clock in Unix seconds.
int64_t vt_now_s(void);

// vt_move_activity gives an activity new times [start, end) (Unix seconds)
// as admin; returns the status code. An activity that has not started may
// be moved to a start in the past: that is how the tests make an activity
// with a waitlist start, without waiting for it.
int vt_move_activity(civic_channel *ch, uint64_t id, int64_t start_s, int64_t end_s, civic_status *st);

// --- the real `civic` CLI against a real civic-volunteers ---

// A civic-volunteers started with an internal key, so that only identity
// signed with it counts (as deployed), and the output of the last command.
typedef struct vt_cli {
    th_server srv;
    char dir[256];     // holds the key
    char key[300];     // the internal key's file
    char cmd[1024];    // the last command, for failure messages
    char out[65536];   // stdout of the last command
    char err[8192];    // stderr of the last command
} vt_cli;

// vt_cli_start starts the server; vt_cli_stop stops it (SIGTERM, which
// must exit 0), audits its store and removes its files.
void vt_cli_start(vt_cli *c);
void vt_cli_stop(vt_cli *c);

// vt_cli_run runs `civic --addr URL -o json --internal-key-file KEY --as AS
// ARGS…` (NULL-terminated; as NULL is an admin, "office:admin") and returns
// its exit status, with what it printed in c->out and c->err. Later global
// flags in ARGS (-o csv, --idempotency-key K) go before the command.
int vt_cli_run(vt_cli *c, const char *as, const char *a0, ...) __attribute__((sentinel));

// VT_MUST fails the test, with the CLI's stderr, unless a vt_cli_run
// exited 0.
#define VT_MUST(c, rc)                                                                             \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != 0)                                                                              \
            fail_msg("civic %s: exit %d: %s", (c)->cmd, rc_, (c)->err);                           \
    } while (0)

// vt_cli_fails checks that the last command exited 1 and that its stderr
// holds each of the strings (NULL-terminated): a status name, a field, a
// reason.
void vt_cli_fails(const vt_cli *c, int rc, const char *s0, ...) __attribute__((sentinel));

// vt_json copies the first value of "name": in json (a number in quotes, a
// string or an enum name) into buf; "" when absent. Returns buf.
const char *vt_json(const char *json, const char *name, char *buf, size_t n);
// vt_json_count counts the values of "name": in json.
int vt_json_count(const char *json, const char *name);
// vt_csv copies column name of the first row of a CSV table (header
// first, as `civic -o csv` prints it; zero values are printed there, not
// left out) into buf; fails the test when there is no such column.
const char *vt_csv(const char *csv, const char *name, char *buf, size_t n);
// vt_rfc3339 formats Unix seconds as RFC 3339 in UTC into buf.
const char *vt_rfc3339(char *buf, size_t n, int64_t unix_s);
// vt_as formats a volunteer's signed identity, "ID:volunteer", into buf.
const char *vt_as(char *buf, size_t n, const char *volunteer_id);

#endif
