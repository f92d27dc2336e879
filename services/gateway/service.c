// The gateway's handler table, configuration and wiring.
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

_Static_assert((int) CIVIC__GATEWAY__V1__ROLE__ROLE_ADMIN == RT_ROLE_ADMIN &&
                   (int) CIVIC__GATEWAY__V1__ROLE__ROLE_VIEWER == RT_ROLE_VIEWER,
               "civic.gateway.v1.Role and rt_role share their numbers");

#define ADMIN RT_ROLE_BIT(RT_ROLE_ADMIN)

static const rt_method methods[] = {
    {"CreateToken", RT_WRITE_NO_REPLAY, handle_create_token, ADMIN, NULL, NULL},
    {"ListTokens", RT_READ, handle_list_tokens, ADMIN, NULL, NULL},
    {"RevokeToken", RT_WRITE, handle_revoke_token, ADMIN, NULL, NULL},
    {"WhoAmI", RT_READ, handle_who_am_i, RT_ROLES_SIGNED_IN, NULL, NULL},
    RT_LIST_EVENTS_METHOD(ADMIN),
};

const rt_service_def gw_service_def = {
    &civic__gateway__v1__gateway_service__descriptor,
    methods,
    sizeof methods / sizeof methods[0],
};

gw_config gw_cfg;

const rt_cfg_key gw_cfg_keys[] = {
    {"points", "CIVIC_POINTS_URL", RT_CFG_STR, "tcp://127.0.0.1:7001", 0, 0, &gw_cfg.points,
     "the points service; empty for none"},
    {"tasks", "CIVIC_TASKS_URL", RT_CFG_STR, "tcp://127.0.0.1:7002", 0, 0, &gw_cfg.tasks,
     "the tasks service; empty for none"},
    {"volunteers", "CIVIC_VOLUNTEERS_URL", RT_CFG_STR, "tcp://127.0.0.1:7003", 0, 0, &gw_cfg.volunteers,
     "the volunteers service; empty for none"},
    {"admin-token-file", "CIVIC_ADMIN_TOKEN_FILE", RT_CFG_STR, NULL, 0, 0, &gw_cfg.admin_token_file,
     "a mounted secret holding the first admin token; without it one is made and written to "
     "<data>/admin.token (mode 0600)"},
    {"probe-ms", "CIVIC_PROBE_MS", RT_CFG_INT, "1000", 50, 60000, &gw_cfg.probe_ms,
     "how often each back end's health is probed (and how long a probe may take)"},
};
const size_t gw_n_cfg_keys = sizeof gw_cfg_keys / sizeof gw_cfg_keys[0];

static int
gw_init(void **state, rt_store *store, const rt_config *cfg)
{
    gw_svc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s->store = store;
    s->key = cfg->key;
    s->probe_ms = (int) gw_cfg.probe_ms;
    s->tokens = rt_store_db(store, "tokens");
    s->token_ids = rt_store_db(store, "token_ids");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->backends[0] = (gw_backend){.name = "points", .prefix = "/civic.points.v1.",
                                  .service = "civic.points.v1.PointsService", .url = gw_cfg.points};
    s->backends[1] = (gw_backend){.name = "tasks", .prefix = "/civic.tasks.v1.",
                                  .service = "civic.tasks.v1.TasksService", .url = gw_cfg.tasks};
    s->backends[2] = (gw_backend){.name = "volunteers", .prefix = "/civic.volunteers.v1.",
                                  .service = "civic.volunteers.v1.VolunteersService", .url = gw_cfg.volunteers};
    if (gw_bootstrap_admin(s, cfg->data, gw_cfg.admin_token_file, 0) != 0 || gw_backends_open(s) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static void
gw_fini(void *state)
{
    gw_svc *s = state;
    gw_backends_close(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

static void
gw_server_opts(void *state, rt_server_opts *o)
{
    gw_svc *s = state;
    o->authenticate = gw_authenticate;
    o->forward = gw_forward;
    o->health = gw_health;
    o->extra_services = s->extra_services;
}

static const rt_service_def *const services[] = {&gw_service_def};

const rt_app gw_app = {
    .name = "civic-gateway",
    .about = "The civicgrid gateway: tokens and roles, routing to the services, signed identity.",
    .default_listen = "tcp://127.0.0.1:7000",
    .default_data = "./data/gateway",
    .default_admin = "127.0.0.1:9000",
    .services = services,
    .n_services = 1,
    .dbs = gw_dbs,
    .schema_version = 1,
    .extra = gw_cfg_keys,
    .n_extra = sizeof gw_cfg_keys / sizeof gw_cfg_keys[0],
    .init = gw_init,
    .fini = gw_fini,
    .server_opts = gw_server_opts,
};
