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

#endif
