// civic_msg: protobuf-c messages handled generically through their
// descriptors — set a field by path from text, print as JSON in protobuf's
// canonical mapping, or flatten to columns for tables and CSV. The CLI is
// built on these, so every method's flags, outputs and CSV imports work the
// same way without per-method code.
#ifndef CIVIC_MSG_H
#define CIVIC_MSG_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

// civic_msg_new allocates and initialises an empty message (heap; free with
// protobuf_c_message_free_unpacked(msg, NULL)).
ProtobufCMessage *civic_msg_new(const ProtobufCMessageDescriptor *desc);

// civic_msg_set sets the field at path ("point.location.lat",
// "responsible[1].name", "id") from text: numbers in decimal, booleans as
// true/false, enums by name (full "POINT_KIND_FARMERS_MARKET", short
// "farmers-market" or "FARMERS_MARKET") or number, Timestamps as RFC 3339,
// "now" or Unix seconds, FieldMasks as comma-separated paths, repeated
// scalars appended one at a time. Nested messages are created as needed.
// Returns 0, or -1 with the reason in err.
int civic_msg_set(ProtobufCMessage *msg, const char *path, const char *text, char *err,
                  size_t errlen);

// civic_msg_to_json converts a message to JSON in protobuf's canonical
// mapping: lowerCamelCase names, enums as names, 64-bit integers as strings,
// Timestamps as RFC 3339, FieldMasks as strings, bytes as base64; fields at
// their default value are left out. Returns a new reference.
json_t *civic_msg_to_json(const ProtobufCMessage *msg);

// civic_msg_from_json fills msg (fresh from civic_msg_new) from JSON in
// protobuf's canonical mapping: lowerCamelCase or snake_case names, enums by
// name or number, 64-bit integers as strings or numbers, Timestamps as RFC
// 3339, FieldMasks as comma-separated paths, bytes as base64 (standard or
// URL-safe), maps as objects, Any as {"@type": URL, ...fields}; null is the
// default value. Unknown fields and type mismatches are errors naming the
// field path ("point.location.lat: expected a number"). Returns 0, or -1
// with the reason in err (msg is then partly filled; free it as usual).
int civic_msg_from_json(ProtobufCMessage *msg, json_t *j, char *err, size_t errlen);

// civic_msg_find_type returns the compiled-in descriptor of the message
// type full_name ("civic.points.v1.Point"), or NULL. It knows every message
// reachable from the services' methods and the rpc envelope.
const ProtobufCMessageDescriptor *civic_msg_find_type(const char *full_name);

// civic_msg_find_method returns the compiled-in descriptor of a method
// named "/civic.points.v1.PointsService/GetPoint" (or without the leading
// slash, or "civic.points.v1.PointsService.GetPoint"), or NULL.
const ProtobufCMethodDescriptor *civic_msg_find_method(const char *name);

// civic_json_name writes field's lowerCamelCase JSON name into out.
void civic_json_name(const char *field, char *out, size_t n);

// A table: header names and rows of cells, all heap strings.
typedef struct civic_table {
    size_t n_cols, n_rows;
    char **cols;
    char ***rows;
} civic_table;

// civic_msg_table flattens a response for table and CSV output: the items of
// its only repeated message field, or its only message field, or itself;
// scalar fields become columns, nested messages one level deep become
// dotted columns ("location.lat").
void civic_msg_table(const ProtobufCMessage *msg, civic_table *out);
void civic_table_free(civic_table *t);

// civic_table_print writes t aligned by display width (Chinese characters
// take two columns). civic_table_csv writes it as RFC 4180 CSV.
void civic_table_print(const civic_table *t, FILE *f);
void civic_table_csv(const civic_table *t, FILE *f);

// civic_display_width returns the columns a UTF-8 string takes on a terminal.
size_t civic_display_width(const char *s);

#endif
