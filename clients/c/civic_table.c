// civic_table: a response flattened to a table of text cells — the items
// of its list as rows, scalar fields and one level of nested ones as
// columns — and that table printed aligned by display width or written as
// RFC 4180 CSV. The CLI's table and CSV outputs and its dashboard are built
// on it.
#include "civic_msg.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "civic_msg_impl.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

static char *
cell(const ProtobufCFieldDescriptor *f, const void *p)
{
    char buf[128];
    switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);
        if (v == NULL || v->value == 0)
            return strdup(v ? "" : "?");
        // Drop the enum's own prefix: POINT_KIND_FARMERS_MARKET → FARMERS_MARKET.
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        size_t common = strlen(ed->values[0].name);
        const char *un = strstr(ed->values[0].name, "UNSPECIFIED");
        if (un != NULL)
            common = (size_t) (un - ed->values[0].name);
        return strdup(strncmp(v->name, ed->values[0].name, common) == 0 ? v->name + common : v->name);
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(buf, sizeof buf, "%.6g", *(const double *) p);
        return strdup(buf);
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(buf, sizeof buf, "%.6g", (double) *(const float *) p);
        return strdup(buf);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
        if (m == NULL)
            return strdup("");
        json_t *j = civic_msg_to_json(m);
        char *s = json_is_string(j) ? strdup(json_string_value(j)) : json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return s;
    }
    default: {
        json_t *j = civic_msg_value_json(f, p);
        char *s = json_is_string(j) ? strdup(json_string_value(j))
                                    : json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(j);
        return s;
    }
    }
}

typedef struct colspec {
    const ProtobufCFieldDescriptor *outer, *inner; // inner set for dotted columns
} colspec;

static size_t
columns(const ProtobufCMessageDescriptor *d, colspec *cs, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields && n < max; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
            sd != &google__protobuf__timestamp__descriptor &&
            sd != &google__protobuf__field_mask__descriptor) {
            for (unsigned j = 0; j < sd->n_fields && n < max; j++)
                if (sd->fields[j].type != PROTOBUF_C_TYPE_MESSAGE && sd->fields[j].label != PROTOBUF_C_LABEL_REPEATED)
                    cs[n++] = (colspec){f, &sd->fields[j]};
            continue;
        }
        cs[n++] = (colspec){f, NULL};
    }
    return n;
}

static char *
row_cell(const ProtobufCMessage *m, const colspec *c)
{
    const ProtobufCFieldDescriptor *f = c->outer;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t count = *(const size_t *) FIELD_CPTR(m, f->quantifier_offset);
        const char *arr = *(char *const *) FIELD_CPTR(m, f->offset);
        size_t cap = 64, len = 0;
        char *out = calloc(1, cap);
        for (size_t j = 0; j < count; j++) {
            char *s = cell(f, arr + j * civic_msg_value_size(f->type));
            size_t sl = strlen(s);
            while (len + sl + 2 > cap)
                out = realloc(out, cap *= 2);
            if (j)
                out[len++] = ';';
            memcpy(out + len, s, sl + 1);
            len += sl;
            free(s);
        }
        return out;
    }
    if (c->inner == NULL)
        return cell(f, FIELD_CPTR(m, f->offset));
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *) FIELD_CPTR(m, f->offset);
    if (sub == NULL)
        return strdup("");
    return cell(c->inner, FIELD_CPTR(sub, c->inner->offset));
}

void
civic_msg_table(const ProtobufCMessage *msg, civic_table *t)
{
    memset(t, 0, sizeof *t);
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const ProtobufCFieldDescriptor *rep = NULL, *one = NULL;
    int n_rep = 0, n_msg = 0, n_other = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED) {
            // The first list is the one a table shows (a dashboard's areas,
            // not the notes about its parts that follow).
            if (rep == NULL)
                rep = f;
            n_rep++;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor != &google__protobuf__timestamp__descriptor) {
            one = f;
            n_msg++;
        } else if (strcmp(f->name, "next_page_token") != 0) {
            n_other++;
        }
    }
    ProtobufCMessage *self = (ProtobufCMessage *) (uintptr_t) msg;
    ProtobufCMessage *const *items = &self;
    size_t n_items = 1;
    if (n_rep >= 1 && n_msg == 0) {
        items = *(ProtobufCMessage *const *const *) FIELD_CPTR(msg, rep->offset);
        n_items = *(const size_t *) FIELD_CPTR(msg, rep->quantifier_offset);
        d = rep->descriptor;
    } else if (n_rep == 0 && n_msg == 1 && n_other == 0) {
        items = (ProtobufCMessage *const *) FIELD_CPTR(msg, one->offset);
        n_items = *items ? 1 : 0;
        d = one->descriptor;
    }
    colspec cs[64];
    size_t nc = columns(d, cs, 64);
    t->n_cols = nc;
    t->cols = calloc(nc ? nc : 1, sizeof *t->cols);
    for (size_t c = 0; c < nc; c++) {
        char buf[256];
        if (cs[c].inner)
            snprintf(buf, sizeof buf, "%s.%s", cs[c].outer->name, cs[c].inner->name);
        else
            snprintf(buf, sizeof buf, "%s", cs[c].outer->name);
        t->cols[c] = strdup(buf);
    }
    t->n_rows = n_items;
    t->rows = calloc(n_items ? n_items : 1, sizeof *t->rows);
    for (size_t r = 0; r < n_items; r++) {
        t->rows[r] = calloc(nc ? nc : 1, sizeof(char *));
        for (size_t c = 0; c < nc; c++)
            t->rows[r][c] = row_cell(items[r], &cs[c]);
    }
}

void
civic_table_free(civic_table *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (size_t c = 0; c < t->n_cols; c++)
        free(t->cols[c]);
    free(t->rows);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

size_t
civic_display_width(const char *s)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t w = 0, len = strlen(s);
    while (len > 0) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        if (n == (size_t) -1 || n == (size_t) -2) {
            w++;
            s++;
            len--;
            memset(&st, 0, sizeof st);
            continue;
        }
        if (n == 0)
            break;
        int cw = wcwidth(wc);
        w += cw > 0 ? (size_t) cw : 0;
        s += n;
        len -= n;
    }
    return w;
}

void
civic_table_print(const civic_table *t, FILE *f)
{
    // Columns empty in every row are left out, so wide messages stay readable.
    size_t *width = calloc(t->n_cols ? t->n_cols : 1, sizeof *width);
    int *show = calloc(t->n_cols ? t->n_cols : 1, sizeof *show);
    for (size_t c = 0; c < t->n_cols; c++) {
        for (size_t r = 0; r < t->n_rows; r++) {
            size_t w = civic_display_width(t->rows[r][c]);
            if (w > 0)
                show[c] = 1;
            if (w > width[c])
                width[c] = w;
        }
        if (t->n_rows == 0)
            show[c] = 1;
        size_t hw = civic_display_width(t->cols[c]);
        if (hw > width[c])
            width[c] = hw;
    }
    for (size_t r = 0; r <= t->n_rows; r++) {
        char **row = r == 0 ? t->cols : t->rows[r - 1];
        int first = 1;
        for (size_t c = 0; c < t->n_cols; c++) {
            if (!show[c])
                continue;
            if (!first)
                fputs("  ", f);
            first = 0;
            const char *s = row[c];
            if (r == 0) {
                for (const char *p = s; *p; p++)
                    fputc(toupper((unsigned char) *p), f);
            } else {
                fputs(s, f);
            }
            int last = 1;
            for (size_t k = c + 1; k < t->n_cols; k++)
                last &= !show[k];
            if (!last)
                for (size_t k = civic_display_width(s); k < width[c]; k++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
    free(width);
    free(show);
}

static void
csv_field(const char *s, FILE *f)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void
civic_table_csv(const civic_table *t, FILE *f)
{
    for (size_t r = 0; r <= t->n_rows; r++) {
        char **row = r == 0 ? t->cols : t->rows[r - 1];
        for (size_t c = 0; c < t->n_cols; c++) {
            if (c)
                fputc(',', f);
            csv_field(row[c], f);
        }
        fputs("\r\n", f);
    }
}
