// TLS for tls+tcp:// addresses: what a dialer or a listener needs set before
// it starts. nng's mbedTLS build does the work; these only name the files.
#ifndef CIVIC_TLS_H
#define CIVIC_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stddef.h>

// civic_tls_url is nonzero for a tls+ address.
int civic_tls_url(const char *url);

// civic_tls_auth_parse reads "none", "optional" or "required" into an
// NNG_TLS_AUTH_MODE_* value; -1 for anything else.
int civic_tls_auth_parse(const char *s);

// civic_tls_dialer checks the server against ca_file (required: a TLS
// client that checks nothing is refused here), names the server as
// server_name when set (else the address's host), and shows cert_key_file
// (certificate then key, PEM) when set. Returns 0, or an nng error with
// the reason in err.
int civic_tls_dialer(nng_dialer d, const char *ca_file, const char *cert_key_file,
                     const char *server_name, char *err, size_t errlen);

// civic_tls_listener serves cert_key_file and checks callers' certificates
// against ca_file as auth (an NNG_TLS_AUTH_MODE_* value) says. Returns 0, or
// an nng error with the reason in err.
int civic_tls_listener(nng_listener l, const char *cert_key_file, const char *ca_file, int auth,
                       char *err, size_t errlen);

#endif
