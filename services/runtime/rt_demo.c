// The demo loaders' shared calls and random numbers (see rt_demo.h).
#include "rt_demo.h"

#include "rt_log.h"

ProtobufCMessage *
rt_demo_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *out, const civic_call_opts *o, int *failed)
{
    ProtobufCMessage *resp = NULL;
    civic_status st;
    if (ch == NULL || civic_call(ch, method, req, out, &resp, o, &st) != 0) {
        rt_log(RT_LOG_WARN, "demo.call_failed", "method=%s code=%s message=\"%s\"", method,
               ch ? civic_code_name(st.code) : "UNAVAILABLE", ch ? st.message : "no channel");
        (*failed)++;
        return NULL;
    }
    return resp;
}

unsigned
rt_demo_rand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}
