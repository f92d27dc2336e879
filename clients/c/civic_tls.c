// TLS settings for dialers and listeners (see civic_tls.h).
#include "civic_tls.h"

#include <stdio.h>
#include <string.h>

int
civic_tls_url(const char *url)
{
    return url != NULL && strncmp(url, "tls+", 4) == 0;
}

int
civic_tls_auth_parse(const char *s)
{
    if (s == NULL || strcmp(s, "required") == 0)
        return NNG_TLS_AUTH_MODE_REQUIRED;
    if (strcmp(s, "optional") == 0)
        return NNG_TLS_AUTH_MODE_OPTIONAL;
    if (strcmp(s, "none") == 0)
        return NNG_TLS_AUTH_MODE_NONE;
    return -1;
}

static int
empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

int
civic_tls_dialer(nng_dialer d, const char *ca_file, const char *cert_key_file,
                 const char *server_name, char *err, size_t errlen)
{
    int rv;
    if (empty(ca_file)) {
        snprintf(err, errlen, "a tls+tcp:// address needs a CA file to check the server with");
        return NNG_EINVAL;
    }
    if ((rv = nng_dialer_set_int(d, NNG_OPT_TLS_AUTH_MODE, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
        (rv = nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, ca_file)) != 0) {
        snprintf(err, errlen, "CA file %s: %s", ca_file, nng_strerror(rv));
        return rv;
    }
    if (!empty(cert_key_file) && (rv = nng_dialer_set_string(d, NNG_OPT_TLS_CERT_KEY_FILE, cert_key_file)) != 0) {
        snprintf(err, errlen, "certificate and key file %s: %s", cert_key_file, nng_strerror(rv));
        return rv;
    }
    if (!empty(server_name) && (rv = nng_dialer_set_string(d, NNG_OPT_TLS_SERVER_NAME, server_name)) != 0) {
        snprintf(err, errlen, "server name %s: %s", server_name, nng_strerror(rv));
        return rv;
    }
    return 0;
}

int
civic_tls_listener(nng_listener l, const char *cert_key_file, const char *ca_file, int auth,
                   char *err, size_t errlen)
{
    int rv;
    if (empty(cert_key_file)) {
        snprintf(err, errlen, "a tls+tcp:// listener needs --tls-cert-key-file");
        return NNG_EINVAL;
    }
    if (auth != NNG_TLS_AUTH_MODE_NONE && empty(ca_file)) {
        snprintf(err, errlen, "checking callers' certificates (--tls-client-auth) needs --tls-ca-file");
        return NNG_EINVAL;
    }
    if ((rv = nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE, cert_key_file)) != 0) {
        snprintf(err, errlen, "certificate and key file %s: %s", cert_key_file, nng_strerror(rv));
        return rv;
    }
    if (!empty(ca_file) && (rv = nng_listener_set_string(l, NNG_OPT_TLS_CA_FILE, ca_file)) != 0) {
        snprintf(err, errlen, "CA file %s: %s", ca_file, nng_strerror(rv));
        return rv;
    }
    if ((rv = nng_listener_set_int(l, NNG_OPT_TLS_AUTH_MODE, auth)) != 0) {
        snprintf(err, errlen, "client authentication mode: %s", nng_strerror(rv));
        return rv;
    }
    return 0;
}
