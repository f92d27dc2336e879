// What every service's demo loader shares: it loads the demo campaign
// through the service's own public API (a channel to itself, as a client
// would), with repeatable random numbers.
#ifndef RT_DEMO_H
#define RT_DEMO_H

#include "civic_client.h"

// rt_demo_call makes one call of method (its full name) on ch with o; on
// failure (ch NULL included) it logs demo.call_failed, counts it in
// *failed and returns NULL. The reply is the caller's to free.
ProtobufCMessage *rt_demo_call(civic_channel *ch, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *out, const civic_call_opts *o,
                               int *failed);

// rt_demo_rand advances *state and returns the next number in 0..32767.
unsigned rt_demo_rand(unsigned *state);

#endif
