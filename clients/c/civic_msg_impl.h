// civic_msg_impl: what civic_msg.c, civic_json.c and civic_table.c share,
// private to the three of them: reaching a field by its offset, the size of
// a repeated field's element, and the few helpers more than one of them
// needs. Nothing outside clients/c includes it; the public API is civic_msg.h.
#ifndef CIVIC_MSG_IMPL_H
#define CIVIC_MSG_IMPL_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

// The field at byte offset off of a message, as protobuf-c's descriptors
// give it (offset and quantifier_offset).
#define FIELD_PTR(msg, off) ((void *) ((char *) (msg) + (off)))
#define FIELD_CPTR(msg, off) ((const void *) ((const char *) (msg) + (off)))

// civic_msg_value_size returns the size of one value of type t as a
// repeated field stores it (the stride of its array).
size_t civic_msg_value_size(ProtobufCType t);

// civic_msg_parse_enum reads a value of ed from text: its full name, its
// name without the enum's prefix (any case, dashes for underscores) or its
// number. Returns 0 with *out set, or -1.
int civic_msg_parse_enum(const ProtobufCEnumDescriptor *ed, const char *text, int *out);

// civic_msg_parse_time reads text as RFC 3339 (or a bare date, midnight
// UTC), Unix seconds or "now". Returns 0, or -1 if it is none of them.
int civic_msg_parse_time(const char *text, int64_t *secs, int32_t *nanos);

// civic_msg_value_json returns the JSON of the one value of field f at p
// (one element of a repeated field, or a singular field): a new reference.
json_t *civic_msg_value_json(const ProtobufCFieldDescriptor *f, const void *p);

#endif
