#include "hive_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
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
	/* buffers released while a link is idle: a Hive holds 10,000 links that each speak every
	 * few seconds, and memory left untouched that long can be taken back by the kernel and
	 * faulted in, zeroed, on the next record (in bench/hive here, a quarter of the Hive's time) */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
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

void hive_tls_peer_ids(SSL *ssl, char *cn, size_t cn_n, char *uris, size_t uris_n)
{
	cn[0] = 0;
	uris[0] = 0;
	X509 *c = SSL_get1_peer_certificate(ssl);
	if (!c)
		return;
	/* a CN with an embedded NUL or several CNs would be ambiguous: none is taken */
	X509_NAME *name = X509_get_subject_name(c);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i >= 0 && X509_NAME_get_index_by_NID(name, NID_commonName, i) < 0) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
		unsigned char *u8 = NULL;
		int len = ASN1_STRING_to_UTF8(&u8, d);
		if (len > 0 && (size_t)len < cn_n && memchr(u8, 0, (size_t)len) == NULL) {
			memcpy(cn, u8, (size_t)len);
			cn[len] = 0;
		}
		OPENSSL_free(u8);
	}
	GENERAL_NAMES *sans = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	size_t off = 0;
	for (int k = 0; sans && k < sk_GENERAL_NAME_num(sans); k++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, k);
		if (g->type != GEN_URI)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		int len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (len <= 0 || memchr(p, 0, (size_t)len) || off + (size_t)len + 2 > uris_n)
			continue;
		memcpy(uris + off, p, (size_t)len);
		off += (size_t)len;
		uris[off++] = 0;
		uris[off] = 0;
	}
	GENERAL_NAMES_free(sans);
	X509_free(c);
}

int hive_tls_load_crl(SSL_CTX *ctx, const char *ca, const char *path, char *err, size_t n)
{
	char why[256];
	/* a fresh store with the CA and the new list replaces the old one whole */
	X509_STORE *st = X509_STORE_new();
	BIO *b = BIO_new_file(path, "r");
	if (!st || !b || X509_STORE_load_file(st, ca) != 1) {
		last_error(why, sizeof(why));
		snprintf(err, n, "%s: %s", b ? ca : path, why);
		X509_STORE_free(st);
		BIO_free(b);
		return -1;
	}
	int count = 0;
	X509_CRL *crl;
	while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL))) {
		X509_STORE_add_crl(st, crl);
		X509_CRL_free(crl);
		count++;
	}
	ERR_clear_error();
	BIO_free(b);
	if (!count) {
		snprintf(err, n, "%s: no PEM CRL in it", path);
		X509_STORE_free(st);
		return -1;
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	SSL_CTX_set_cert_store(ctx, st);
	return 0;
}

bool hive_tls_peer_revoked(SSL_CTX *ctx, SSL *ssl)
{
	X509 *c = SSL_get1_peer_certificate(ssl);
	if (!c)
		return false;
	bool revoked = false;
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
	for (int i = 0; i < sk_X509_OBJECT_num(objs) && !revoked; i++) {
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		X509_REVOKED *r;
		if (crl && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(c)) == 0)
			revoked = X509_CRL_get0_by_cert(crl, &r, c) == 1;
	}
	X509_free(c);
	return revoked;
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
