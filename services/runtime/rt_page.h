// rt_page: one page of a list call, read from one index in key order. Index
// keys end with the big-endian id of their record; a page visits ids until it
// has enough items, and its next_page_token is a tag naming the index then
// the key to resume at, so a token is good only for the list that wrote it.
#ifndef RT_PAGE_H
#define RT_PAGE_H

#include <lmdb.h>
#include <stdint.h>

#include "rt_key.h"
#include "rt_store.h"

// rt_page is one page of a list call: a read of one index in key order,
// over the keys that start with prefix, resuming where the last page ended.
typedef struct rt_page {
    MDB_dbi db;
    unsigned char tag; // a tag the service chooses per index
    rt_key prefix;     // every key read starts with this
    rt_key start;      // the first key to read: the prefix, or the token's key
    rt_key end;        // if not empty, the walk stops before the first key >= end
                       // (an exclusive upper bound; rt_page_init leaves it empty)
    size_t limit;      // items per page
} rt_page;

// rt_page_init sets up a page and checks page_size and page_token,
// recording violations that name them. Returns rt_txn_status(t).
int rt_page_init(rt_txn *t, rt_page *pg, MDB_dbi db, unsigned tag, const rt_key *prefix,
                     int32_t page_size, const char *page_token);

// rt_visit_fn looks at the record whose id ends an index key and, if it
// passes the list's filters, appends it to the reply. Returns 1 when it
// appended an item, 0 when it did not (errors go on t).
typedef int (*rt_visit_fn)(rt_txn *t, uint64_t id, void *arg);

// rt_page_walk calls visit for each key of the page until limit items
// were appended, the prefix ends or the scan budget is spent, and sets
// *next_token (arena) to the next key to read, or leaves it alone on the
// last page.
void rt_page_walk(rt_txn *t, const rt_page *pg, rt_visit_fn visit, void *arg,
                      char **next_token);

#endif
