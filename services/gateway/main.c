// civic-gateway: the one front door. `civic-gateway reset-admin-token --data
// DIR` (with the gateway stopped) revokes the bootstrap admin token and
// writes a new one to DIR/admin.token.
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "rt_log.h"

extern const rt_app gw_app;

static int
reset_admin_token(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--data") == 0)
            dir = argv[i + 1];
    if (dir == NULL) {
        fprintf(stderr, "usage: civic-gateway reset-admin-token --data DIR\n");
        return 2;
    }
    rt_log_init("civic-gateway", RT_LOG_INFO);
    rt_store_opts so = {.dbs = gw_dbs, .schema_version = 1};
    rt_store *store;
    char err[512];
    if (rt_store_open(&store, dir, &so, err, sizeof err) != 0) {
        fprintf(stderr, "civic-gateway: %s (is the gateway still running?)\n", err);
        return 1;
    }
    gw_svc s = {.store = store, .tokens = rt_store_db(store, "tokens"),
                .token_ids = rt_store_db(store, "token_ids")};
    int rc = gw_bootstrap_admin(&s, dir, NULL, 1);
    rt_store_close(store);
    if (rc == 0)
        printf("a new admin token is in %s/admin.token; earlier bootstrap tokens are revoked\n", dir);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "reset-admin-token") == 0)
        return reset_admin_token(argc, argv);
    return rt_main(&gw_app, argc, argv);
}
