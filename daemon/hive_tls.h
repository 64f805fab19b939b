/* TLS 1.3 with mutual authentication for the Hive link (OpenSSL 3). */
#ifndef IMMUNE_HIVE_TLS_H
#define IMMUNE_HIVE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* A context that requires the peer's certificate, signed by ca.
 * NULL with a one-line reason naming the file that failed. */
SSL_CTX *hive_tls_ctx(bool server, const char *ca, const char *cert, const char *key, char *err, size_t n);
/* The last OpenSSL error (or the certificate check's verdict) as one line. */
void hive_tls_error(SSL *ssl, char *buf, size_t n);
/* The peer certificate's common name ("" without one) and its SAN URIs,
 * NUL-separated and ended by an empty string (URIs that do not fit are left out). */
void hive_tls_peer_ids(SSL *ssl, char *cn, size_t cn_n, char *uris, size_t uris_n);
/* Check peers against the CRLs in a PEM file too: a new store with ca and
 * them replaces the context's. 0, or -1 with a one-line reason. */
int hive_tls_load_crl(SSL_CTX *ctx, const char *ca, const char *path, char *err, size_t n);
/* Whether the peer's certificate is in a CRL loaded now. */
bool hive_tls_peer_revoked(SSL_CTX *ctx, SSL *ssl);
/* Split HOST:PORT or [V6]:PORT. -1 on a malformed address. */
int hive_split_addr(const char *s, char *host, size_t hn, char *port, size_t pn);

#endif
