/*
 * test_config.c - mailstage.conf parsing: the shipped example, defaults,
 * every kind of error with its exact text, lists, addresses.
 * Run from the repository root (payload/mailstage.conf is read).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "util.h"

#define NAME "mailstage.conf"
#define EXAMPLE "payload/mailstage.conf"
/* The three required keys, lines 1-3. */
#define BASE "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n"

static int parse(const char *text, struct config *cfg, struct strv *errors)
{
	return config_parse(text, strlen(text), NAME, cfg, errors);
}

static void dump(const struct strv *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		fprintf(stderr, "  got: %s\n", e->v[i]);
}

/* text must be rejected with exactly these messages (NULL-terminated), in order. */
static void expect_errors(const char *text, ...)
{
	struct config cfg;
	struct strv errors = { 0 };
	va_list ap;
	const char *want;
	size_t i = 0;
	int r;

	r = parse(text, &cfg, &errors);
	va_start(ap, text);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (i >= errors.n || strcmp(errors.v[i], want) != 0) {
			fprintf(stderr, "  want[%zu]: %s\n", i, want);
			dump(&errors);
			fail();
		}
		i++;
	}
	va_end(ap);
	if (i != errors.n) {
		dump(&errors);
		fail_msg("%zu errors, expected %zu", errors.n, i);
	}
	assert_int_equal(r, -EINVAL);
	config_free(&cfg);
	strv_free(&errors);
}

/* text must be accepted; *cfg filled. */
static void expect_ok(const char *text, struct config *cfg)
{
	struct strv errors = { 0 };
	int r = parse(text, cfg, &errors);

	if (r != 0 || errors.n) {
		dump(&errors);
		fail_msg("rejected (%d)", r);
	}
	strv_free(&errors);
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(read_whole_file(path, &data, &len), 0);
	return data;
}

static void assert_defaults(const struct config *c)
{
	assert_string_equal(c->dkim_selector, "default");
	assert_int_equal(c->dkim_bits, 2048);
	assert_int_equal(c->dkim_algorithms.n, 1);
	assert_string_equal(c->dkim_algorithms.v[0], "rsa-sha256");
	assert_int_equal(config_dkim_ed25519(c), 0);
	assert_int_equal(c->dkim_rotate_days, 0);
	assert_int_equal(c->dkim_retire_days, 7);
	assert_string_equal(c->spf_policy, "~all");
	assert_string_equal(c->dmarc_policy, "quarantine");
	assert_string_equal(c->dmarc_rua, "dmarc@example.com");
	assert_string_equal(c->dmarc_ruf, "dmarc@example.com");
	assert_int_equal(c->dmarc_pct, 100);
	assert_string_equal(c->dmarc_alias_to, "root");
	assert_int_equal(c->smtpd_client_connection_rate_limit, 10);
	assert_int_equal(c->smtpd_client_message_rate_limit, 30);
	assert_int_equal(c->smtpd_client_connection_count_limit, 10);
	assert_string_equal(c->smtpd_error_sleep_time, "1s");
	assert_int_equal(c->initial_destination_concurrency, 2);
	assert_string_equal(c->default_destination_rate_delay, "1s");
	assert_int_equal(c->default_destination_concurrency_limit, 5);
	assert_int_equal(c->message_size_limit, 10240000);
	assert_int_equal(c->mailbox_size_limit, 51200000);
	assert_string_equal(c->maximal_queue_lifetime, "1d");
	assert_string_equal(c->bounce_queue_lifetime, "1d");
	assert_int_equal(c->firewall_services.n, 3);
	assert_string_equal(c->firewall_services.v[0], "smtp");
	assert_string_equal(c->firewall_services.v[1], "smtps");
	assert_string_equal(c->firewall_services.v[2], "smtp-submission");
	assert_int_equal(c->selinux_booleans.n, 1);
	assert_string_equal(c->selinux_booleans.v[0], "httpd_can_sendmail=on");
	assert_int_equal(c->rbl.n, 1);
	assert_string_equal(c->rbl.v[0], "zen.spamhaus.org");
	assert_string_equal(c->port25_probe, "gmail-smtp-in.l.google.com:25");
}

/* ---- the shipped example ------------------------------------------------- */

static void test_example_parses(void **state)
{
	struct config cfg;
	struct strv errors = { 0 };
	int r;

	(void)state;
	r = config_load(EXAMPLE, NAME, &cfg, &errors);
	if (r != 0)
		dump(&errors);
	assert_int_equal(r, 0);
	assert_int_equal(errors.n, 0);
	assert_string_equal(cfg.path, NAME);
	assert_string_equal(cfg.hostname, "mail.example.com");
	assert_string_equal(cfg.domain, "example.com");
	assert_string_equal(cfg.ipv4, "192.0.2.10");
	assert_null(cfg.ipv6);
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_defaults(&cfg);
	config_free(&cfg);
}

/* Every key of the table is set or shown commented out ("#key = ") and named in prose. */
static void test_example_documents_every_key(void **state)
{
	char *text = slurp(EXAMPLE);
	const struct config_key *k;
	size_t n, i;

	(void)state;
	k = config_keys(&n);
	assert_int_equal(n, 40);
	for (i = 0; i < n; i++) {
		char *set = xasprintf("\n%s = ", k[i].name);
		char *shown = xasprintf("\n#%s = ", k[i].name);
		char *prose = xasprintf("\n# %s", k[i].name);
		if (!strstr(text, set) && !strstr(text, shown))
			fail_msg("key %s has no line in %s", k[i].name, EXAMPLE);
		if (!strstr(text, prose) && !(strstr(text, "# tls_cert, tls_key:") && !strncmp(k[i].name, "tls_", 4)))
			fail_msg("key %s is not described in %s", k[i].name, EXAMPLE);
		assert_non_null(k[i].type);
		assert_non_null(k[i].example);
		assert_non_null(k[i].doc);
		free(set);
		free(shown);
		free(prose);
	}
	free(text);
}

/* Uncommenting every "#key = value" line gives a valid file with the documented defaults. */
static void test_example_uncommented(void **state)
{
	char *text = slurp(EXAMPLE);
	struct buf b = { 0 };
	const struct config_key *k;
	struct config cfg;
	char *line, *save = NULL;
	size_t n, i;

	(void)state;
	k = config_keys(&n);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < n; i++) {
			size_t l = strlen(k[i].name);
			if (line[0] == '#' && !strncmp(line + 1, k[i].name, l) && !strncmp(line + 1 + l, " = ", 3)) {
				line++;
				break;
			}
		}
		buf_printf(&b, "%s\n", line);
	}
	expect_ok(b.data, &cfg);
	assert_string_equal(cfg.ipv6, "2001:db8::10");
	assert_string_equal(cfg.tls_cert, "/etc/pki/tls/certs/mail.example.com.crt");
	assert_string_equal(cfg.tls_key, "/etc/pki/tls/private/mail.example.com.key");
	assert_defaults(&cfg);
	config_free(&cfg);
	buf_free(&b);
	free(text);
}

/* ---- defaults and normalisation ------------------------------------------- */

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE, &cfg);
	assert_string_equal(cfg.hostname, "mail.example.com");
	assert_null(cfg.ipv6);
	assert_null(cfg.tls_cert);
	assert_defaults(&cfg);
	config_free(&cfg);
}

static void test_keys_table(void **state)
{
	const struct config_key *k;
	size_t n, i, j, required = 0;

	(void)state;
	k = config_keys(&n);
	for (i = 0; i < n; i++) {
		if (!k[i].default_value)
			required++;
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(k[i].name, k[j].name);
	}
	assert_int_equal(required, 3);
	assert_int_equal(config_keys(NULL) == k, 1);
}

/* Every example in the table is a valid value for its key. */
static void test_keys_examples_valid(void **state)
{
	const struct config_key *k;
	struct config cfg;
	size_t n, i;

	(void)state;
	k = config_keys(&n);
	for (i = 0; i < n; i++) {
		char *text;
		if (!strcmp(k[i].name, "hostname") || !strcmp(k[i].name, "domain") || !strcmp(k[i].name, "ipv4") ||
		    !strncmp(k[i].name, "tls_", 4))
			continue;
		text = xasprintf(BASE "%s = %s\n", k[i].name, k[i].example);
		expect_ok(text, &cfg);
		config_free(&cfg);
		free(text);
	}
}

static void test_whitespace_crlf_bom(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok("\xef\xbb\xbf# comment\r\n\r\n  \t hostname\t=  Mail.Example.COM.  \r\n"
		  "   # indented comment\r\ndomain=example.com\r\nipv4 =192.0.2.10", &cfg);
	assert_string_equal(cfg.hostname, "mail.example.com");
	assert_string_equal(cfg.domain, "example.com");
	assert_string_equal(cfg.ipv4, "192.0.2.10");
	config_free(&cfg);
}

static void test_ipv6_canonical(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE "ipv6 = 2001:DB8:0:0::10\n", &cfg);
	assert_string_equal(cfg.ipv6, "2001:db8::10");
	config_free(&cfg);
	expect_ok(BASE "ipv6 =\n", &cfg);
	assert_null(cfg.ipv6);
	config_free(&cfg);
}

/* ---- lists ------------------------------------------------------------------ */

static void test_lists(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE "firewall_services = smtp,smtps , smtp-submission smtp\n"
		       "selinux_booleans = a_b=1, c = false,d=TRUE e=Off\n"
		       "rbl = Zen.Spamhaus.org., bl.spamcop.net\n", &cfg);
	assert_int_equal(cfg.firewall_services.n, 3);	/* duplicate dropped */
	assert_string_equal(cfg.firewall_services.v[0], "smtp");
	assert_string_equal(cfg.firewall_services.v[1], "smtps");
	assert_string_equal(cfg.firewall_services.v[2], "smtp-submission");
	assert_null(cfg.firewall_services.v[3]);
	assert_int_equal(cfg.selinux_booleans.n, 4);
	assert_string_equal(cfg.selinux_booleans.v[0], "a_b=on");
	assert_string_equal(cfg.selinux_booleans.v[1], "c=off");
	assert_string_equal(cfg.selinux_booleans.v[2], "d=on");
	assert_string_equal(cfg.selinux_booleans.v[3], "e=off");
	assert_int_equal(cfg.rbl.n, 2);
	assert_string_equal(cfg.rbl.v[0], "zen.spamhaus.org");
	assert_string_equal(cfg.rbl.v[1], "bl.spamcop.net");
	config_free(&cfg);

	expect_ok(BASE "firewall_services =\nselinux_booleans = \nrbl =\n", &cfg);
	assert_int_equal(cfg.firewall_services.n, 0);
	assert_int_equal(cfg.selinux_booleans.n, 0);
	assert_int_equal(cfg.rbl.n, 0);
	config_free(&cfg);
}

static void test_list_errors(void **state)
{
	(void)state;
	expect_errors(BASE "firewall_services = smtp submission_587 SMTP\n"
		      "selinux_booleans = httpd_can_sendmail=maybe x=on x=off\n"
		      "rbl = zen.spamhaus.org 127.0.0.2\n",
		      NAME ":4: firewall_services item \"submission_587\" is not a firewalld service name "
		      "(lowercase letters, digits, hyphens), e.g. smtp smtps smtp-submission",
		      NAME ":4: firewall_services item \"SMTP\" is not a firewalld service name "
		      "(lowercase letters, digits, hyphens), e.g. smtp smtps smtp-submission",
		      NAME ":5: selinux_booleans item \"httpd_can_sendmail=maybe\" is not NAME=on or NAME=off, "
		      "e.g. httpd_can_sendmail=on",
		      NAME ":5: selinux_booleans sets x both on and off, e.g. httpd_can_sendmail=on",
		      NAME ":6: rbl item \"127.0.0.2\" is not a domain name, e.g. zen.spamhaus.org", NULL);
}

/* ---- addresses ---------------------------------------------------------------- */

static void test_mailto(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE "dmarc_rua = mailto:Reports@Example.COM\n", &cfg);
	assert_string_equal(cfg.dmarc_rua, "Reports@example.com");
	assert_string_equal(cfg.dmarc_ruf, "Reports@example.com");	/* follows rua */
	config_free(&cfg);

	expect_ok(BASE "dmarc_rua = MAILTO:a@example.net\ndmarc_ruf = mailto:f.b+x@example.org\n", &cfg);
	assert_string_equal(cfg.dmarc_rua, "a@example.net");
	assert_string_equal(cfg.dmarc_ruf, "f.b+x@example.org");
	config_free(&cfg);

	/* empty: no reports; ruf follows */
	expect_ok(BASE "dmarc_rua =\n", &cfg);
	assert_string_equal(cfg.dmarc_rua, "");
	assert_string_equal(cfg.dmarc_ruf, "");
	config_free(&cfg);

	expect_ok(BASE "dmarc_ruf =\ndmarc_alias_to = postmaster@example.net\n", &cfg);
	assert_string_equal(cfg.dmarc_rua, "dmarc@example.com");
	assert_string_equal(cfg.dmarc_ruf, "");
	assert_string_equal(cfg.dmarc_alias_to, "postmaster@example.net");
	config_free(&cfg);

	expect_errors(BASE "dmarc_rua = mailto:\ndmarc_ruf = a@b@\ndmarc_alias_to = Root Admin\n"
		      "dmarc_rua = x\n",
		      NAME ":4: dmarc_rua \"mailto:\" is not an email address (local@domain), e.g. dmarc@example.com",
		      NAME ":5: dmarc_ruf \"a@b@\" is not an email address (local@domain), e.g. dmarc@example.com",
		      NAME ":6: dmarc_alias_to \"Root Admin\" is not a local user name or an email address, e.g. root",
		      NAME ":7: duplicate key \"dmarc_rua\" (already set on line 4); keep one of the two lines", NULL);
	expect_errors(BASE "dmarc_rua = mailto:a@example.com,mailto:b@example.com\n",
		      NAME ":4: dmarc_rua \"mailto:a@example.com,mailto:b@example.com\" is more than one address; "
		      "give one address (local@domain), e.g. dmarc@example.com", NULL);
}

/* tls_acme: the defaults, the values, and never with tls_cert */
static void test_tls_acme(void **state)
{
	struct config cfg;
	(void)state;
	expect_ok(BASE, &cfg);
	assert_string_equal(cfg.tls_acme, "no");
	assert_string_equal(cfg.acme_directory, "https://acme-v02.api.letsencrypt.org/directory");
	assert_string_equal(cfg.acme_email, "");
	assert_null(cfg.acme_ca_file);
	config_free(&cfg);
	expect_ok(BASE "tls_acme = yes\nacme_email = mailto:pm@example.com\nacme_directory = https://acme.test/dir\n"
		  "acme_ca_file = /etc/ca.pem\n", &cfg);
	assert_string_equal(cfg.tls_acme, "yes");
	assert_string_equal(cfg.acme_email, "pm@example.com");
	assert_string_equal(cfg.acme_directory, "https://acme.test/dir");
	assert_string_equal(cfg.acme_ca_file, "/etc/ca.pem");
	config_free(&cfg);
	expect_errors(BASE "tls_acme = yes\ntls_cert = /etc/a.crt\ntls_key = /etc/a.key\n",
		      NAME ":4: tls_acme = yes and tls_cert are both set; the certificate comes either from the ACME "
		      "CA or from tls_cert/tls_key: remove one, e.g. tls_acme = no", NULL);
}

/* ---- errors: exact texts ------------------------------------------------------- */

static void test_error_not_fqdn(void **state)
{
	(void)state;
	expect_errors("domain = example.com\nipv4 = 192.0.2.10\nhostname = mail_example\n",
		      NAME ":3: hostname \"mail_example\" is not a fully qualified domain name, e.g. mail.example.com",
		      NULL);
	expect_errors("domain = com\nipv4 = 192.0.2.10\nhostname = mail.example.123\n",
		      NAME ":1: domain \"com\" is not a fully qualified domain name, e.g. example.com",
		      NAME ":3: hostname \"mail.example.123\" is not a fully qualified domain name, e.g. mail.example.com",
		      NULL);
}

static void test_error_unknown_key(void **state)
{
	(void)state;
	expect_errors(BASE "# x\n\n\nhostnme = mail.example.com\n",
		      NAME ":7: unknown key \"hostnme\" (did you mean \"hostname\"?)", NULL);
	expect_errors(BASE "dmarc_policcy = reject\nDKIM_BITS = 2048\nfoo = bar\nx y = z\n",
		      NAME ":4: unknown key \"dmarc_policcy\" (did you mean \"dmarc_policy\"?)",
		      NAME ":5: unknown key \"DKIM_BITS\" (did you mean \"dkim_bits\"?)",
		      NAME ":6: unknown key \"foo\" (the keys are listed in mailstage.conf(5))",
		      NAME ":7: unknown key \"x y\" (the keys are listed in mailstage.conf(5))", NULL);
	/* a long typo still gets a suggestion (distance <= len/3) */
	expect_errors(BASE "smtpd_client_msg_rate_limit = 30\n",
		      NAME ":4: unknown key \"smtpd_client_msg_rate_limit\" (did you mean "
		      "\"smtpd_client_message_rate_limit\"?)", NULL);
}

static void test_error_duplicate(void **state)
{
	(void)state;
	expect_errors(BASE "domain = example.org\n",
		      NAME ":4: duplicate key \"domain\" (already set on line 2); keep one of the two lines", NULL);
}

static void test_error_no_equals(void **state)
{
	(void)state;
	expect_errors(BASE "dkim_bits 4096\nsomething\n= value\n",
		      NAME ":4: line \"dkim_bits 4096\" has no \"=\", e.g. dkim_bits = 2048",
		      NAME ":5: line \"something\" has no \"=\"; lines are \"key = value\", e.g. hostname = mail.example.com",
		      NAME ":6: no key before \"=\", e.g. hostname = mail.example.com", NULL);
}

static void test_error_missing_required(void **state)
{
	(void)state;
	expect_errors("", NAME ": required key \"hostname\" is missing, e.g. hostname = mail.example.com",
		      NAME ": required key \"domain\" is missing, e.g. domain = example.com",
		      NAME ": required key \"ipv4\" is missing, e.g. ipv4 = 192.0.2.10", NULL);
	/* line errors first, file-level ones last */
	expect_errors("hostname = mail.example.com\nipv4 = 192.0.2.10\ndkim_bits = 100\n",
		      NAME ":3: dkim_bits \"100\" is not one of 1024, 2048, 3072, 4096, e.g. 2048",
		      NAME ": required key \"domain\" is missing, e.g. domain = example.com", NULL);
}

/* Several different errors are all reported, sorted by line. */
static void test_error_many_at_once(void **state)
{
	(void)state;
	expect_errors("dmarc_policy = strict\n"
		      "hostname = mail.example.com\n"
		      "ipv4 = 300.1.2.3\n"
		      "spf_policy = ?all\n"
		      "dmarc_pct = 150\n"
		      "dkim_bits = 2000\n"
		      "smtpd_error_sleep_time = 1x\n"
		      "maximal_queue_lifetime = 200d\n"
		      "message_size_limit = -5\n"
		      "port25_probe = gmail-smtp-in.l.google.com\n"
		      "ipv6 = fe80::1\n"
		      "dkim_selector = _bad\n"
		      "smtpd_client_connection_rate_limit =\n",
		      NAME ":1: dmarc_policy \"strict\" is not one of none, quarantine, reject, e.g. quarantine",
		      NAME ":3: ipv4 \"300.1.2.3\" is not an IPv4 address (four numbers 0-255 separated by dots), "
		      "e.g. 192.0.2.10",
		      NAME ":4: spf_policy \"?all\" is not one of ~all, -all, e.g. ~all",
		      NAME ":5: dmarc_pct \"150\" is out of range (0 to 100), e.g. 100",
		      NAME ":6: dkim_bits \"2000\" is not one of 1024, 2048, 3072, 4096, e.g. 2048",
		      NAME ":7: smtpd_error_sleep_time \"1x\" is not a time (a number with an optional unit "
		      "s, m, h, d or w), e.g. 1s",
		      NAME ":8: maximal_queue_lifetime \"200d\" is more than the maximum of 100d, e.g. 1d",
		      NAME ":9: message_size_limit \"-5\" is not a whole number (digits only), e.g. 10240000",
		      NAME ":10: port25_probe \"gmail-smtp-in.l.google.com\" is not HOST:PORT (a host name, IPv4 "
		      "address or [IPv6] address, and a port 1-65535), e.g. gmail-smtp-in.l.google.com:25",
		      NAME ":11: ipv6 \"fe80::1\" is a link-local address, not the server's public address, "
		      "e.g. 2001:db8::10",
		      NAME ":12: dkim_selector \"_bad\" is not a DKIM selector (letters, digits, inner hyphens "
		      "and dots), e.g. default",
		      NAME ":13: smtpd_client_connection_rate_limit is empty, e.g. smtpd_client_connection_rate_limit = 10",
		      NAME ": required key \"domain\" is missing, e.g. domain = example.com", NULL);
}

static void test_error_addresses(void **state)
{
	(void)state;
	expect_errors("hostname = mail.example.com\ndomain = example.com\nipv4 = 127.0.0.1\nipv6 = ::1\n",
		      NAME ":3: ipv4 \"127.0.0.1\" is a loopback address, not the server's public address, e.g. 192.0.2.10",
		      NAME ":4: ipv6 \"::1\" is the unspecified or loopback address, not the server's public address, "
		      "e.g. 2001:db8::10", NULL);
	expect_errors("hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10/24\nipv6 = [2001:db8::10]\n",
		      NAME ":3: ipv4 \"192.0.2.10/24\" is not an IPv4 address (four numbers 0-255 separated by dots), "
		      "e.g. 192.0.2.10",
		      NAME ":4: ipv6 \"[2001:db8::10]\" is not an IPv6 address (without brackets or /prefix), "
		      "e.g. 2001:db8::10", NULL);
}

static void test_error_tls(void **state)
{
	struct config cfg;

	(void)state;
	expect_errors(BASE "tls_cert = /etc/pki/tls/certs/mail.crt\n",
		      NAME ":4: tls_cert is set but tls_key is not; set both or neither, "
		      "e.g. tls_key = /etc/pki/tls/private/mail.example.com.key", NULL);
	expect_errors(BASE "tls_key = /etc/pki/tls/private/mail.key\n",
		      NAME ":4: tls_key is set but tls_cert is not; set both or neither, "
		      "e.g. tls_cert = /etc/pki/tls/certs/mail.example.com.crt", NULL);
	expect_errors(BASE "tls_cert = certs/mail.crt\ntls_key = /etc/../../key\n",
		      NAME ":4: tls_cert \"certs/mail.crt\" is not an absolute path, "
		      "e.g. /etc/pki/tls/certs/mail.example.com.crt",
		      NAME ":5: tls_key \"/etc/../../key\" contains a \"..\" component, "
		      "e.g. /etc/pki/tls/private/mail.example.com.key", NULL);
	expect_errors(BASE "tls_cert = /etc/my cert.pem\ntls_key = /etc/key.pem\n",
		      NAME ":4: tls_cert \"/etc/my cert.pem\" contains a blank or a character other than letters, "
		      "digits and / . _ + - @ : = ~, e.g. /etc/pki/tls/certs/mail.example.com.crt", NULL);
	expect_ok(BASE "tls_cert = /etc/letsencrypt/live/mail.example.com/fullchain.pem\n"
		       "tls_key = /etc/letsencrypt/live/mail.example.com/privkey.pem\n", &cfg);
	assert_string_equal(cfg.tls_cert, "/etc/letsencrypt/live/mail.example.com/fullchain.pem");
	assert_string_equal(cfg.tls_key, "/etc/letsencrypt/live/mail.example.com/privkey.pem");
	config_free(&cfg);
}

static void test_error_cross_limits(void **state)
{
	(void)state;
	expect_errors(BASE "mailbox_size_limit = 1000\n",
		      NAME ":4: mailbox_size_limit 1000 is smaller than message_size_limit 10240000; Postfix will not "
		      "start, e.g. mailbox_size_limit = 51200000 or 0", NULL);
	expect_errors(BASE "initial_destination_concurrency = 10\n",
		      NAME ":4: initial_destination_concurrency 10 is more than default_destination_concurrency_limit 5, "
		      "e.g. initial_destination_concurrency = 2", NULL);
}

static void test_durations_ints(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE "smtpd_error_sleep_time = 5\ndefault_destination_rate_delay = 0s\n"
		       "maximal_queue_lifetime = 2w\nbounce_queue_lifetime = 12h\nmessage_size_limit = 0\n"
		       "mailbox_size_limit = 0\ndmarc_pct = 0\ndkim_bits = 4096\n", &cfg);
	assert_string_equal(cfg.smtpd_error_sleep_time, "5");
	assert_string_equal(cfg.default_destination_rate_delay, "0s");
	assert_string_equal(cfg.maximal_queue_lifetime, "2w");
	assert_string_equal(cfg.bounce_queue_lifetime, "12h");
	assert_int_equal(cfg.message_size_limit, 0);
	assert_int_equal(cfg.mailbox_size_limit, 0);
	assert_int_equal(cfg.dmarc_pct, 0);
	assert_int_equal(cfg.dkim_bits, 4096);
	config_free(&cfg);
	/* a bare number is days for the queue lifetimes */
	expect_errors(BASE "bounce_queue_lifetime = 101\nsmtpd_error_sleep_time = 301\n",
		      NAME ":4: bounce_queue_lifetime \"101\" is more than the maximum of 100d, e.g. 1d",
		      NAME ":5: smtpd_error_sleep_time \"301\" is more than the maximum of 5m, e.g. 1s", NULL);
	expect_errors(BASE "message_size_limit = 99999999999999999999\n",
		      NAME ":4: message_size_limit \"99999999999999999999\" is not a whole number (digits only), "
		      "e.g. 10240000", NULL);
}

static void test_port25_probe(void **state)
{
	struct config cfg;

	(void)state;
	expect_ok(BASE "port25_probe = [2001:db8::25]:25\n", &cfg);
	assert_string_equal(cfg.port25_probe, "[2001:db8::25]:25");
	config_free(&cfg);
	expect_ok(BASE "port25_probe = 198.51.100.7:2525\n", &cfg);
	assert_string_equal(cfg.port25_probe, "198.51.100.7:2525");
	config_free(&cfg);
	expect_errors(BASE "port25_probe = mx.example.net:0\n",
		      NAME ":4: port25_probe \"mx.example.net:0\" is not HOST:PORT (a host name, IPv4 address or "
		      "[IPv6] address, and a port 1-65535), e.g. gmail-smtp-in.l.google.com:25", NULL);
}

/* ---- binary junk and long lines --------------------------------------------------- */

static void test_error_binary(void **state)
{
	static const char text[] = BASE "dkim_bits = 20\0" "48\nrbl = \x01x\n# caf\xe9\n# caf\xc3\xa9 is fine\n";
	struct config cfg;
	struct strv errors = { 0 };
	int r;

	(void)state;
	r = config_parse(text, sizeof(text) - 1, NAME, &cfg, &errors);
	assert_int_equal(r, -EINVAL);
	if (errors.n != 3)
		dump(&errors);
	assert_int_equal(errors.n, 3);
	assert_string_equal(errors.v[0], NAME ":4: line contains a NUL byte; the configuration must be plain text");
	assert_string_equal(errors.v[1],
			    NAME ":5: line contains control character 0x01; the configuration must be plain text");
	assert_string_equal(errors.v[2],
			    NAME ":6: line is not valid UTF-8 text (byte 0xe9); the configuration must be plain text");
	config_free(&cfg);
	strv_free(&errors);
}

static void test_error_long_line(void **state)
{
	struct buf b = { 0 };
	char *pad = xmalloc(5000);

	(void)state;
	memset(pad, 'a', 4999);
	pad[4999] = 0;
	buf_printf(&b, BASE "# %s\n", pad);
	expect_errors(b.data, NAME ":4: line is 5001 bytes long, more than the 4096 allowed", NULL);
	buf_free(&b);
	/* a long value is cut short in the message */
	pad[100] = 0;
	buf_printf(&b, BASE "dkim_selector = %s\n", pad);
	expect_errors(b.data, NAME ":4: dkim_selector \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" "
		      "is not a DKIM selector (letters, digits, inner hyphens and dots), e.g. default", NULL);
	buf_free(&b);
	free(pad);
}

static void test_error_cap(void **state)
{
	struct buf b = { 0 };
	struct config cfg;
	struct strv errors = { 0 };
	int i;

	(void)state;
	buf_puts(&b, BASE);
	for (i = 0; i < 60; i++)
		buf_puts(&b, "junk\n");
	assert_int_equal(parse(b.data, &cfg, &errors), -EINVAL);
	assert_int_equal(errors.n, 51);
	assert_string_equal(errors.v[50], NAME ": 10 more errors not shown");
	config_free(&cfg);
	strv_free(&errors);
	buf_free(&b);
}

/* ---- I/O, validators, freeing -------------------------------------------------------- */

static void test_load_missing(void **state)
{
	struct config cfg;
	struct strv errors = { 0 };

	(void)state;
	assert_int_equal(config_load("/nonexistent/mailstage.conf", "/etc/mailstage/mailstage.conf", &cfg, &errors),
			 -ENOENT);
	assert_int_equal(errors.n, 1);
	assert_string_equal(errors.v[0], "cannot read /etc/mailstage/mailstage.conf: No such file or directory");
	config_free(&cfg);
	strv_free(&errors);
}

static void test_validators(void **state)
{
	char label63[64], long_name[300];
	int i;

	(void)state;
	assert_true(valid_fqdn("mail.example.com"));
	assert_true(valid_fqdn("example.com."));
	assert_true(valid_fqdn("a-b.x1.example.co"));
	assert_true(valid_fqdn("xn--p8j9a0d9c9a.jp"));
	assert_false(valid_fqdn("localhost"));
	assert_false(valid_fqdn(""));
	assert_false(valid_fqdn(NULL));
	assert_false(valid_fqdn("."));
	assert_false(valid_fqdn("example..com"));
	assert_false(valid_fqdn(".example.com"));
	assert_false(valid_fqdn("example.com.."));
	assert_false(valid_fqdn("-a.example.com"));
	assert_false(valid_fqdn("a-.example.com"));
	assert_false(valid_fqdn("mail_example.com"));
	assert_false(valid_fqdn("192.0.2.10"));
	assert_true(valid_fqdn("mail.example.c0m"));
	assert_false(valid_fqdn("mail example.com"));
	memset(label63, 'a', 63);
	label63[63] = 0;
	snprintf(long_name, sizeof(long_name), "%s.com", label63);
	assert_true(valid_fqdn(long_name));
	snprintf(long_name, sizeof(long_name), "a%s.com", label63);
	assert_false(valid_fqdn(long_name));
	/* 253 is the limit */
	long_name[0] = 0;
	for (i = 0; i < 4; i++)
		strcat(long_name, label63), strcat(long_name, ".");
	long_name[253] = 0;		/* 4*64 = 256 chars; cut to 253, last label "aaaaaaaaa..." */
	assert_true(valid_fqdn(long_name));
	strcat(long_name, "a");
	assert_false(valid_fqdn(long_name));

	assert_true(valid_ipv4("192.0.2.10"));
	assert_false(valid_ipv4("192.0.2"));
	assert_false(valid_ipv4("192.0.2.256"));
	assert_false(valid_ipv4("::1"));
	assert_false(valid_ipv4(NULL));
	assert_true(valid_ipv6("2001:db8::10"));
	assert_true(valid_ipv6("::ffff:192.0.2.1"));
	assert_false(valid_ipv6("2001:db8:::10"));
	assert_false(valid_ipv6("192.0.2.10"));
	assert_false(valid_ipv6(NULL));
}

static void test_free_safe(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	config_free(&cfg);
	config_free(NULL);
	/* a rejected parse leaves a partly filled struct, freed the same way */
	expect_errors("hostname = x\n", NAME ":1: hostname \"x\" is not a fully qualified domain name, e.g. mail.example.com",
		      NAME ": required key \"domain\" is missing, e.g. domain = example.com",
		      NAME ": required key \"ipv4\" is missing, e.g. ipv4 = 192.0.2.10", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_parses),
		cmocka_unit_test(test_tls_acme),
		cmocka_unit_test(test_example_documents_every_key),
		cmocka_unit_test(test_example_uncommented),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_keys_table),
		cmocka_unit_test(test_keys_examples_valid),
		cmocka_unit_test(test_whitespace_crlf_bom),
		cmocka_unit_test(test_ipv6_canonical),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_mailto),
		cmocka_unit_test(test_error_not_fqdn),
		cmocka_unit_test(test_error_unknown_key),
		cmocka_unit_test(test_error_duplicate),
		cmocka_unit_test(test_error_no_equals),
		cmocka_unit_test(test_error_missing_required),
		cmocka_unit_test(test_error_many_at_once),
		cmocka_unit_test(test_error_addresses),
		cmocka_unit_test(test_error_tls),
		cmocka_unit_test(test_error_cross_limits),
		cmocka_unit_test(test_durations_ints),
		cmocka_unit_test(test_port25_probe),
		cmocka_unit_test(test_error_binary),
		cmocka_unit_test(test_error_long_line),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_free_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
