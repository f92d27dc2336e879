// The dashboard's table: what the generic table of a GetDashboardResponse
// cannot say. A part that did not answer (a service down) leaves its figures
// at 0, which would read as "no problems"; its columns show a dash instead,
// a line on stderr names it, and the command exits CLI_EXIT_PARTIAL. An area
// without works has no percent done: a dash too, not 0.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic/gateway/v1/gateway.pb-c.h"
#include "cli.h"

// Which columns each part fills (the AreaDashboard fields it sets).
static const struct {
    const char *part;
    const char *cols[4];
} part_cols[] = {
    {"points", {"points", "patrolled_today", "patrolled_share", NULL}},
    {"tasks", {"problems_open", "problems_overdue", "problems_closed_today", NULL}},
    {"works", {"works_percent_done", "works", NULL}},
    {"volunteers", {"volunteer_hours_this_week", "volunteers_active", NULL}},
};

static const Civic__Gateway__V1__GetDashboardResponse *
as_dashboard(const ProtobufCMessage *m)
{
    return m != NULL && m->descriptor == &civic__gateway__v1__get_dashboard_response__descriptor
               ? (const Civic__Gateway__V1__GetDashboardResponse *) (const void *) m
               : NULL;
}

static void
blank_col(civic_table *t, const char *col, size_t row, int all, const char *blank)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        if (strcmp(t->cols[c], col) != 0)
            continue;
        for (size_t r = all ? 0 : row; r < (all ? t->n_rows : row + 1) && r < t->n_rows; r++) {
            free(t->rows[r][c]);
            t->rows[r][c] = strdup(blank);
        }
    }
}

void
cli_dashboard_cells(const ProtobufCMessage *resp, civic_table *t, const char *blank)
{
    const Civic__Gateway__V1__GetDashboardResponse *d = as_dashboard(resp);
    if (d == NULL)
        return;
    for (size_t p = 0; p < d->n_parts; p++) {
        if (d->parts[p]->available)
            continue;
        for (size_t k = 0; k < sizeof part_cols / sizeof part_cols[0]; k++)
            if (strcmp(part_cols[k].part, d->parts[p]->name) == 0)
                for (const char *const *c = part_cols[k].cols; *c != NULL; c++)
                    blank_col(t, *c, 0, 1, blank);
    }
    for (size_t r = 0; r < d->n_areas && r < t->n_rows; r++)
        if (d->areas[r]->works == 0)
            blank_col(t, "works_percent_done", r, 0, blank);
}

int
cli_dashboard_parts(const ProtobufCMessage *resp, FILE *err)
{
    const Civic__Gateway__V1__GetDashboardResponse *d = as_dashboard(resp);
    int down = 0;
    for (size_t p = 0; d != NULL && p < d->n_parts; p++) {
        if (d->parts[p]->available)
            continue;
        fprintf(err, "civic: dashboard: the %s part is unavailable (%s); its figures are not shown\n",
                d->parts[p]->name, d->parts[p]->reason && d->parts[p]->reason[0] ? d->parts[p]->reason : "no reason given");
        down++;
    }
    return down;
}
