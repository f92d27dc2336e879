// The gateway's own RPCs: tokens and who-am-I.
#include <string.h>

#include "gateway.h"
#include "rt_check.h"
#include "rt_key.h"

int
handle_create_token(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Gateway__V1__CreateTokenRequest *in = vin;
    Civic__Gateway__V1__CreateTokenResponse *out = vout;
    const gw_svc *s = call->service;
    rt_check_str(t, "principal", in->principal, 100, 1);
    rt_check_enum(t, "role", &civic__gateway__v1__role__descriptor, in->role, 1);
    rt_check_str(t, "note", in->note, 200, 0);
    if (rt_txn_status(t))
        return rt_txn_status(t);
    Civic__Gateway__V1__Token *tok = rt_alloc(t, sizeof *tok);
    char *secret = rt_alloc(t, 64);
    if (tok == NULL || secret == NULL)
        return rt_txn_status(t);
    civic__gateway__v1__token__init(tok);
    gw_token_new(secret, 64);
    tok->id = rt_seq_next(t, "token");
    tok->principal = rt_strdup(t, in->principal);
    tok->role = in->role;
    tok->create_time = rt_ts_new(t, call->now_ms);
    if (in->ttl_seconds > 0)
        tok->expire_time = rt_ts_new(t, call->now_ms + (int64_t) in->ttl_seconds * 1000);
    tok->created_by = rt_strdup(t, call->principal);
    tok->note = rt_strdup(t, in->note);
    gw_token_put(t, s, secret, tok);
    rt_event(t, "token.created", tok->id, &tok->base);
    out->token = tok;
    out->secret = secret;
    return rt_txn_status(t);
}

typedef struct list_ctx {
    const gw_svc *s;
    const Civic__Gateway__V1__ListTokensRequest *in;
    Civic__Gateway__V1__ListTokensResponse *out;
    int64_t now_ms;
} list_ctx;

static int
visit_token(rt_txn *t, uint64_t key_id, void *arg)
{
    list_ctx *l = arg;
    unsigned char h[32];
    Civic__Gateway__V1__Token *tok = gw_token_by_id(t, l->s, UINT64_MAX - key_id, h);
    if (tok == NULL)
        return 0;
    int inactive = tok->revoked || (tok->expire_time && tok->expire_time->seconds * 1000 <= l->now_ms);
    if (inactive && !l->in->include_inactive)
        return 0;
    l->out->tokens[l->out->n_tokens++] = tok;
    return 1;
}

int
handle_list_tokens(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Gateway__V1__ListTokensRequest *in = vin;
    Civic__Gateway__V1__ListTokensResponse *out = vout;
    const gw_svc *s = call->service;
    rt_page pg;
    rt_key prefix;
    rt_key_init(&prefix);
    if (rt_page_init(t, &pg, s->token_ids, 1, &prefix, in->page_size, in->page_token) != 0)
        return rt_txn_status(t);
    out->tokens = rt_alloc(t, pg.limit * sizeof *out->tokens);
    if (out->tokens == NULL)
        return rt_txn_status(t);
    list_ctx l = {s, in, out, call->now_ms};
    rt_page_walk(t, &pg, visit_token, &l, &out->next_page_token);
    return rt_txn_status(t);
}

int
handle_revoke_token(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    const Civic__Gateway__V1__RevokeTokenRequest *in = vin;
    Civic__Gateway__V1__RevokeTokenResponse *out = vout;
    const gw_svc *s = call->service;
    unsigned char h[32];
    Civic__Gateway__V1__Token *tok = gw_token_by_id(t, s, in->id, h);
    if (tok == NULL)
        return rt_txn_status(t);
    if (!tok->revoked) {
        tok->revoked = 1;
        rt_put_msg(t, s->tokens, h, 32, &tok->base);
        rt_event(t, "token.revoked", tok->id, &tok->base);
    }
    out->token = tok;
    return rt_txn_status(t);
}

int
handle_who_am_i(rt_txn *t, const void *vin, void *vout, const rt_call *call)
{
    Civic__Gateway__V1__WhoAmIResponse *out = vout;
    (void) vin;
    out->principal = rt_strdup(t, call->principal);
    out->role = (Civic__Gateway__V1__Role) call->role;
    return rt_txn_status(t);
}
