// The gateway's handler table, configuration and wiring.
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "rt_log.h"

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
    // The flows (flows.c): carried out through the forward hook.
    {"SignUp", RT_FLOW, NULL, ADMIN | RT_ROLE_BIT(RT_ROLE_VOLUNTEER), NULL, NULL},
    {"ReportProblemAtPoint", RT_FLOW, NULL,
     ADMIN | RT_ROLE_BIT(RT_ROLE_INSPECTOR) | RT_ROLE_BIT(RT_ROLE_VOLUNTEER), NULL, NULL},
    {"GetDashboard", RT_FLOW, NULL, RT_ROLES_SIGNED_IN, NULL, NULL},
    {"SelfRegister", RT_FLOW, NULL, RT_ROLES_ANYONE, NULL, NULL},
    {"RefreshToken", RT_FLOW, NULL, RT_ROLE_BIT(RT_ROLE_VOLUNTEER), NULL, NULL},
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
    {"backend-tls-server-name", "CIVIC_BACKEND_TLS_SERVER_NAME", RT_CFG_STR, NULL, 0, 0,
     &gw_cfg.backend_tls_server_name,
     "the name tls+tcp:// back ends' certificates are checked for; default each address's host"},
    {"probe-ms", "CIVIC_PROBE_MS", RT_CFG_INT, "1000", 50, 60000, &gw_cfg.probe_ms,
     "how often each back end's health is probed (and how long a probe may take)"},
    {"rate-per-token", "CIVIC_RATE_PER_TOKEN", RT_CFG_STR, "200/400", 0, 0, &gw_cfg.rate_per_token,
     "calls per second per token, then the burst: RATE/BURST; 0 for no limit"},
    {"rate-per-client", "CIVIC_RATE_PER_CLIENT", RT_CFG_STR, "1000/2000", 0, 0, &gw_cfg.rate_per_client,
     "calls per second per client address (health checks aside): RATE/BURST; 0 for no limit"},
    {"rate-self-register", "CIVIC_RATE_SELF_REGISTER", RT_CFG_STR, "0.01/5", 0, 0, &gw_cfg.rate_self_register,
     "self-registrations per second per client address and per phone: RATE/BURST"},
    {"volunteer-token-ttl", "CIVIC_VOLUNTEER_TOKEN_TTL", RT_CFG_INT, "2592000", 60, 31536000,
     &gw_cfg.volunteer_token_ttl, "seconds a self-registered or refreshed volunteer token lasts"},
    {"flow-threads", "CIVIC_FLOW_THREADS", RT_CFG_INT, "4", 1, GW_FLOW_THREADS_MAX, &gw_cfg.flow_threads,
     "threads carrying out the cross-service flows (sign-up, report, dashboard, self-registration)"},
    {"web-listen", "CIVIC_WEB_LISTEN", RT_CFG_STR, "", 0, 0, &gw_cfg.web_listen,
     "HOST:PORT for JSON over HTTP (POST /v1/PACKAGE.SERVICE/METHOD) and the web pages; empty "
     "(the default) turns it off; scripts/run.sh uses 127.0.0.1:8080"},
    {"web-root", "CIVIC_WEB_ROOT", RT_CFG_STR, CIVIC_WEB_ROOT_DEFAULT, 0, 0, &gw_cfg.web_root,
     "directory of the web pages served on web-listen"},
    {"web-max-body", "CIVIC_WEB_MAX_BODY", RT_CFG_SIZE, "1M", 1024, 4 << 20, &gw_cfg.web_max_body,
     "largest HTTP request body accepted (larger: 413)"},
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
    s->tls_ca_file = cfg->tls_ca_file;
    s->tls_cert_key_file = cfg->tls_cert_key_file;
    s->backend_tls_server_name = gw_cfg.backend_tls_server_name;
    s->tz_offset_min = (int) cfg->tz_offset_min;
    s->tokens = rt_store_db(store, "tokens");
    s->token_ids = rt_store_db(store, "token_ids");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->limiter.mu, NULL);
    if (gw_rate_parse(gw_cfg.rate_per_token, &s->rate_per_token) != 0 ||
        gw_rate_parse(gw_cfg.rate_per_client, &s->rate_per_client) != 0 ||
        gw_rate_parse(gw_cfg.rate_self_register, &s->rate_self_register) != 0) {
        rt_log(RT_LOG_ERROR, "config.bad_rate", "want RATE/BURST, such as 5/10");
        free(s);
        return -1;
    }
    s->backends[0] = (gw_backend){.name = "points", .prefix = "/civic.points.v1.",
                                  .service = "civic.points.v1.PointsService", .url = gw_cfg.points};
    s->backends[1] = (gw_backend){.name = "tasks", .prefix = "/civic.tasks.v1.",
                                  .service = "civic.tasks.v1.TasksService", .url = gw_cfg.tasks};
    s->backends[2] = (gw_backend){.name = "volunteers", .prefix = "/civic.volunteers.v1.",
                                  .service = "civic.volunteers.v1.VolunteersService", .url = gw_cfg.volunteers};
    if (gw_bootstrap_admin(s, cfg->data, gw_cfg.admin_token_file, 0) != 0 || gw_backends_open(s) != 0 ||
        gw_flows_start(s, (int) gw_cfg.flow_threads) != 0) {
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
    gw_flows_stop(s);
    gw_backends_close(s);
    pthread_mutex_destroy(&s->limiter.mu);
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
    o->metrics = gw_metrics;
    o->extra_services = s->extra_services;
}

static int
gw_attach(void *state, rt_server *srv)
{
    gw_svc *s = state;
    if (gw_cfg.web_listen == NULL || gw_cfg.web_listen[0] == '\0')
        return 0;
    return gw_web_start(&s->web, gw_cfg.web_listen, gw_cfg.web_root, gw_cfg.web_max_body, srv);
}

static void
gw_detach(void *state)
{
    gw_svc *s = state;
    gw_web_stop(s->web);
    s->web = NULL;
}

static const rt_service_def *const services[] = {&gw_service_def};

const rt_app gw_app = {
    .name = "civic-gateway",
    .about = "The civicgrid gateway: tokens and roles, routing to the services, signed identity, "
             "the cross-service flows (sign-up, report at a point, dashboard, self-registration).",
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
    .attach = gw_attach,
    .detach = gw_detach,
};
