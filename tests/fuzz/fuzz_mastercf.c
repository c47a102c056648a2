/*
 * fuzz_mastercf.c - libFuzzer target for the master.cf editor.
 *
 * The input is a whole master.cf.  Checked, beyond "no crash": a rejected
 * input gets a "line N: ..." error; an accepted one renders back
 * byte-identical; after set_option() on one entry (picked from the input)
 * either the entry cannot take options (-ENOTSUP) or get_option() returns
 * the value, no entry appears or disappears, every line of every other entry
 * and every comment is unchanged and other entries keep their words; then
 * unset_option() removes it; add_service() never creates a second entry for
 * an existing (service, type); dedupe() leaves one; every output parses
 * and round-trips.  mastercf_inet_endpoint() on each inet name gives a
 * port with no ':' (unless bracketed) that is never empty.  The whole
 * postfix-master stage edit (steps/postfix_master.c) either refuses with a
 * message or gives text that parses, where no two inet entries on 25, 587
 * or 465 share an endpoint, every port has a listener, a listener bound to
 * an address never gets a wildcard entry beside it that the input did not
 * have, and a second edit changes nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "mailconf.h"
#include "mastercf.h"
#include "profile.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const char *const opts[] = { "syslog_name", "smtpd_tls_security_level", "a_limit" };
static const char *const values[] = { "x", "postfix/submission", "permit_sasl_authenticated,reject", "" };

static size_t strip_eol(const char *t, size_t n)
{
	if (n && t[n - 1] == '\n')
		n--;
	if (n && t[n - 1] == '\r')
		n--;
	return n;
}

static void roundtrip(const struct mastercf *mf)
{
	struct mastercf *again = NULL;
	char *err = NULL, *a, *b;
	size_t alen, blen;

	a = mastercf_render(mf, &alen);
	CHECK(mastercf_parse(a, alen, &again, &err) == 0);
	b = mastercf_render(again, &blen);
	CHECK(alen == blen && memcmp(a, b, alen) == 0);
	free(a);
	free(b);
	mastercf_free(again);
}

/* Lines not owned by entry idx, EOL stripped, NUL-separated. */
static void others(const struct mastercf *mf, size_t idx, struct buf *b)
{
	size_t i, len, owner;
	const char *t;

	for (i = 0; i < mastercf_line_count(mf); i++) {
		t = mastercf_line(mf, i, &len, &owner);
		if (owner == idx)
			continue;
		buf_append(b, t, strip_eol(t, len));
		buf_append(b, "", 1);
	}
}

static int same_service(const struct mastercf_service *a, const struct mastercf_service *b)
{
	size_t k;

	for (k = 0; k < 8; k++)
		if (strcmp(a->field[k], b->field[k]) != 0)
			return 0;
	if (a->nargs != b->nargs)
		return 0;
	for (k = 0; k < a->nargs; k++)
		if (strcmp(a->args[k], b->args[k]) != 0)
			return 0;
	return 1;
}

/* The managed port of an inet service name (0: 25, 1: 587, 2: 465, -1), its host in *host. */
static int port_of(const char *name, char **host)
{
	static const char *const words[3][4] = { { "smtp", "25", NULL }, { "submission", "587", NULL },
						 { "smtps", "submissions", "465", NULL } };
	char *port = NULL;
	int k = -1, i, j;

	*host = NULL;
	if (mastercf_inet_endpoint(name, host, &port) < 0)
		return -1;
	CHECK(port && *port);
	for (i = 0; i < 3; i++)
		for (j = 0; words[i][j]; j++)
			if (strcasecmp(port, words[i][j]) == 0)
				k = i;
	free(port);
	return k;
}

/* bit p of *bound / *wild: port p has an address-bound / a wildcard listener */
static void listeners(const struct mastercf *mf, unsigned *bound, unsigned *wild, int unique)
{
	struct mastercf_service s, s2;
	size_t i, j;

	*bound = *wild = 0;
	for (i = 0; mastercf_service_at(mf, i, &s) == 0; i++) {
		char *h = NULL, *h2 = NULL;
		int p;

		if (strcmp(s.type, "inet") != 0 || (p = port_of(s.name, &h)) < 0) {
			free(h);
			continue;
		}
		if (*h)
			*bound |= 1u << p;
		else
			*wild |= 1u << p;
		for (j = i + 1; unique && mastercf_service_at(mf, j, &s2) == 0; j++) {
			if (strcmp(s2.type, "inet") == 0 && port_of(s2.name, &h2) == p)
				CHECK(strcasecmp(h, h2) != 0);
			free(h2);
			h2 = NULL;
		}
		free(h);
	}
}

static void stage_edit(const uint8_t *data, size_t size)
{
	static const char conf[] = "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n";
	const struct profile *p = profile_by_name(size && (data[0] & 2) ? "el7" : "debian12");
	struct strv errors = { 0 };
	struct mastercf *in = NULL, *out = NULL;
	struct config cfg;
	char *o1 = NULL, *o2 = NULL, *err = NULL;
	size_t l1 = 0, l2 = 0;
	unsigned bound0, wild0, bound, wild;

	memset(&cfg, 0, sizeof(cfg));
	CHECK(config_parse(conf, strlen(conf), "fuzz.conf", &cfg, &errors) == 0);
	CHECK(mastercf_parse((const char *)data, size, &in, &err) == 0);
	listeners(in, &bound0, &wild0, 0);
	if (postfix_master_edit(&cfg, p, (const char *)data, size, &o1, &l1, &err) < 0) {
		CHECK(err && *err);
		CHECK(o1 == NULL);
		goto out;
	}
	free(err);
	err = NULL;
	CHECK(mastercf_parse(o1, l1, &out, &err) == 0);
	listeners(out, &bound, &wild, 1);
	CHECK((bound | wild) == 7);
	/* a wildcard beside a bound listener only when the input had one */
	CHECK((bound & wild & ~wild0) == 0);
	CHECK(postfix_master_edit(&cfg, p, o1, l1, &o2, &l2, &err) == 0);
	CHECK(l1 == l2 && memcmp(o1, o2, l1) == 0);
out:
	free(o1);
	free(o2);
	free(err);
	mastercf_free(in);
	mastercf_free(out);
	strv_free(&errors);
	config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mastercf *orig = NULL, *mf = NULL;
	struct mastercf_service s, so, sn;
	struct mastercf_new_service ns;
	struct buf before = { 0 }, after = { 0 };
	char *err = NULL, *out = NULL, *name = NULL, *type = NULL;
	const char *opt, *value, *v;
	size_t i, olen, nsvc, idx = (size_t)-1, len;
	int r;

	if (mastercf_parse((const char *)data, size, &orig, &err) < 0) {
		CHECK(err && strncmp(err, "line ", 5) == 0);
		goto out;
	}
	out = mastercf_render(orig, &olen);
	CHECK(olen == size && memcmp(out, data, size) == 0);
	CHECK(mastercf_parse((const char *)data, size, &mf, &err) == 0);
	nsvc = mastercf_service_count(orig);
	opt = opts[(size ? data[0] : 0) % 3];
	value = values[(size ? data[size - 1] : 0) % 4];

	if (nsvc) {
		CHECK(mastercf_service_at(orig, (size + (size ? data[0] : 0)) % nsvc, &s) == 0);
		name = xstrdup(s.name);
		type = xstrdup(s.type);
		CHECK(mastercf_find(orig, name, type, &s) == 0);	/* the effective one */
		mastercf_line(orig, s.first_line - 1, &len, &idx);
		others(orig, idx, &before);

		r = mastercf_set_option(mf, name, type, opt, value);
		CHECK(r == 0 || r == -ENOTSUP);
		if (r == 0) {
			CHECK(mastercf_get_option(mf, name, type, opt, &v) == 0);
			CHECK(v && strcmp(v, value) == 0);
			CHECK(mastercf_service_count(mf) == nsvc);
			others(mf, idx, &after);
			CHECK(before.len == after.len && (!before.len || memcmp(before.data, after.data, before.len) == 0));
			for (i = 0; i < nsvc; i++) {
				if (i == idx)
					continue;
				CHECK(mastercf_service_at(orig, i, &so) == 0);
				CHECK(mastercf_service_at(mf, i, &sn) == 0);
				CHECK(same_service(&so, &sn));
			}
			roundtrip(mf);
			CHECK(mastercf_unset_option(mf, name, type, opt) == 0);
			CHECK(mastercf_get_option(mf, name, type, opt, &v) == 0 && v == NULL);
			CHECK(mastercf_service_count(mf) == nsvc);
			roundtrip(mf);
		}
		/* never a second entry */
		memset(&ns, 0, sizeof(ns));
		ns.name = name;
		ns.type = type;
		ns.command = "smtpd";
		if (name[0] != '#')
			CHECK(mastercf_add_service(mf, &ns) == -EEXIST);
		CHECK(mastercf_dedupe(mf, name, type, data[0] & 1) == 0);
		CHECK(mastercf_count(mf, name, type) == 1);
		roundtrip(mf);
	}

	/* a new entry, from a template when there is one */
	memset(&ns, 0, sizeof(ns));
	ns.name = "mailstage-fuzz";
	ns.type = "unix";
	ns.command = "smtpd";
	if (name) {
		ns.template_name = name;
		ns.template_type = type;
	}
	{
		const char *o[] = { "syslog_name=postfix/fuzz", NULL };
		ns.options = o;
		r = mastercf_add_service(mf, &ns);
	}
	CHECK(r == 0 || r == -EEXIST);
	CHECK(mastercf_count(mf, "mailstage-fuzz", "unix") == 1);
	if (r == 0) {
		CHECK(mastercf_get_option(mf, "mailstage-fuzz", "unix", "syslog_name", &v) == 0);
		CHECK(v && strcmp(v, "postfix/fuzz") == 0);
	}
	roundtrip(mf);
	stage_edit(data, size);
out:
	buf_free(&before);
	buf_free(&after);
	free(name);
	free(type);
	free(err);
	free(out);
	mastercf_free(orig);
	mastercf_free(mf);
	return 0;
}
