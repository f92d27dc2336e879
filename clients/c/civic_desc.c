// Method facts from the embedded FileDescriptorSet.
#include "civic_desc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

typedef struct method_fact {
    char *name; // "/pkg.Service/Method"
    const char *input, *output;
    int read;
} method_fact;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static Google__Protobuf__FileDescriptorSet *set;
static method_fact *facts;
static size_t n_facts;

static void
load(void)
{
    set = google__protobuf__file_descriptor_set__unpack(NULL, civic_descriptor_set_len,
                                                        civic_descriptor_set);
    if (set == NULL)
        return;
    size_t cap = 0;
    for (size_t f = 0; f < set->n_file; f++)
        for (size_t s = 0; s < set->file[f]->n_service; s++)
            cap += set->file[f]->service[s]->n_method;
    facts = calloc(cap ? cap : 1, sizeof *facts);
    for (size_t f = 0; f < set->n_file; f++) {
        const Google__Protobuf__FileDescriptorProto *fd = set->file[f];
        for (size_t s = 0; s < fd->n_service; s++) {
            const Google__Protobuf__ServiceDescriptorProto *sd = fd->service[s];
            for (size_t m = 0; m < sd->n_method; m++) {
                const Google__Protobuf__MethodDescriptorProto *md = sd->method[m];
                method_fact *mf = &facts[n_facts++];
                size_t n = strlen(fd->package) + strlen(sd->name) + strlen(md->name) + 4;
                mf->name = malloc(n);
                snprintf(mf->name, n, "/%s.%s/%s", fd->package, sd->name, md->name);
                mf->input = md->input_type[0] == '.' ? md->input_type + 1 : md->input_type;
                mf->output = md->output_type[0] == '.' ? md->output_type + 1 : md->output_type;
                mf->read = md->options != NULL && md->options->has_idempotency_level &&
                           md->options->idempotency_level ==
                               GOOGLE__PROTOBUF__METHOD_OPTIONS__IDEMPOTENCY_LEVEL__NO_SIDE_EFFECTS;
            }
        }
    }
}

static const method_fact *
find(const char *method)
{
    pthread_once(&once, load);
    for (size_t i = 0; i < n_facts; i++)
        if (strcmp(facts[i].name, method) == 0)
            return &facts[i];
    return NULL;
}

int
civic_desc_method_is_read(const char *method)
{
    const method_fact *mf = find(method);
    return mf ? mf->read : -1;
}

int
civic_desc_method_types(const char *method, const char **input, const char **output)
{
    const method_fact *mf = find(method);
    if (mf == NULL)
        return -1;
    *input = mf->input;
    *output = mf->output;
    return 0;
}

void
civic_desc_foreach_method(void (*fn)(const char *method, int read, void *arg), void *arg)
{
    pthread_once(&once, load);
    for (size_t i = 0; i < n_facts; i++)
        fn(facts[i].name, facts[i].read, arg);
}
