/*
 * fuzz_config.c - libFuzzer target for config_parse().
 *
 * Beyond "no crash" it checks that parsing is deterministic, that an accepted
 * file keeps its meaning when a comment and a blank line are appended, that
 * an accepted configuration holds what the validators promise, and that a
 * rejected one always says why, each message starting with the display name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define NAME "fuzz.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: property violated: %s\n", what);
		abort();
	}
}

static int same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int same_strv(const struct strv *a, const struct strv *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!same_str(a->v[i], b->v[i]))
			return 0;
	return 1;
}

static int same_config(const struct config *a, const struct config *b)
{
	return same_str(a->path, b->path) && same_str(a->hostname, b->hostname) &&
	       same_str(a->domain, b->domain) && same_str(a->ipv4, b->ipv4) && same_str(a->ipv6, b->ipv6) &&
	       same_str(a->dkim_selector, b->dkim_selector) && a->dkim_bits == b->dkim_bits &&
	       same_str(a->spf_policy, b->spf_policy) && same_str(a->dmarc_policy, b->dmarc_policy) &&
	       same_str(a->dmarc_rua, b->dmarc_rua) && same_str(a->dmarc_ruf, b->dmarc_ruf) &&
	       a->dmarc_pct == b->dmarc_pct && same_str(a->dmarc_alias_to, b->dmarc_alias_to) &&
	       same_str(a->tls_cert, b->tls_cert) && same_str(a->tls_key, b->tls_key) &&
	       a->smtpd_client_connection_rate_limit == b->smtpd_client_connection_rate_limit &&
	       a->smtpd_client_message_rate_limit == b->smtpd_client_message_rate_limit &&
	       a->smtpd_client_connection_count_limit == b->smtpd_client_connection_count_limit &&
	       same_str(a->smtpd_error_sleep_time, b->smtpd_error_sleep_time) &&
	       a->initial_destination_concurrency == b->initial_destination_concurrency &&
	       same_str(a->default_destination_rate_delay, b->default_destination_rate_delay) &&
	       a->default_destination_concurrency_limit == b->default_destination_concurrency_limit &&
	       a->message_size_limit == b->message_size_limit && a->mailbox_size_limit == b->mailbox_size_limit &&
	       same_str(a->maximal_queue_lifetime, b->maximal_queue_lifetime) &&
	       same_str(a->bounce_queue_lifetime, b->bounce_queue_lifetime) &&
	       same_strv(&a->firewall_services, &b->firewall_services) &&
	       same_strv(&a->selinux_booleans, &b->selinux_booleans) && same_strv(&a->rbl, &b->rbl) &&
	       same_str(a->port25_probe, b->port25_probe);
}

/* What an accepted configuration promises to the rest of the installer. */
static void check_accepted(const struct config *c)
{
	size_t i;

	check(valid_fqdn(c->hostname) && valid_fqdn(c->domain), "hostname and domain are FQDNs");
	check(valid_ipv4(c->ipv4), "ipv4 is an address");
	check(!c->ipv6 || valid_ipv6(c->ipv6), "ipv6 is NULL or an address");
	check(c->dkim_selector && *c->dkim_selector, "selector set");
	check(c->dkim_bits == 1024 || c->dkim_bits == 2048 || c->dkim_bits == 3072 || c->dkim_bits == 4096,
	      "dkim_bits");
	check(same_str(c->spf_policy, "~all") || same_str(c->spf_policy, "-all"), "spf_policy");
	check(same_str(c->dmarc_policy, "none") || same_str(c->dmarc_policy, "quarantine") ||
	      same_str(c->dmarc_policy, "reject"), "dmarc_policy");
	check(c->dmarc_rua && c->dmarc_ruf, "rua/ruf never NULL");
	check(strncmp(c->dmarc_rua, "mailto:", 7) != 0 && strncmp(c->dmarc_ruf, "mailto:", 7) != 0,
	      "mailto: stripped");
	check(c->dmarc_pct >= 0 && c->dmarc_pct <= 100, "dmarc_pct");
	check(c->dmarc_alias_to && *c->dmarc_alias_to, "alias set");
	check(!c->tls_cert == !c->tls_key, "tls both or neither");
	check(!c->tls_cert || (c->tls_cert[0] == '/' && c->tls_key[0] == '/'), "tls paths absolute");
	check(c->smtpd_error_sleep_time && c->default_destination_rate_delay && c->maximal_queue_lifetime &&
	      c->bounce_queue_lifetime && c->port25_probe, "strings set");
	check(c->mailbox_size_limit == 0 ||
	      (c->message_size_limit != 0 && c->mailbox_size_limit >= c->message_size_limit), "size limits");
	for (i = 0; i < c->selinux_booleans.n; i++) {
		const char *eq = strchr(c->selinux_booleans.v[i], '=');
		check(eq && (!strcmp(eq, "=on") || !strcmp(eq, "=off")), "booleans normalised");
	}
	for (i = 0; i < c->rbl.n; i++)
		check(valid_fqdn(c->rbl.v[i]), "rbl items are domains");
	for (i = 0; i < c->firewall_services.n; i++)
		check(c->firewall_services.v[i][0] != '\0', "service names");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char extra[] = "\n# appended comment\n\n";
	const char *text = (const char *)data;
	struct config a, b;
	struct strv ea = { 0 }, eb = { 0 };
	size_t i;
	int ra, rb;

	ra = config_parse(text, size, NAME, &a, &ea);
	rb = config_parse(text, size, NAME, &b, &eb);
	check(ra == rb, "same return code twice");
	check(same_config(&a, &b), "same values twice");
	check(same_strv(&ea, &eb), "same errors twice");
	config_free(&b);
	strv_free(&eb);

	if (ra == 0) {
		check(ea.n == 0, "no errors when accepted");
		check_accepted(&a);
		if (size < 512 * 1024) {
			char *more = xmalloc(size + sizeof(extra));
			struct config c;
			struct strv ec = { 0 };
			int rc;

			if (size)
				memcpy(more, data, size);
			memcpy(more + size, extra, sizeof(extra) - 1);
			rc = config_parse(more, size + sizeof(extra) - 1, NAME, &c, &ec);
			check(rc == 0 && ec.n == 0, "comment and blank line appended: still accepted");
			check(same_config(&a, &c), "comment and blank line appended: same values");
			config_free(&c);
			strv_free(&ec);
			free(more);
		}
	} else {
		check(ra == -EINVAL, "rejection is -EINVAL");
		check(ea.n >= 1, "a rejection says why");
		for (i = 0; i < ea.n; i++)
			check(strncmp(ea.v[i], NAME ":", strlen(NAME ":")) == 0, "messages start with the name");
	}
	config_free(&a);
	config_free(&a);	/* safe twice */
	strv_free(&ea);
	return 0;
}
