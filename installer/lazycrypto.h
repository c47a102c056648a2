/*
 * lazycrypto.h - libcrypto, loaded on first use (included by crypto.c only).
 *
 * Linked, libcrypto is mapped and relocated in every run (OpenSSL 3: 1.6
 * MiB of resident memory and a millisecond), while a converged apply whose
 * keys and certificate are unchanged needs none of it (fpcache.h).  So, as
 * lazylib.h does for libarchive and libcurl, it is opened with dlopen() by
 * the soname of the headers it was compiled against, and the functions are
 * called through pointers with the usual names.  The names are the real
 * symbols after OpenSSL's own macros, which differ by version:
 * EVP_PKEY_bits is EVP_PKEY_get_bits in 3.0, X509_get_notBefore is
 * X509_getm_notBefore from 1.1 (a field in 1.0.2), the stacks are sk_* in
 * 1.0.2 and OPENSSL_sk_* later (crypto.c calls those through MS_SK_*: 1.1's
 * typed sk_ functions are inline and would need the library at link time).
 * Call lazy_crypto() before the first libcrypto call of a code path.
 */
#ifndef MAILSTAGE_LAZYCRYPTO_H
#define MAILSTAGE_LAZYCRYPTO_H

#include <openssl/opensslv.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define LAZY_CRYPTO_SONAMES { "libcrypto.so.3" }
#elif OPENSSL_VERSION_NUMBER >= 0x10100000L
#define LAZY_CRYPTO_SONAMES { "libcrypto.so.1.1" }
#else
#define LAZY_CRYPTO_SONAMES { "libcrypto.so.10", "libcrypto.so.1.0.2", "libcrypto.so.1.0.0" }	/* EL7, others */
#endif

/* 0 when loaded (now or before); -ENOENT with *why (caller frees) when it is missing. */
int lazy_crypto(char **why);

#define LAZY_CRYPTO_COMMON(X) \
	X(ASN1_BIT_STRING_free) X(ASN1_BIT_STRING_new) X(ASN1_BIT_STRING_set_bit) X(ASN1_IA5STRING_free) \
	X(ASN1_IA5STRING_new) X(ASN1_STRING_set) X(ASN1_STRING_to_UTF8) X(ASN1_TIME_diff) \
	X(ASN1_TIME_free) X(ASN1_TIME_set) X(BASIC_CONSTRAINTS_free) X(BASIC_CONSTRAINTS_new) X(BIO_ctrl) \
	X(BIO_free) X(BIO_new) X(BIO_new_mem_buf) X(BIO_s_mem) X(BN_bin2bn) X(BN_free) \
	X(BN_to_ASN1_INTEGER) X(CRYPTO_free) X(ERR_clear_error) X(EVP_EncodeBlock) X(EVP_PKEY_CTX_free) \
	X(EVP_PKEY_CTX_new_id) X(EVP_PKEY_free) X(EVP_PKEY_keygen) X(EVP_PKEY_keygen_init) X(EVP_sha256) \
	X(EXTENDED_KEY_USAGE_free) X(GENERAL_NAMES_free) X(GENERAL_NAME_free) X(GENERAL_NAME_new) \
	X(GENERAL_NAME_set0_value) X(OBJ_nid2obj) X(OBJ_nid2sn) X(PEM_read_bio_PrivateKey) \
	X(PEM_read_bio_X509) X(PEM_write_bio_PrivateKey) X(PEM_write_bio_X509) X(X509_NAME_ENTRY_get_data) \
	X(X509_NAME_add_entry_by_txt) X(X509_NAME_get_entry) X(X509_NAME_get_index_by_NID) \
	X(X509_add1_ext_i2d) X(X509_check_private_key) X(X509_free) X(X509_get_ext_d2i) \
	X(X509_get_serialNumber) X(X509_get_subject_name) X(X509_gmtime_adj) X(X509_new) \
	X(X509_set_issuer_name) X(X509_set_pubkey) X(X509_set_version) X(X509_sign) X(X509_time_adj_ex) \
	X(i2d_PUBKEY) \
	X(EVP_PKEY_CTX_new) X(EVP_PKEY_sign_init) X(EVP_PKEY_sign) X(EVP_Digest) X(X509_REQ_new) \
	X(X509_REQ_free) X(X509_REQ_set_version) X(X509_REQ_get_subject_name) X(X509_REQ_set_pubkey) \
	X(X509_REQ_add_extensions) X(X509_REQ_sign) X(i2d_X509_REQ) X(X509V3_EXT_i2d) X(X509_EXTENSION_free) \
	X(X509_get_issuer_name) X(X509_NAME_cmp) X(AUTHORITY_KEYID_free) X(i2d_ASN1_INTEGER) X(i2d_ASN1_OCTET_STRING)

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define LAZY_CRYPTO_VERSIONED(X) \
	X(EVP_PKEY_CTX_set_rsa_keygen_bits) X(EVP_PKEY_get_base_id) X(EVP_PKEY_get_bits) \
	X(X509_getm_notAfter) X(X509_getm_notBefore) X(OPENSSL_sk_new_null) X(OPENSSL_sk_num) \
	X(OPENSSL_sk_push) X(OPENSSL_sk_value) X(OPENSSL_sk_free) X(EVP_PKEY_CTX_set_ec_paramgen_curve_nid) \
	X(EVP_PKEY_CTX_set_ec_param_enc)
#elif OPENSSL_VERSION_NUMBER >= 0x10100000L
#define LAZY_CRYPTO_VERSIONED(X) \
	X(EVP_PKEY_CTX_ctrl) X(EVP_PKEY_base_id) X(EVP_PKEY_bits) X(X509_getm_notAfter) \
	X(X509_getm_notBefore) X(OPENSSL_sk_new_null) X(OPENSSL_sk_num) X(OPENSSL_sk_push) \
	X(OPENSSL_sk_value) X(OPENSSL_sk_free)
#else
#define LAZY_CRYPTO_VERSIONED(X) \
	X(EVP_PKEY_CTX_ctrl) X(EVP_PKEY_base_id) X(EVP_PKEY_bits) X(sk_new_null) X(sk_num) X(sk_push) \
	X(sk_value) X(sk_free)
#endif
#define LAZY_CRYPTO_FUNCS(X) LAZY_CRYPTO_COMMON(X) LAZY_CRYPTO_VERSIONED(X)

#define LAZY_DECLARE(f) extern __typeof__(f) *lazy_##f;
LAZY_CRYPTO_FUNCS(LAZY_DECLARE)
#undef LAZY_DECLARE

/* Stacks of any type, by the untyped calls of each version. */
#if OPENSSL_VERSION_NUMBER >= 0x10100000L
#define MS_SK_NEW() ((void *)OPENSSL_sk_new_null())
#define MS_SK_PUSH(s, p) OPENSSL_sk_push((OPENSSL_STACK *)(s), (p))
#define MS_SK_NUM(s) OPENSSL_sk_num((const OPENSSL_STACK *)(s))
#define MS_SK_VALUE(s, i) OPENSSL_sk_value((const OPENSSL_STACK *)(s), (i))
#define MS_SK_FREE(s) OPENSSL_sk_free((OPENSSL_STACK *)(s))
#else
#define MS_SK_NEW() ((void *)sk_new_null())
#define MS_SK_PUSH(s, p) sk_push((_STACK *)(s), (void *)(p))
#define MS_SK_NUM(s) sk_num((const _STACK *)(s))
#define MS_SK_VALUE(s, i) sk_value((const _STACK *)(s), (i))
#define MS_SK_FREE(s) sk_free((_STACK *)(s))
#endif

#ifndef LAZYLIB_IMPLEMENTATION
#define ASN1_BIT_STRING_free (*lazy_ASN1_BIT_STRING_free)
#define ASN1_BIT_STRING_new (*lazy_ASN1_BIT_STRING_new)
#define ASN1_BIT_STRING_set_bit (*lazy_ASN1_BIT_STRING_set_bit)
#define ASN1_IA5STRING_free (*lazy_ASN1_IA5STRING_free)
#define ASN1_IA5STRING_new (*lazy_ASN1_IA5STRING_new)
#define ASN1_STRING_set (*lazy_ASN1_STRING_set)
#define ASN1_STRING_to_UTF8 (*lazy_ASN1_STRING_to_UTF8)
#define ASN1_TIME_diff (*lazy_ASN1_TIME_diff)
#define ASN1_TIME_free (*lazy_ASN1_TIME_free)
#define ASN1_TIME_set (*lazy_ASN1_TIME_set)
#define BASIC_CONSTRAINTS_free (*lazy_BASIC_CONSTRAINTS_free)
#define BASIC_CONSTRAINTS_new (*lazy_BASIC_CONSTRAINTS_new)
#define BIO_ctrl (*lazy_BIO_ctrl)
#define BIO_free (*lazy_BIO_free)
#define BIO_new (*lazy_BIO_new)
#define BIO_new_mem_buf (*lazy_BIO_new_mem_buf)
#define BIO_s_mem (*lazy_BIO_s_mem)
#define BN_bin2bn (*lazy_BN_bin2bn)
#define BN_free (*lazy_BN_free)
#define BN_to_ASN1_INTEGER (*lazy_BN_to_ASN1_INTEGER)
#define CRYPTO_free (*lazy_CRYPTO_free)
#define ERR_clear_error (*lazy_ERR_clear_error)
#define EVP_EncodeBlock (*lazy_EVP_EncodeBlock)
#define EVP_PKEY_CTX_free (*lazy_EVP_PKEY_CTX_free)
#define EVP_PKEY_CTX_new_id (*lazy_EVP_PKEY_CTX_new_id)
#define EVP_PKEY_free (*lazy_EVP_PKEY_free)
#define EVP_PKEY_keygen (*lazy_EVP_PKEY_keygen)
#define EVP_PKEY_keygen_init (*lazy_EVP_PKEY_keygen_init)
#define EVP_sha256 (*lazy_EVP_sha256)
#define EXTENDED_KEY_USAGE_free (*lazy_EXTENDED_KEY_USAGE_free)
#define GENERAL_NAMES_free (*lazy_GENERAL_NAMES_free)
#define GENERAL_NAME_free (*lazy_GENERAL_NAME_free)
#define GENERAL_NAME_new (*lazy_GENERAL_NAME_new)
#define GENERAL_NAME_set0_value (*lazy_GENERAL_NAME_set0_value)
#define OBJ_nid2obj (*lazy_OBJ_nid2obj)
#define OBJ_nid2sn (*lazy_OBJ_nid2sn)
#define PEM_read_bio_PrivateKey (*lazy_PEM_read_bio_PrivateKey)
#define PEM_read_bio_X509 (*lazy_PEM_read_bio_X509)
#define PEM_write_bio_PrivateKey (*lazy_PEM_write_bio_PrivateKey)
#define PEM_write_bio_X509 (*lazy_PEM_write_bio_X509)
#define X509_NAME_ENTRY_get_data (*lazy_X509_NAME_ENTRY_get_data)
#define X509_NAME_add_entry_by_txt (*lazy_X509_NAME_add_entry_by_txt)
#define X509_NAME_get_entry (*lazy_X509_NAME_get_entry)
#define X509_NAME_get_index_by_NID (*lazy_X509_NAME_get_index_by_NID)
#define X509_add1_ext_i2d (*lazy_X509_add1_ext_i2d)
#define X509_check_private_key (*lazy_X509_check_private_key)
#define X509_free (*lazy_X509_free)
#define X509_get_ext_d2i (*lazy_X509_get_ext_d2i)
#define X509_get_serialNumber (*lazy_X509_get_serialNumber)
#define X509_get_subject_name (*lazy_X509_get_subject_name)
#define X509_gmtime_adj (*lazy_X509_gmtime_adj)
#define X509_new (*lazy_X509_new)
#define X509_set_issuer_name (*lazy_X509_set_issuer_name)
#define X509_set_pubkey (*lazy_X509_set_pubkey)
#define X509_set_version (*lazy_X509_set_version)
#define X509_sign (*lazy_X509_sign)
#define X509_time_adj_ex (*lazy_X509_time_adj_ex)
#define i2d_PUBKEY (*lazy_i2d_PUBKEY)
#define EVP_PKEY_CTX_new (*lazy_EVP_PKEY_CTX_new)
#define EVP_PKEY_sign_init (*lazy_EVP_PKEY_sign_init)
#define EVP_PKEY_sign (*lazy_EVP_PKEY_sign)
#define EVP_Digest (*lazy_EVP_Digest)
#define X509_REQ_new (*lazy_X509_REQ_new)
#define X509_REQ_free (*lazy_X509_REQ_free)
#define X509_REQ_set_version (*lazy_X509_REQ_set_version)
#define X509_REQ_get_subject_name (*lazy_X509_REQ_get_subject_name)
#define X509_REQ_set_pubkey (*lazy_X509_REQ_set_pubkey)
#define X509_REQ_add_extensions (*lazy_X509_REQ_add_extensions)
#define X509_REQ_sign (*lazy_X509_REQ_sign)
#define i2d_X509_REQ (*lazy_i2d_X509_REQ)
#define X509V3_EXT_i2d (*lazy_X509V3_EXT_i2d)
#define X509_EXTENSION_free (*lazy_X509_EXTENSION_free)
#define X509_get_issuer_name (*lazy_X509_get_issuer_name)
#define X509_NAME_cmp (*lazy_X509_NAME_cmp)
#define AUTHORITY_KEYID_free (*lazy_AUTHORITY_KEYID_free)
#define i2d_ASN1_INTEGER (*lazy_i2d_ASN1_INTEGER)
#define i2d_ASN1_OCTET_STRING (*lazy_i2d_ASN1_OCTET_STRING)
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define EVP_PKEY_CTX_set_rsa_keygen_bits (*lazy_EVP_PKEY_CTX_set_rsa_keygen_bits)
#define EVP_PKEY_get_base_id (*lazy_EVP_PKEY_get_base_id)
#define EVP_PKEY_get_bits (*lazy_EVP_PKEY_get_bits)
#define X509_getm_notAfter (*lazy_X509_getm_notAfter)
#define X509_getm_notBefore (*lazy_X509_getm_notBefore)
#define OPENSSL_sk_new_null (*lazy_OPENSSL_sk_new_null)
#define OPENSSL_sk_num (*lazy_OPENSSL_sk_num)
#define OPENSSL_sk_push (*lazy_OPENSSL_sk_push)
#define OPENSSL_sk_value (*lazy_OPENSSL_sk_value)
#define OPENSSL_sk_free (*lazy_OPENSSL_sk_free)
#define EVP_PKEY_CTX_set_ec_paramgen_curve_nid (*lazy_EVP_PKEY_CTX_set_ec_paramgen_curve_nid)
#define EVP_PKEY_CTX_set_ec_param_enc (*lazy_EVP_PKEY_CTX_set_ec_param_enc)
#elif OPENSSL_VERSION_NUMBER >= 0x10100000L
#define EVP_PKEY_CTX_ctrl (*lazy_EVP_PKEY_CTX_ctrl)
#define EVP_PKEY_base_id (*lazy_EVP_PKEY_base_id)
#define EVP_PKEY_bits (*lazy_EVP_PKEY_bits)
#define X509_getm_notAfter (*lazy_X509_getm_notAfter)
#define X509_getm_notBefore (*lazy_X509_getm_notBefore)
#define OPENSSL_sk_new_null (*lazy_OPENSSL_sk_new_null)
#define OPENSSL_sk_num (*lazy_OPENSSL_sk_num)
#define OPENSSL_sk_push (*lazy_OPENSSL_sk_push)
#define OPENSSL_sk_value (*lazy_OPENSSL_sk_value)
#define OPENSSL_sk_free (*lazy_OPENSSL_sk_free)
#else
#define EVP_PKEY_CTX_ctrl (*lazy_EVP_PKEY_CTX_ctrl)
#define EVP_PKEY_base_id (*lazy_EVP_PKEY_base_id)
#define EVP_PKEY_bits (*lazy_EVP_PKEY_bits)
#define sk_new_null (*lazy_sk_new_null)
#define sk_num (*lazy_sk_num)
#define sk_push (*lazy_sk_push)
#define sk_value (*lazy_sk_value)
#define sk_free (*lazy_sk_free)
#endif
#endif

#endif
