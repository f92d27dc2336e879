// civic_desc: the descriptor set every civicgrid binary embeds (written by
// protoc at build time), parsed once, for what protoc-c's descriptors lack:
// method options (reads carry idempotency_level = NO_SIDE_EFFECTS), comments,
// and the list of services for reflection.
#ifndef CIVIC_DESC_H
#define CIVIC_DESC_H

#include <stddef.h>

extern const unsigned char civic_descriptor_set[];
extern const size_t civic_descriptor_set_len;

// civic_desc_method_is_read returns 1 if the method ("/pkg.Service/Method")
// is declared NO_SIDE_EFFECTS, 0 if it is declared and may write, and -1 if
// no service declares it. Thread-safe; parses the set on first use.
int civic_desc_method_is_read(const char *method);

// civic_desc_method_types gives the full names (without the leading dot) of a
// method's input and output messages; borrowed, valid for the process's
// life. Returns 0, or -1 if the method is unknown.
int civic_desc_method_types(const char *method, const char **input, const char **output);

// civic_desc_foreach_method calls fn for every method of every service in the
// set, in declaration order, with the full method name and whether it reads.
void civic_desc_foreach_method(void (*fn)(const char *method, int read, void *arg), void *arg);

#endif
