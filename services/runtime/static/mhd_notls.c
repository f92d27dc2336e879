// GnuTLS stand-ins for fully static builds (CIVIC_STATIC), linked after
// Debian's libmicrohttpd.a. That archive is built with HTTPS support and so
// refers to GnuTLS, of which Debian ships no static archive. The admin server
// (rt_admin.c) never asks libmicrohttpd for TLS (no MHD_USE_TLS), so none of
// these is reached, except the global init and deinit libmicrohttpd calls
// from its library constructor and destructor: those succeed and do nothing.
// Any other call would mean TLS was turned on: it aborts rather than pretend.
// The names are all that matter to the linker; no GnuTLS header is included.
#include <stdlib.h>

int gnutls_global_init(void);
void gnutls_global_deinit(void);
int
gnutls_global_init(void)
{
    return 0;
}
void
gnutls_global_deinit(void)
{
}

// A variable in GnuTLS (its allocator), not a function.
void *(*gnutls_malloc)(size_t) = malloc;

#define CIVIC_NO_TLS(name)                                                                         \
    void name(void);                                                                               \
    void name(void)                                                                                \
    {                                                                                              \
        abort();                                                                                   \
    }

CIVIC_NO_TLS(gnutls_alpn_set_protocols)
CIVIC_NO_TLS(gnutls_bye)
CIVIC_NO_TLS(gnutls_certificate_allocate_credentials)
CIVIC_NO_TLS(gnutls_certificate_free_credentials)
CIVIC_NO_TLS(gnutls_certificate_server_set_request)
CIVIC_NO_TLS(gnutls_certificate_set_dh_params)
CIVIC_NO_TLS(gnutls_certificate_set_retrieve_function2)
CIVIC_NO_TLS(gnutls_certificate_set_retrieve_function3)
CIVIC_NO_TLS(gnutls_certificate_set_x509_key_mem)
CIVIC_NO_TLS(gnutls_certificate_set_x509_key_mem2)
CIVIC_NO_TLS(gnutls_certificate_set_x509_trust_mem)
CIVIC_NO_TLS(gnutls_cipher_get)
CIVIC_NO_TLS(gnutls_credentials_set)
CIVIC_NO_TLS(gnutls_deinit)
CIVIC_NO_TLS(gnutls_dh_params_deinit)
CIVIC_NO_TLS(gnutls_dh_params_import_pkcs3)
CIVIC_NO_TLS(gnutls_dh_params_init)
CIVIC_NO_TLS(gnutls_handshake)
CIVIC_NO_TLS(gnutls_init)
CIVIC_NO_TLS(gnutls_priority_deinit)
CIVIC_NO_TLS(gnutls_priority_init)
CIVIC_NO_TLS(gnutls_priority_set)
CIVIC_NO_TLS(gnutls_protocol_get_version)
CIVIC_NO_TLS(gnutls_psk_allocate_server_credentials)
CIVIC_NO_TLS(gnutls_psk_free_server_credentials)
CIVIC_NO_TLS(gnutls_psk_set_server_credentials_function)
CIVIC_NO_TLS(gnutls_record_check_pending)
CIVIC_NO_TLS(gnutls_record_get_direction)
CIVIC_NO_TLS(gnutls_record_recv)
CIVIC_NO_TLS(gnutls_record_send)
CIVIC_NO_TLS(gnutls_session_get_ptr)
CIVIC_NO_TLS(gnutls_session_set_ptr)
CIVIC_NO_TLS(gnutls_strerror)
CIVIC_NO_TLS(gnutls_transport_set_int2)
