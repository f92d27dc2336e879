// Flags, environment, defaults; in that order of precedence.
#include "rt_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
rt_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno != 0 || s[0] == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default:
        return -1;
    }
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end != '\0' || (shift && v > (SIZE_MAX >> shift)))
        return -1;
    *out = (size_t) (v << shift);
    return 0;
}

static int
set_value(const rt_cfg_key *k, const char *text, const char *from)
{
    switch (k->type) {
    case RT_CFG_STR:
        *(const char **) k->value = text;
        return 0;
    case RT_CFG_BOOL:
        if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 || strcmp(text, "yes") == 0) {
            *(int *) k->value = 1;
            return 0;
        }
        if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 || strcmp(text, "no") == 0) {
            *(int *) k->value = 0;
            return 0;
        }
        fprintf(stderr, "%s: %s must be true or false, not \"%s\"\n", from, k->name, text);
        return -1;
    case RT_CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end != '\0' || errno != 0 || v < k->min || v > k->max) {
            fprintf(stderr, "%s: %s must be a whole number from %lld to %lld, not \"%s\"\n", from,
                    k->name, k->min, k->max, text);
            return -1;
        }
        *(long long *) k->value = v;
        return 0;
    }
    case RT_CFG_SIZE: {
        size_t v;
        if (rt_parse_size(text, &v) != 0 || (long long) v < k->min ||
            (unsigned long long) v > (unsigned long long) k->max) {
            fprintf(stderr, "%s: %s must be a size from %lld to %lld bytes (K, M, G suffixes), not \"%s\"\n",
                    from, k->name, k->min, k->max, text);
            return -1;
        }
        *(size_t *) k->value = v;
        return 0;
    }
    }
    return -1;
}

static void
print_help(const rt_cfg_key *keys, size_t n, const char *prog, const char *about)
{
    printf("Usage: %s [OPTION]...\n%s\n\nOptions (each also read from its environment variable):\n",
           prog, about);
    for (size_t i = 0; i < n; i++) {
        const rt_cfg_key *k = &keys[i];
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", k->name, k->type == RT_CFG_BOOL ? "" : " VALUE");
        printf("  %-28s %s\n  %-28s [%s", flag, k->help, "", k->env);
        if (k->def != NULL)
            printf("; default %s", k->def[0] ? k->def : "\"\"");
        if (k->type == RT_CFG_INT || k->type == RT_CFG_SIZE)
            printf("; %lld to %lld", k->min, k->max);
        printf("]\n");
    }
    printf("  %-28s %s\n", "--help", "print this help and exit");
}

int
rt_config_parse(const rt_cfg_key *keys, size_t n, int argc, char **argv, const char *prog,
                const char *about)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(keys[i].env);
        const char *from = keys[i].env;
        if (v == NULL || v[0] == '\0') {
            v = keys[i].def;
            from = "default";
        }
        if (v == NULL) {
            if (keys[i].type == RT_CFG_STR)
                *(const char **) keys[i].value = NULL;
            continue;
        }
        if (set_value(&keys[i], v, from) != 0)
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(keys, n, prog, about);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", prog, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen(name);
        const rt_cfg_key *k = NULL;
        for (size_t i = 0; i < n; i++)
            if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
                k = &keys[i];
        if (k == NULL) {
            fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", prog, (int) len, name);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL && k->type == RT_CFG_BOOL)
            v = "true";
        if (v == NULL) {
            if (a + 1 >= argc) {
                fprintf(stderr, "%s: --%s needs a value\n", prog, k->name);
                return -1;
            }
            v = argv[++a];
        }
        if (set_value(k, v, "flag") != 0)
            return -1;
    }
    return 0;
}
