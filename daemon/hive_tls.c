#include "hive_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static void last_error(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, n);
	else
		snprintf(buf, n, "unknown TLS error");
	ERR_clear_error();
}

SSL_CTX *hive_tls_ctx(bool server, const char *ca, const char *cert, const char *key, char *err, size_t n)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		last_error(why, sizeof(why));
		snprintf(err, n, "cannot create a TLS context: %s", why);
		return NULL;
	}
	/* TLS 1.3 only: both ends are ours */
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!ca || !cert || !key) {
		snprintf(err, n, "the Hive link needs a CA, a certificate and a key");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		last_error(why, sizeof(why));
		snprintf(err, n, "%s: cannot load the CA: %s", ca, why);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		last_error(why, sizeof(why));
		snprintf(err, n, "%s: cannot load the certificate: %s", cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		last_error(why, sizeof(why));
		snprintf(err, n, "%s: cannot load the key: %s", key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, n, "%s does not match %s", key, cert);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (server)
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void hive_tls_error(SSL *ssl, char *buf, size_t n)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK) {
		snprintf(buf, n, "certificate refused: %s", X509_verify_cert_error_string(v));
		ERR_clear_error();
		return;
	}
	last_error(buf, n);
}

void hive_tls_peer_cn(SSL *ssl, char *buf, size_t n)
{
	buf[0] = 0;
	X509 *c = SSL_get1_peer_certificate(ssl);
	if (!c)
		return;
	X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, buf, (int)n);
	X509_free(c);
}

int hive_split_addr(const char *s, char *host, size_t hn, char *port, size_t pn)
{
	const char *colon;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -1;
		snprintf(host, hn, "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s)
			return -1;
		snprintf(host, hn, "%.*s", (int)(colon - s), s);
	}
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}
