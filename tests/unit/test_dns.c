/*
 * test_dns.c - the DNS records of steps/dns.c: TXT strings split at 255
 * bytes and escaped, SPF with and without IPv6, DMARC URIs, reverse names,
 * a missing DKIM key, names outside the zone, the SELECTOR.txt parser and
 * the deterministic zone serial, the CAA record of the ACME CA.  (Whole outputs: tests/cases/dns, checked
 * by nsd-checkzone and named-checkzone in tests/integration/21-dns.sh.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "dns.h"
#include "steps.h"
#include "util.h"

static void load(struct config *cfg, const char *text)
{
	struct strv errors = { 0 };
	int r = config_parse(text, strlen(text), "test.conf", cfg, &errors);
	if (r < 0 && errors.n)
		fail_msg("config: %s", errors.v[0]);
	assert_int_equal(r, 0);
	strv_free(&errors);
}

static const struct dns_rr *find(const struct dns_zone *z, const char *fqdn, const char *type)
{
	size_t i;
	for (i = 0; i < z->n; i++)
		if (strcmp(z->rr[i].fqdn, fqdn) == 0 && strcmp(z->rr[i].type, type) == 0)
			return &z->rr[i];
	return NULL;
}

static char *repeat(char ch, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, ch, n);
	s[n] = 0;
	return s;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	while ((s = strstr(s, needle)) != NULL)
		n++, s++;
	return n;
}

static void test_txt_split(void **state)
{
	char *s, *t;
	(void)state;
	s = dns_txt_strings("", 255, " ");
	assert_string_equal(s, "\"\"");
	free(s);
	t = repeat('a', 255);
	s = dns_txt_strings(t, 255, " ");
	assert_int_equal(strlen(s), 257);	/* one string: 255 bytes and two quotes */
	free(s);
	free(t);
	t = repeat('a', 256);
	s = dns_txt_strings(t, 255, "|");
	assert_int_equal(count(s, "\""), 4);
	assert_non_null(strstr(s, "\"|\"a\""));	/* the second string holds the 256th byte */
	free(s);
	free(t);
	t = repeat('b', 511);
	s = dns_txt_strings(t, 255, "|");
	assert_int_equal(count(s, "|"), 2);	/* 255 + 255 + 1 */
	free(s);
	free(t);
	/* max above 255 is capped: a character-string cannot hold more */
	t = repeat('c', 300);
	s = dns_txt_strings(t, 1000, "|");
	assert_int_equal(count(s, "|"), 1);
	free(s);
	free(t);
}

static void test_txt_escape(void **state)
{
	char *s, *t;
	(void)state;
	s = dns_txt_strings("say \"hi\" \\ back\tslash;", 255, " ");
	assert_string_equal(s, "\"say \\\"hi\\\" \\\\ back\\009slash;\"");
	free(s);
	/* Escapes do not count against the 255 bytes and are never split. */
	t = repeat('"', 255);
	s = dns_txt_strings(t, 255, "|");
	assert_null(strchr(s, '|'));
	assert_int_equal(strlen(s), 2 + 2 * 255);
	free(s);
	free(t);
	t = repeat('\\', 256);
	s = dns_txt_strings(t, 255, "|");
	assert_non_null(strstr(s, "\\\\\"|\"\\\\\""));
	free(s);
	free(t);
	s = dns_txt_strings("\x01\x7f\xff", 255, " ");
	assert_string_equal(s, "\"\\001\\127\\255\"");
	free(s);
}

static void test_reverse(void **state)
{
	char *s;
	(void)state;
	s = dns_reverse_name("192.0.2.10");
	assert_string_equal(s, "10.2.0.192.in-addr.arpa.");
	free(s);
	s = dns_reverse_name("2001:db8::10");
	assert_string_equal(s, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
	free(s);
	assert_null(dns_reverse_name("mail.example.com"));
}

static void test_spf_ipv4_only(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	const struct dns_rr *rr;
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\nspf_policy = -all\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	rr = find(&z, "example.com.", "TXT");
	assert_non_null(rr);
	assert_string_equal(rr->value, "v=spf1 ip4:192.0.2.10 -all");
	assert_null(find(&z, "mail.example.com.", "AAAA"));
	assert_non_null(find(&z, "10.2.0.192.in-addr.arpa.", "PTR"));
	rr = find(&z, "mail.example.com.", "A");
	assert_non_null(rr);
	assert_string_equal(rr->name, "mail");
	assert_string_equal(rr->value, "192.0.2.10");
	rr = find(&z, "example.com.", "MX");
	assert_non_null(rr);
	assert_string_equal(rr->value, "10 mail.example.com.");
	rr = find(&z, "default._domainkey.example.com.", "TXT");
	assert_non_null(rr);
	assert_string_equal(rr->value, "v=DKIM1; k=rsa; p=QUJD");
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_spf_ipv6(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	const struct dns_rr *rr;
	char *zone;
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\nipv6 = 2001:db8::10\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	rr = find(&z, "example.com.", "TXT");
	assert_non_null(rr);
	assert_string_equal(rr->value, "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all");
	rr = find(&z, "mail.example.com.", "AAAA");
	assert_non_null(rr);
	assert_string_equal(rr->value, "2001:db8::10");
	rr = find(&z, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "PTR");
	assert_non_null(rr);
	assert_true(rr->provider);
	zone = dns_format(&z, DNS_FMT_ZONE);
	assert_non_null(strstr(zone, "mail.example.com.\t3600\tIN\tAAAA\t2001:db8::10\n"));
	/* a PTR is only ever a comment in the domain's zone */
	assert_non_null(strstr(zone, ";   0.1.0.0."));
	assert_null(strstr(zone, "\nip6.arpa"));
	free(zone);
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_dkim_split_in_zone(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	char *p = repeat('A', 392), *zone, *line, *e;	/* a 2048-bit key's p= is about 392 characters */
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\ndkim_selector = s2024\n");
	assert_int_equal(dns_build(&cfg, p, NULL, &z), 0);
	zone = dns_format(&z, DNS_FMT_RECORDS);
	line = strstr(zone, "s2024._domainkey.example.com.\t3600\tIN\tTXT\t( \"v=DKIM1; k=rsa; p=AAA");
	assert_non_null(line);
	e = strstr(line, " )\n");
	assert_non_null(e);
	/* two strings: 255 bytes, then the rest (18 + 392 = 410 bytes) */
	assert_non_null(strstr(line, "\"\n\t\t\"AAA"));
	assert_int_equal(count(line, "\"") - count(e, "\""), 4);
	free(zone);
	zone = dns_format(&z, DNS_FMT_JSON);
	assert_non_null(strstr(zone, "\"strings\": [\"v=DKIM1; k=rsa; p=AAAA"));
	free(zone);
	dns_zone_free(&z);
	config_free(&cfg);
	free(p);
}

static void test_missing_key(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	char *zone;
	size_t i;
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n");
	assert_int_equal(dns_build(&cfg, NULL, "the DKIM key /k does not exist yet", &z), 0);
	for (i = 0; i < z.n; i++)
		assert_null(strstr(z.rr[i].fqdn, "_domainkey"));
	zone = dns_format(&z, DNS_FMT_ZONE);
	assert_non_null(strstr(zone, "; NOTE: no DKIM record: the DKIM key /k does not exist yet\n"));
	assert_null(strstr(zone, "DKIM1"));
	free(zone);
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_dmarc(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	const struct dns_rr *rr;
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n"
		   "dmarc_policy = reject\ndmarc_rua = a!b@reports.example.net\ndmarc_ruf =\ndmarc_pct = 50\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	rr = find(&z, "_dmarc.example.com.", "TXT");
	assert_non_null(rr);
	assert_string_equal(rr->value, "v=DMARC1; p=reject; rua=mailto:a%21b@reports.example.net; pct=50");
	assert_int_equal(z.notes.n, 1);
	assert_non_null(strstr(z.notes.v[0], "example.com._report._dmarc.reports.example.net"));
	dns_zone_free(&z);
	config_free(&cfg);

	memset(&cfg, 0, sizeof(cfg));
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	rr = find(&z, "_dmarc.example.com.", "TXT");
	assert_non_null(rr);
	assert_string_equal(rr->value, "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com; "
			    "ruf=mailto:dmarc@example.com; pct=100");
	assert_int_equal(z.notes.n, 0);
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_hostname_outside(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	char *zone;
	(void)state;
	load(&cfg, "hostname = smtp.example.net\ndomain = example.com\nipv4 = 192.0.2.10\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	assert_null(find(&z, "smtp.example.net.", "A")->name);
	zone = dns_format(&z, DNS_FMT_ZONE);
	assert_non_null(strstr(zone, "; (in its own zone) smtp.example.net.\t3600\tIN\tA\t192.0.2.10\n"));
	assert_non_null(strstr(zone, "example.com.\t3600\tIN\tMX\t10 smtp.example.net.\n"));
	free(zone);
	zone = dns_format(&z, DNS_FMT_JSON);
	assert_non_null(strstr(zone, "\"publish\": \"other-zone\""));
	free(zone);
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_serial(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	char *a, *b, *c;
	(void)state;
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	a = dns_format(&z, DNS_FMT_ZONE);
	b = dns_format(&z, DNS_FMT_ZONE);
	assert_string_equal(a, b);	/* the same file on every run: a second apply changes nothing */
	dns_zone_free(&z);
	assert_int_equal(dns_build(&cfg, "QUJE", NULL, &z), 0);
	c = dns_format(&z, DNS_FMT_ZONE);
	assert_string_not_equal(a, c);
	assert_non_null(strstr(a, "IN\tSOA"));
	/* ...and the SOA line differs: a new key gives a new serial */
	{
		const char *sa = strstr(a, "IN\tSOA"), *sc = strstr(c, "IN\tSOA");
		size_t la = strcspn(sa, "\n"), lc = strcspn(sc, "\n");
		assert_true(la != lc || strncmp(sa, sc, la) != 0);
	}
	free(a);
	free(b);
	free(c);
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_p_from_record(void **state)
{
	char *rec, *p;
	(void)state;
	rec = dkim_record_text("default", "example.com", "MIIBIjANBgkq");
	p = dns_p_from_record(rec);
	assert_string_equal(p, "MIIBIjANBgkq");
	free(p);
	free(rec);
	/* opendkim-genkey's layout, the key split over strings, a comment after */
	p = dns_p_from_record("default._domainkey\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; \"\n"
			      "\t  \"p=MIIB\"\n\t  \"IjAN\" )  ; ----- DKIM key default for example.com\n");
	assert_string_equal(p, "MIIBIjAN");
	free(p);
	assert_null(dns_p_from_record("stale record\n"));
	assert_null(dns_p_from_record(""));
}

static void test_ed25519_record(void **state)
{
	char *rec, *p, *sel;
	(void)state;
	/* RFC 8463 section 4.2's example key */
	rec = dkim_record_text_k("brisbane", "football.example.com", "ed25519",
				 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_non_null(strstr(rec, "brisbane._domainkey\tIN\tTXT\t( \"v=DKIM1; k=ed25519; \"\n"));
	p = dns_p_from_record(rec);
	assert_string_equal(p, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	free(p);
	free(rec);
	p = dkim_txt_value_k("ed25519", "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_string_equal(p, "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_true(strlen(p) < 255);
	free(p);
	sel = dkim_ed25519_selector("default");
	assert_string_equal(sel, "default-ed25519");
	free(sel);
}

static void test_rotation_selector(void **state)
{
	char sel[16];
	(void)state;
	dkim_rotation_selector(0, sel);
	assert_string_equal(sel, "s19700101");
	dkim_rotation_selector(1796169600LL, sel);	/* 2026-12-02 00:00 UTC */
	assert_string_equal(sel, "s20261202");
	dkim_rotation_selector(1796169600LL + 86399, sel);
	assert_string_equal(sel, "s20261202");
}

static void test_rotation_state(void **state)
{
	struct dkim_rotation st;
	char *why = NULL, *text;
	static const char *const bad[] = {
		"",					/* no active key */
		"# only a comment\n",
		"active default\n",			/* no time */
		"active default 12x\n",
		"active ../../etc 1\n",			/* not a selector */
		"active Default 1\n",			/* upper case: not what mailstage writes */
		"active -a 1\n",
		"active default 1\nactive other 2\n",	/* twice */
		"active default 1\nnext default 2\n",	/* one selector twice */
		"active default 1\nretiring default 2\n",
		"active default 1\nlater s2026 2\n",	/* unknown word */
		"active  default 1\n",			/* two blanks */
		"active default 1 \n",
		"active default 1234567890123\n",	/* more than 12 digits */
		"ed25519-active default-ed25519 1\n",	/* no RSA key */
		"active default 1\ned25519-next s2027-ed25519 2\n",	/* Ed25519 lines without its active one */
		"active default 1\ned25519-active default 2\n",	/* one selector for both keys: one file */
		"active default 1\ned25519-active e 2\ned25519-retiring default 3\n",
		"active default 1\ned25519-active e 2\ned25519-active f 3\n",
		"active default 1\ned25519- e 2\n",
		"active default 1\nrsa-active e 2\n",
		NULL,
	};
	size_t i;

	(void)state;
	assert_int_equal(dkim_rotation_parse("# c\nactive default 100\nnext s20270601 200\nretiring old 50\n", 58, &st,
					     &why), 0);
	assert_null(why);
	assert_string_equal(st.k[DKIM_RSA].active, "default");
	assert_int_equal(st.k[DKIM_RSA].active_at, 100);
	assert_string_equal(st.k[DKIM_RSA].next, "s20270601");
	assert_int_equal(st.k[DKIM_RSA].next_at, 200);
	assert_string_equal(st.k[DKIM_RSA].retiring, "old");
	assert_int_equal(st.k[DKIM_RSA].retiring_at, 50);
	assert_int_equal(st.k[DKIM_ED25519].present, 0);
	text = dkim_rotation_format(&st);
	assert_string_equal(text, "# DKIM key rotation, kept by mailstage apply (dkim_rotate_days): do not edit\n"
			    "active default 100\nnext s20270601 200\nretiring old 50\n");
	/* what it writes it reads back */
	memset(&st, 0, sizeof(st));
	assert_int_equal(dkim_rotation_parse(text, strlen(text), &st, &why), 0);
	assert_string_equal(st.k[DKIM_RSA].next, "s20270601");
	free(text);
	for (i = 0; bad[i]; i++) {
		if (dkim_rotation_parse(bad[i], strlen(bad[i]), &st, &why) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_non_null(why);
		free(why);
		why = NULL;
	}
	assert_int_equal(dkim_rotation_parse("active a\0 1\n", 11, &st, &why), -EINVAL);
	free(why);
	why = NULL;

	/* the Ed25519 key's own lines: read, written back in the same order */
	{
		const char *ed = "# DKIM key rotation, kept by mailstage apply (dkim_rotate_days): do not edit\n"
				 "active s20270601 300\nretiring default 300\n"
				 "ed25519-active default-ed25519 100\ned25519-next s20270602-ed25519 400\n";
		assert_int_equal(dkim_rotation_parse(ed, strlen(ed), &st, &why), 0);
		assert_true(st.k[DKIM_ED25519].present);
		assert_string_equal(st.k[DKIM_ED25519].active, "default-ed25519");
		assert_int_equal(st.k[DKIM_ED25519].active_at, 100);
		assert_string_equal(st.k[DKIM_ED25519].next, "s20270602-ed25519");
		assert_int_equal(st.k[DKIM_ED25519].next_at, 400);
		assert_string_equal(st.k[DKIM_ED25519].retiring, "");
		assert_string_equal(st.k[DKIM_RSA].active, "s20270601");
		text = dkim_rotation_format(&st);
		assert_string_equal(text, ed);
		free(text);
	}
}

/* A fake live DNS for dkim_rotation_step: which selectors are served, and whether a key is readable. */
struct fake_dns {
	const char *served;	/* space-separated selectors served with their key */
	const char *other;	/* served with another key */
	const char *nokey;	/* whose key is not on disk yet */
	int asked;
};

static int has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;
	for (p = list; p && (p = strstr(p, w)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

static int fake_live(void *arg, const char *sel, int key)
{
	struct fake_dns *f = arg;
	f->asked++;
	if (key && has_word(f->nokey, sel))
		return -2;
	if (has_word(f->served, sel))
		return 1;
	if (has_word(f->other, sel))
		return key ? -1 : 1;
	return 0;
}

static void test_rotation_step(void **state)
{
	const long long D = 86400, T0 = 1796169600LL;	/* 2026-12-02 */
	struct dkim_keyrot st, want;
	struct fake_dns f = { 0 };
	int a, fl;

	(void)state;
	for (a = 0; a < DKIM_NALG; a++) {
		const char *act = a == DKIM_ED25519 ? "default-ed25519" : "default";
		const char *nx = a == DKIM_ED25519 ? "s20270601-ed25519" : "s20270601";
		char sel[64];

		dkim_rotation_selector_alg(a, T0 + 181 * D, sel);
		assert_string_equal(sel, nx);
		/* first seen: the age counts from now, nothing made, DNS not asked */
		memset(&st, 0, sizeof(st));
		snprintf(st.active, sizeof(st.active), "%s", act);
		memset(&f, 0, sizeof(f));
		fl = dkim_rotation_step(a, &st, T0, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, 0);
		assert_true(want.present);
		assert_int_equal(want.active_at, T0);
		assert_int_equal(f.asked, 0);
		st = want;
		/* 179 days: nothing; 181 days: the next key under the date's selector of this algorithm */
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 179 * D, 180, 7, fake_live, &f, &want), 0);
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 181 * D, 0, 7, fake_live, &f, &want), 0);
		fl = dkim_rotation_step(a, &st, T0 + 181 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_NEW);
		assert_string_equal(want.next, nx);
		assert_int_equal(want.next_at, T0 + 181 * D);
		assert_string_equal(want.active, act);
		st = want;
		/* the key not on disk yet (made in this run): no switch */
		f.nokey = nx;
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 181 * D, 180, 7, fake_live, &f, &want), DKIM_STEP_NOKEY);
		assert_string_equal(want.active, act);
		f.nokey = NULL;
		/* not served, or served with another key: it waits, signing unchanged */
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 182 * D, 180, 7, fake_live, &f, &want), DKIM_STEP_WAIT);
		assert_string_equal(want.active, act);
		assert_string_equal(want.next, nx);
		f.other = nx;
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 182 * D, 180, 7, fake_live, &f, &want), DKIM_STEP_WAIT);
		f.other = NULL;
		/* served with its key: the switch */
		f.served = a == DKIM_ED25519 ? "default-ed25519 s20270601-ed25519" : "default s20270601";
		fl = dkim_rotation_step(a, &st, T0 + 182 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_SWITCH);
		assert_string_equal(want.active, nx);
		assert_int_equal(want.active_at, T0 + 182 * D);
		assert_string_equal(want.retiring, act);
		assert_int_equal(want.retiring_at, T0 + 182 * D);
		assert_string_equal(want.next, "");
		st = want;
		/* within dkim_retire_days: nothing, not even a rotation (the new key is young) */
		f.asked = 0;
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 188 * D, 180, 7, fake_live, &f, &want), 0);
		assert_int_equal(f.asked, 0);
		/* past it, still served (or no answer): to remove, the key kept */
		fl = dkim_rotation_step(a, &st, T0 + 190 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_TO_REMOVE);
		assert_string_equal(want.retiring, act);
		f.served = nx;
		f.other = act;
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 190 * D, 180, 7, fake_live, &f, &want),
				 DKIM_STEP_TO_REMOVE);
		f.other = NULL;
		/* gone from DNS: deleted */
		fl = dkim_rotation_step(a, &st, T0 + 190 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_DELETE);
		assert_string_equal(want.retiring, "");
		assert_string_equal(want.active, nx);
		st = want;
		/* a rotation while a key is still retiring: the next one waits for it */
		snprintf(st.retiring, sizeof(st.retiring), "%s", act);
		st.retiring_at = T0 + 182 * D;
		snprintf(st.next, sizeof(st.next), "%s", a == DKIM_ED25519 ? "s20280101-ed25519" : "s20280101");
		f.served = a == DKIM_ED25519 ? "s20280101-ed25519 default-ed25519" : "s20280101 default";
		fl = dkim_rotation_step(a, &st, T0 + 185 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_HELD);
		assert_string_equal(want.active, nx);
		/* the retired record gone in the same run: deleted and switched at once */
		f.served = a == DKIM_ED25519 ? "s20280101-ed25519" : "s20280101";
		fl = dkim_rotation_step(a, &st, T0 + 190 * D, 180, 7, fake_live, &f, &want);
		assert_int_equal(fl, DKIM_STEP_DELETE | DKIM_STEP_SWITCH);
		assert_string_equal(want.retiring, nx);
		/* rotate_days 0 never starts a rotation */
		memset(&st, 0, sizeof(st));
		snprintf(st.active, sizeof(st.active), "%s", act);
		st.present = 1;
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 9999 * D, 0, 7, fake_live, &f, &want), 0);
		/* the date's selector equal to the active one (rotated today already): nothing */
		dkim_rotation_selector_alg(a, T0 + 400 * D, st.active);
		assert_int_equal(dkim_rotation_step(a, &st, T0 + 400 * D, 180, 7, fake_live, &f, &want), 0);
	}
	assert_string_equal(dkim_alg_name(DKIM_RSA), "rsa-sha256");
	assert_string_equal(dkim_alg_name(DKIM_ED25519), "ed25519-sha256");
}

static void test_formats(void **state)
{
	enum dns_format f;
	(void)state;
	assert_int_equal(dns_parse_format(NULL, &f), 0);
	assert_int_equal(f, DNS_FMT_TABLE);
	assert_int_equal(dns_parse_format("zone", &f), 0);
	assert_int_equal(f, DNS_FMT_ZONE);
	assert_int_equal(dns_parse_format("records", &f), 0);
	assert_int_equal(f, DNS_FMT_RECORDS);
	assert_int_equal(dns_parse_format("json", &f), 0);
	assert_int_equal(f, DNS_FMT_JSON);
	assert_int_not_equal(dns_parse_format("bind", &f), 0);
}

static void test_caa(void **state)
{
	struct config cfg = { 0 };
	struct dns_zone z;
	const struct dns_rr *rr;
	char *zone;
	size_t i;
	(void)state;
	assert_string_equal(dns_caa_domain("https://acme-v02.api.letsencrypt.org/directory"), "letsencrypt.org");
	assert_string_equal(dns_caa_domain("https://acme-staging-v02.api.letsencrypt.org/directory"), "letsencrypt.org");
	assert_string_equal(dns_caa_domain("https://acme.zerossl.com/v2/DV90"), "sectigo.com");
	assert_string_equal(dns_caa_domain("https://dv.acme-v02.api.pki.goog/directory"), "pki.goog");
	assert_string_equal(dns_caa_domain("https://api.buypass.com/acme/directory"), "buypass.com");
	assert_string_equal(dns_caa_domain("HTTPS://API.BUYPASS.COM:443/acme/directory"), "buypass.com");
	assert_null(dns_caa_domain("https://evilletsencrypt.org/directory"));
	assert_null(dns_caa_domain("https://letsencrypt.org.evil.example/directory"));
	assert_null(dns_caa_domain("https://letsencrypt.org@evil.example/directory"));
	assert_null(dns_caa_domain("http://acme-v02.api.letsencrypt.org/directory"));
	assert_null(dns_caa_domain("https://10.53.0.2:14000/dir"));
	assert_null(dns_caa_domain(NULL));

	/* tls_acme = no: no CAA, no note */
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	for (i = 0; i < z.n; i++)
		assert_string_not_equal(z.rr[i].type, "CAA");
	assert_int_equal(z.notes.n, 0);
	dns_zone_free(&z);
	config_free(&cfg);

	/* the default directory: Let's Encrypt, on the hostname (RFC 8659 tree-climbing) */
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\ntls_acme = yes\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	rr = find(&z, "mail.example.com.", "CAA");
	assert_non_null(rr);
	assert_string_equal(rr->value, "0 issue \"letsencrypt.org\"");
	assert_string_equal(rr->name, "mail");
	assert_null(find(&z, "example.com.", "CAA"));
	zone = dns_format(&z, DNS_FMT_ZONE);
	assert_non_null(strstr(zone, "mail.example.com.\t3600\tIN\tCAA\t0 issue \"letsencrypt.org\"\n"));
	free(zone);
	dns_zone_free(&z);
	config_free(&cfg);

	/* an unknown CA: a note, no record */
	load(&cfg, "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\ntls_acme = yes\n"
	     "acme_directory = https://ca.example.net/dir\n");
	assert_int_equal(dns_build(&cfg, "QUJD", NULL, &z), 0);
	assert_null(find(&z, "mail.example.com.", "CAA"));
	assert_int_equal(z.notes.n, 1);
	assert_non_null(strstr(z.notes.v[0], "no CAA record"));
	assert_non_null(strstr(z.notes.v[0], "https://ca.example.net/dir"));
	dns_zone_free(&z);
	config_free(&cfg);
}

static void test_required(void **state)
{
	struct config cfg;
	struct dns_zone z;
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(dns_build(&cfg, NULL, NULL, &z), -22);
	dns_zone_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_split),
		cmocka_unit_test(test_txt_escape),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_spf_ipv4_only),
		cmocka_unit_test(test_spf_ipv6),
		cmocka_unit_test(test_dkim_split_in_zone),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_dmarc),
		cmocka_unit_test(test_hostname_outside),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_p_from_record),
		cmocka_unit_test(test_ed25519_record),
		cmocka_unit_test(test_rotation_selector),
		cmocka_unit_test(test_rotation_state),
		cmocka_unit_test(test_rotation_step),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_caa),
		cmocka_unit_test(test_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
