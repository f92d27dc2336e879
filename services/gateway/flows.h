// What the gateway's flows share (flows.c: the back-end calls and the flow
// threads; flows_tokens.c: self-registration and token refresh). Internal to
// the gateway.
#ifndef GW_FLOWS_H
#define GW_FLOWS_H

#include <nng/nng.h>
#include <pthread.h>

#include "gateway.h"

#define GW "/civic.gateway.v1.GatewayService/"
#define PTS "/civic.points.v1.PointsService/"
#define TSK "/civic.tasks.v1.TasksService/"
#define VOL "/civic.volunteers.v1.VolunteersService/"
enum { B_POINTS, B_TASKS, B_VOLUNTEERS };

// A back-end call a flow thread waits for.
typedef struct gw_pending {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, code;
    nng_msg *reply;
    char why[200];
} gw_pending;

// gw_call_start sends req to back end bi as principal/role (signed), with the
// caller's request-id and an optional idempotency key. It never fails: a
// call that cannot start is a pending already done with its code.
void gw_call_start(gw_svc *s, int bi, const char *method, const ProtobufCMessage *req, const char *principal,
                   const char *role, const char *request_id, const char *idem, int64_t deadline, gw_pending *p);

// gw_call_wait waits for p and decodes its answer: 0 with *resp (free with
// protobuf_c_message_free_unpacked), or a code with st filled in.
int gw_call_wait(gw_pending *p, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp,
                 civic_status *st);

// gw_violation fills st with INVALID_ARGUMENT naming field; returns the code.
int gw_violation(civic_status *st, const char *field, const char *what);

// gw_deadline_for gives back-end calls the caller's deadline less a margin,
// so the gateway's own answer reaches the caller before it gives up.
int64_t gw_deadline_for(const rt_call *call);

// gw_unpack_in decodes the forwarded call's payload as d (NULL if it does not).
void *gw_unpack_in(rt_forward *fw, const ProtobufCMessageDescriptor *d);

// The flows of flows_tokens.c.
int gw_flow_self_register(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st);
int gw_flow_refresh(gw_svc *s, rt_forward *fw, ProtobufCMessage **outp, civic_status *st);

#endif
