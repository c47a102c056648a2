/*
 * config.h - /etc/mailstage/mailstage.conf: parse, validate, defaults.
 *
 * Syntax: "key = value" lines, '#' starts a comment line (a line whose first
 * non-blank is '#'), blank lines ignored.  Every key is described once in a
 * table (config.c) that also drives validation, defaults and the
 * documentation test.  Validation reports every error at once as
 *   FILE:LINE: what is wrong, e.g. an example of right
 * and an unknown key gets a did-you-mean.
 */
#ifndef MAILSTAGE_CONFIG_H
#define MAILSTAGE_CONFIG_H

#include "util.h"

struct config {
	char *path;			/* file it came from (for messages) */
	char *source;			/* the bytes config_load() parsed (NULL from config_parse()) */
	size_t source_len;

	/* identity */
	char *hostname;			/* FQDN, e.g. mail.example.com */
	char *domain;			/* mail domain, e.g. example.com */
	char *ipv4;			/* public IPv4 of the server */
	char *ipv6;			/* public IPv6, or NULL when none */

	/* DKIM */
	char *dkim_selector;		/* "default" */
	long dkim_bits;			/* 2048 (1024..4096) */
	struct strv dkim_algorithms;	/* "rsa-sha256" [, "ed25519-sha256"] */
	long dkim_rotate_days;		/* 0: never */
	long dkim_retire_days;		/* 7 */

	/* SPF / DMARC */
	char *spf_policy;		/* "~all" or "-all" */
	char *dmarc_policy;		/* none | quarantine | reject */
	char *dmarc_rua;		/* address (no "mailto:"), e.g. dmarc@example.com; "" = none */
	char *dmarc_ruf;		/* address or "" */
	long dmarc_pct;			/* 0..100 */
	char *dmarc_alias_to;		/* local recipient of DMARC reports, "root" */

	/* TLS: both set, or both NULL (then a self-signed certificate is made) */
	char *tls_cert;
	char *tls_key;
	char *tls_acme;			/* "yes" | "no" (steps/tls.c: ACME instead of self-signed) */
	char *acme_directory;		/* directory URL (default Let's Encrypt production) */
	char *acme_email;		/* contact, "" = none */
	char *acme_ca_file;		/* path inside --root, or NULL: the system's trust */

	/* Postfix limits (the seed guide's values are the defaults) */
	long smtpd_client_connection_rate_limit;	/* 10 */
	long smtpd_client_message_rate_limit;		/* 30 */
	long smtpd_client_connection_count_limit;	/* 10 */
	char *smtpd_error_sleep_time;			/* "1s" */
	long initial_destination_concurrency;		/* 2 */
	char *default_destination_rate_delay;		/* "1s" */
	long default_destination_concurrency_limit;	/* 5 */
	long message_size_limit;			/* 10240000 */
	long mailbox_size_limit;			/* 51200000 */
	char *maximal_queue_lifetime;			/* "1d" */
	char *bounce_queue_lifetime;			/* "1d" */

	/* system */
	struct strv firewall_services;	/* smtp smtps smtp-submission */
	struct strv selinux_booleans;	/* "name=on" / "name=off" items */
	struct strv rbl;		/* DNS blocklists, e.g. zen.spamhaus.org; may be empty */
	char *port25_probe;		/* host:port for the outbound port 25 probe */

	/* Sakura VPS API (steps/provider.c): used when key file and server ID are set */
	char *sakura_api_key_file;	/* path inside --root, or NULL */
	long sakura_server_id;		/* 0: not set */
	char *sakura_api_url;		/* NULL: SAKURA_API_DEFAULT */
	char *sakura_ca_file;		/* path inside --root, or NULL */
};

/* One configuration key, as documented in payload/mailstage.conf and mailstage.conf(5). */
struct config_key {
	const char *name;
	const char *type;		/* "fqdn", "ipv4", "int", "duration", "list", ... */
	const char *default_value;	/* NULL: required; "" : empty/none */
	const char *example;		/* a valid value, used in error messages */
	const char *doc;		/* one line */
	const char *anchor;		/* section (.SH) of mailstage.conf(5) that documents it */
	long lo, hi;			/* bounds of a whole number or time (seconds); 0, 0: none */
};
const struct config_key *config_keys(size_t *n);

/*
 * Load and validate FILE (a host path; the caller resolved it inside --root).
 * On success returns 0 and fills *cfg.  On validation errors returns -EINVAL
 * and appends one message per error to *errors ("FILE:LINE: ..."); on I/O
 * errors returns -errno with one message.  The caller owns *cfg either way
 * (config_free).  display_name is used in messages instead of the host path.
 */
int config_load(const char *file, const char *display_name, struct config *cfg, struct strv *errors);
/* Parse from memory (used by config_load, the fuzzer and tests). */
int config_parse(const char *text, size_t len, const char *display_name, struct config *cfg,
		 struct strv *errors);
void config_free(struct config *cfg);

/* Does dkim_algorithms ask for an Ed25519 signature beside the RSA one? */
int config_dkim_ed25519(const struct config *cfg);

/* Validators shared with other modules. */
int valid_fqdn(const char *s);
int valid_ipv4(const char *s);
int valid_ipv6(const char *s);

/* tls_acme = yes: the certificate comes from ACME (steps/tls.c, dns, verify). */
int config_tls_acme(const struct config *cfg);

#endif
