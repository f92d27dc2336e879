// Paged reads of an index (see rt_page.h).
#include "rt_page.h"

#include <string.h>

#include "rt_server.h"

// A page reads at most this many keys, so that a filter that matches little
// (a rare kind over a large area) cannot make one read call run long: the
// page comes back short, with a token to go on from. Reads run on nng's
// callback threads, which must not be held.
#define SCAN_MAX 10000

int
rt_page_init(rt_txn *t, rt_page *pg, MDB_dbi db, unsigned tag, const rt_key *prefix,
                 int32_t page_size, const char *page_token)
{
    pg->db = db;
    pg->tag = (unsigned char) tag;
    pg->prefix = *prefix;
    pg->start = *prefix;
    rt_key_init(&pg->end);
    pg->limit = rt_page_size(t, page_size, "page_size");
    if (page_token == NULL || page_token[0] == '\0')
        return rt_txn_status(t);

    // A token is the tag of its index, then the key to resume at. It is good
    // only for the same list with the same selecting field: anything else
    // would silently page through the wrong index.
    rt_key k;
    if (rt_page_token_decode(page_token, &k) != 0 || k.len < 1 + prefix->len + 8 ||
        k.b[0] != pg->tag || memcmp(k.b + 1, prefix->b, prefix->len) != 0) {
        rt_txn_violation(t, "page_token",
                         "is not a token of this list: pass next_page_token back unchanged, with "
                         "the same request fields");
        return rt_txn_status(t);
    }
    rt_key_init(&pg->start);
    rt_key_bytes(&pg->start, k.b + 1, k.len - 1);
    return rt_txn_status(t);
}

// key_before tells whether k sorts before end, as LMDB's default order does.
static int
key_before(const MDB_val *k, const rt_key *end)
{
    size_t n = k->mv_size < end->len ? k->mv_size : end->len;
    int c = memcmp(k->mv_data, end->b, n);
    return c < 0 || (c == 0 && k->mv_size < end->len);
}

static char *
token_new(rt_txn *t, unsigned char tag, const MDB_val *key)
{
    rt_key k;
    rt_key_init(&k);
    rt_key_bytes(&k, &tag, 1);
    rt_key_bytes(&k, key->mv_data, key->mv_size);
    if (k.overflow) {
        rt_txn_fail(t, CIVIC_INTERNAL, "page key over %d bytes", RT_KEY_MAX);
        return NULL;
    }
    char *tok = rt_alloc(t, 4 * ((k.len + 2) / 3) + 1);
    if (tok != NULL)
        rt_page_token_encode(k.b, k.len, tok);
    return tok;
}

void
rt_page_walk(rt_txn *t, const rt_page *pg, rt_visit_fn visit, void *arg,
                 char **next_token)
{
    MDB_cursor *c;
    if (rt_txn_status(t) || rt_txn_mdb(t, mdb_cursor_open(t->txn, pg->db, &c), "cursor"))
        return;
    MDB_val k = {pg->start.len, (void *) (uintptr_t) pg->start.b}, v;
    int rc = mdb_cursor_get(c, &k, &v, pg->start.len ? MDB_SET_RANGE : MDB_FIRST);
    size_t items = 0, scanned = 0;
    for (; rc == 0 && rt_txn_status(t) == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < pg->prefix.len + 8 || memcmp(k.mv_data, pg->prefix.b, pg->prefix.len) != 0)
            break;
        if (pg->end.len > 0 && key_before(&k, &pg->end) == 0)
            break;
        if (items == pg->limit || scanned == SCAN_MAX) {
            *next_token = token_new(t, pg->tag, &k);
            break;
        }
        scanned++;
        items += visit(t, rt_be64_get((const unsigned char *) k.mv_data + k.mv_size - 8), arg) > 0;
    }
    if (rc != 0)
        rt_txn_mdb(t, rc, "cursor");
    mdb_cursor_close(c);
}

