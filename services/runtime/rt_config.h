// rt_config: configuration from one declarative table per service. Each key
// has a flag (--name), an environment variable, a type, bounds and a
// default; flags win over the environment, which wins over the default.
// Values are validated at start, failing fast with the key's name, and
// --help is generated from the table.
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stddef.h>

typedef enum rt_cfg_type {
    RT_CFG_STR,  // char *: points into argv, the environment or def
    RT_CFG_INT,  // long long, within [min, max]
    RT_CFG_SIZE, // size_t with an optional K, M, G or T suffix, within [min, max]
    RT_CFG_BOOL, // int: a bare flag, or true/false/1/0 in the environment
} rt_cfg_type;

typedef struct rt_cfg_key {
    const char *name; // the flag without "--", e.g. "map-size"
    const char *env;  // e.g. "CIVIC_MAP_SIZE"
    rt_cfg_type type;
    const char *def;  // the default, as text; NULL for none
    long long min, max;
    void *value;      // where the parsed value goes
    const char *help;
} rt_cfg_key;

// rt_config_parse fills every key's value from argv, the environment and the
// defaults. Returns 0; 1 if --help was asked (the help is printed to stdout);
// -1 after printing the error, naming the key, to stderr.
int rt_config_parse(const rt_cfg_key *keys, size_t n, int argc, char **argv, const char *prog,
                    const char *about);

// rt_parse_size parses "64M", "4G", "4096" into *out. Returns 0 or -1.
int rt_parse_size(const char *s, size_t *out);

#endif
