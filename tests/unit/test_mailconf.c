/*
 * test_mailconf.c - unit tests for the edit functions of the mail
 * configuration stages (steps/mailconf.h) on the packaged files of each
 * profile (tests/data) and on hostile input: what is written per Postfix
 * version, idempotence, the guide's duplicate smtp entry, the DMARC alias
 * decision, the sasl group edit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "maincf.h"
#include "mastercf.h"
#include "mailconf.h"
#include "profile.h"
#include "testutil.h"
#include "util.h"

static void load_cfg(struct config *cfg, const char *extra)
{
	struct strv errors = { 0 };
	char *text = xasprintf("hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n%s",
			       extra ? extra : "");
	memset(cfg, 0, sizeof(*cfg));
	if (config_parse(text, strlen(text), "test.conf", cfg, &errors) < 0)
		fail_msg("config: %s", errors.n ? errors.v[0] : "?");
	strv_free(&errors);
	free(text);
}

/* edit(text) for one editor */
typedef int (*edit_fn)(const struct config *, const struct profile *, const char *, size_t, char **, size_t *,
		       char **);

static char *edit_ok(edit_fn f, const struct config *cfg, const struct profile *p, const char *in, size_t len,
		     size_t *outlen)
{
	char *out = NULL, *err = NULL;
	if (f(cfg, p, in, len, &out, outlen, &err) < 0)
		fail_msg("edit failed: %s", err ? err : "?");
	return out;
}

/* A second edit of the result changes nothing (a second apply is a no-op). */
static void assert_idempotent(edit_fn f, const struct config *cfg, const struct profile *p, const char *file)
{
	size_t len = 0, l1 = 0, l2 = 0;
	char *in = tu_read_file(file, &len), *o1 = edit_ok(f, cfg, p, in, len, &l1), *o2 = edit_ok(f, cfg, p, o1, l1, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(o1, o2, l1);
	free(in);
	free(o1);
	free(o2);
}

static struct maincf *main_of(const char *text)
{
	struct maincf *mc = NULL;
	char *err = NULL;
	if (maincf_parse(text, strlen(text), &mc, &err) < 0)
		fail_msg("%s", err);
	return mc;
}

static void test_main_versions(void **state)
{
	struct config cfg;
	struct profile old = *profile_by_name("el7");
	const struct profile *el7 = profile_by_name("el7"), *deb = profile_by_name("debian12");
	size_t len = 0, ol = 0, i;
	char *in = tu_read_file("tests/data/el7/main.cf", &len), *out;
	struct maincf *mc;

	(void)state;
	load_cfg(&cfg, NULL);
	/* EL7, Postfix 2.10: every managed parameter but the 3.x-only ones */
	out = edit_ok(postfix_main_edit, &cfg, el7, in, len, &ol);
	mc = main_of(out);
	for (i = 0; postfix_main_params()[i].name; i++) {
		const struct pf_param *pp = &postfix_main_params()[i];
		if (pp->since > 210)
			assert_null(maincf_get(mc, pp->name));
		else
			assert_int_equal(maincf_count(mc, pp->name), 1);
	}
	assert_null(maincf_get(mc, "compatibility_level"));
	/* port 25 opportunistic: only SSL excluded; 587/465 (mandatory): TLS 1.2+ */
	assert_string_equal(maincf_get(mc, "smtpd_tls_protocols"), "!SSLv2, !SSLv3");
	assert_string_equal(maincf_get(mc, "smtpd_tls_mandatory_protocols"), "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
	/* SASL only where master.cf enables it (submission, smtps); no VRFY */
	assert_string_equal(maincf_get(mc, "smtpd_sasl_auth_enable"), "no");
	assert_string_equal(maincf_get(mc, "disable_vrfy_command"), "yes");
	assert_null(strstr(out, "TLSv1.2"));	/* unknown to 2.10: it would disable TLS */
	assert_null(strstr(out, "reject_invalid_hostname"));
	assert_string_equal(maincf_get(mc, "smtpd_milters"), "inet:127.0.0.1:8891");
	assert_string_equal(maincf_get(mc, "non_smtpd_milters"), "$smtpd_milters");
	assert_string_equal(maincf_get(mc, "mynetworks"), "127.0.0.0/8 [::1]/128");
	assert_string_equal(maincf_get(mc, "inet_protocols"), "ipv4");
	assert_string_equal(maincf_get(mc, "smtpd_tls_cert_file"), "/etc/pki/tls/certs/mail.example.com.crt");
	maincf_free(mc);
	free(out);
	/* A Postfix before 2.10 does not know smtpd_relay_restrictions: not written,
	 * and reject_unauth_destination stays in the recipient restrictions. */
	old.postfix_version = 209;
	out = edit_ok(postfix_main_edit, &cfg, &old, in, len, &ol);
	mc = main_of(out);
	assert_null(maincf_get(mc, "smtpd_relay_restrictions"));
	assert_non_null(strstr(maincf_get(mc, "smtpd_recipient_restrictions"), "reject_unauth_destination"));
	maincf_free(mc);
	free(out);
	free(in);
	/* Debian 12, Postfix 3.7: its compatibility_level 3.6 is kept */
	in = tu_read_file("tests/data/debian12/main.cf", &len);
	out = edit_ok(postfix_main_edit, &cfg, deb, in, len, &ol);
	mc = main_of(out);
	assert_string_equal(maincf_get(mc, "compatibility_level"), "3.6");
	maincf_free(mc);
	free(out);
	/* ... and when absent on 3.x, level 2 is added */
	out = edit_ok(postfix_main_edit, &cfg, deb, "biff = no\n", 10, &ol);
	mc = main_of(out);
	assert_string_equal(maincf_get(mc, "compatibility_level"), "2");
	maincf_free(mc);
	free(out);
	free(in);
	config_free(&cfg);
}

static void test_main_values(void **state)
{
	struct config cfg;
	const struct profile *deb = profile_by_name("debian12");
	size_t ol = 0;
	char *out;
	struct maincf *mc;

	(void)state;
	load_cfg(&cfg, "ipv6 = 2001:db8::10\nrbl =\n");
	out = edit_ok(postfix_main_edit, &cfg, deb, "", 0, &ol);
	mc = main_of(out);
	assert_string_equal(maincf_get(mc, "inet_protocols"), "all");	/* SPF lists the IPv6 address */
	assert_null(strstr(maincf_get(mc, "smtpd_recipient_restrictions"), "reject_rbl_client"));
	maincf_free(mc);
	free(out);
	config_free(&cfg);
	load_cfg(&cfg, "rbl = zen.spamhaus.org, bl.example.org\n");
	out = edit_ok(postfix_main_edit, &cfg, deb, "", 0, &ol);
	mc = main_of(out);
	assert_non_null(strstr(maincf_get(mc, "smtpd_recipient_restrictions"),
			       "reject_unknown_recipient_domain, reject_rbl_client zen.spamhaus.org, "
			       "reject_rbl_client bl.example.org"));
	maincf_free(mc);
	free(out);
	/* the same list written differently is not a change */
	out = edit_ok(postfix_main_edit, &cfg, deb, "mynetworks = 127.0.0.0/8,[::1]/128\n", 35, &ol);
	assert_non_null(strstr(out, "mynetworks = 127.0.0.0/8,[::1]/128\n"));
	free(out);
	config_free(&cfg);
}

static void test_idempotent(void **state)
{
	struct config cfg;
	const struct profile *el7 = profile_by_name("el7"), *deb = profile_by_name("debian12");
	(void)state;
	load_cfg(&cfg, NULL);
	assert_idempotent(postfix_main_edit, &cfg, el7, "tests/data/el7/main.cf");
	assert_idempotent(postfix_main_edit, &cfg, deb, "tests/data/debian12/main.cf");
	assert_idempotent(postfix_main_edit, &cfg, deb, "tests/cases/maincf/003-seed-guide-appended/input");
	assert_idempotent(postfix_main_edit, &cfg, deb, "tests/cases/maincf/005-continuation-across-comments/input");
	assert_idempotent(postfix_master_edit, &cfg, el7, "tests/data/el7/master.cf");
	assert_idempotent(postfix_master_edit, &cfg, deb, "tests/data/debian12/master.cf");
	assert_idempotent(postfix_master_edit, &cfg, deb, "tests/cases/mastercf/003-seed-duplicate-smtp-keep-first/input");
	assert_idempotent(opendkim_conf_edit, &cfg, el7, "tests/data/el7/opendkim.conf");
	assert_idempotent(opendkim_conf_edit, &cfg, deb, "tests/data/debian12/opendkim.conf");
	config_free(&cfg);
}

static void test_master(void **state)
{
	struct config cfg;
	const struct profile *el7 = profile_by_name("el7"), *deb = profile_by_name("debian12");
	struct mastercf *mf = NULL;
	struct mastercf_service sv;
	size_t len = 0, ol = 0;
	char *in, *out, *err = NULL;
	const char *v;

	(void)state;
	load_cfg(&cfg, "smtpd_client_connection_rate_limit = 12\n");
	/* the guide's appended smtp entry: the first (packaged, chroot y) one is kept */
	in = tu_read_file("tests/data/debian12/master.cf", &len);
	in = xrealloc(in, len + 200);
	strcpy(in + len, "smtp      inet  n       -       n       -       -       smtpd\n"
			 "  -o smtpd_client_connection_rate_limit=30\n");
	len = strlen(in);
	out = edit_ok(postfix_master_edit, &cfg, deb, in, len, &ol);
	assert_int_equal(mastercf_parse(out, ol, &mf, &err), 0);
	assert_int_equal(mastercf_count(mf, "smtp", "inet"), 1);
	assert_int_equal(mastercf_find(mf, "smtp", "inet", &sv), 0);
	assert_string_equal(sv.field[MASTERCF_CHROOT], "y");
	assert_int_equal(mastercf_get_option(mf, "smtp", "inet", "smtpd_client_connection_rate_limit", &v), 0);
	assert_string_equal(v, "12");
	assert_non_null(strstr(out, "#mailstage: smtp      inet  n       -       n"));
	assert_int_equal(mastercf_find(mf, "submission", "inet", &sv), 0);
	assert_string_equal(sv.field[MASTERCF_CHROOT], "y");	/* copied from smtp inet */
	assert_int_equal(mastercf_get_option(mf, "submission", "inet", "smtpd_tls_security_level", &v), 0);
	assert_string_equal(v, "encrypt");
	assert_int_equal(mastercf_get_option(mf, "smtps", "inet", "smtpd_tls_wrappermode", &v), 0);
	assert_string_equal(v, "yes");
	assert_int_equal(mastercf_get_option(mf, "smtps", "inet", "smtpd_client_restrictions", &v), 0);
	assert_string_equal(v, "permit_sasl_authenticated,reject");
	assert_null(strstr(out, "-o {"));	/* no Postfix 3 grouping */
	assert_int_equal(mastercf_get_option(mf, "smtp", "inet", "smtpd_sasl_auth_enable", &v), 0);
	assert_null(v);	/* not written on a packaged entry that does not set it */
	mastercf_free(mf);
	free(out);
	free(in);
	/* SASL stays off on port 25: main.cf says no, submission and smtps say yes */
	in = xstrdup("smtp inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n");
	out = edit_ok(postfix_master_edit, &cfg, deb, in, strlen(in), &ol);
	assert_int_equal(mastercf_parse(out, ol, &mf, &err), 0);
	assert_int_equal(mastercf_get_option(mf, "smtp", "inet", "smtpd_sasl_auth_enable", &v), 0);
	assert_string_equal(v, "no");	/* a hand-set yes on 25 is turned off */
	assert_int_equal(mastercf_get_option(mf, "submission", "inet", "smtpd_sasl_auth_enable", &v), 0);
	assert_string_equal(v, "yes");
	assert_int_equal(mastercf_get_option(mf, "smtps", "inet", "smtpd_sasl_auth_enable", &v), 0);
	assert_string_equal(v, "yes");
	mastercf_free(mf);
	free(out);
	free(in);
	/* EL7: chroot n copied */
	in = tu_read_file("tests/data/el7/master.cf", &len);
	out = edit_ok(postfix_master_edit, &cfg, el7, in, len, &ol);
	assert_int_equal(mastercf_parse(out, ol, &mf, &err), 0);
	assert_int_equal(mastercf_find(mf, "smtps", "inet", &sv), 0);
	assert_string_equal(sv.field[MASTERCF_CHROOT], "n");
	mastercf_free(mf);
	free(out);
	free(in);
	/* Debian with SELinux on (the profile's variant): submission and smtps unchrooted, new or
	 * already there (a chrooted 465 the admin wrote), port 25 still chrooted; saslauthd's socket
	 * where the policy lets it make one */
	{
		const struct profile *dse = profile_for_selinux(deb, 1);
		char *d = NULL;
		size_t dl = 0;
		assert_true(dse != deb);
		assert_ptr_equal(profile_for_selinux(deb, 0), deb);
		assert_ptr_equal(profile_for_selinux(el7, 1), el7);
		assert_string_equal(dse->name, "debian12");
		in = tu_read_file("tests/data/debian12/master.cf", &len);
		in = xrealloc(in, len + 100);
		strcpy(in + len, "smtps     inet  n       -       y       -       -       smtpd\n");
		len = strlen(in);
		out = edit_ok(postfix_master_edit, &cfg, dse, in, len, &ol);
		assert_int_equal(mastercf_parse(out, ol, &mf, &err), 0);
		assert_int_equal(mastercf_find(mf, "smtp", "inet", &sv), 0);
		assert_string_equal(sv.field[MASTERCF_CHROOT], "y");
		assert_int_equal(mastercf_find(mf, "submission", "inet", &sv), 0);
		assert_string_equal(sv.field[MASTERCF_CHROOT], "n");
		assert_int_equal(mastercf_find(mf, "smtps", "inet", &sv), 0);
		assert_string_equal(sv.field[MASTERCF_CHROOT], "n");
		mastercf_free(mf);
		free(out);
		free(in);
		assert_int_equal(sasl_defaults_edit(dse, "OPTIONS=\"-c -m /var/run/saslauthd\"\n", 35, &d, &dl, &err), 0);
		assert_non_null(strstr(d, "OPTIONS=\"-m /var/run/saslauthd\""));
		free(d);
		assert_int_equal(sasl_defaults_edit(deb, "OPTIONS=\"-c -m /var/run/saslauthd\"\n", 35, &d, &dl, &err), 0);
		assert_non_null(strstr(d, "/var/spool/postfix/var/run/saslauthd"));
		free(d);
	}
	/* unparsable: an error with the line, no output */
	assert_int_equal(postfix_master_edit(&cfg, el7, "smtp inet n - n - smtpd\n", 24, &out, &ol, &err), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err, "line 1:"));
	free(err);
	config_free(&cfg);
}

static void test_opendkim(void **state)
{
	struct config cfg;
	const struct profile *el7 = profile_by_name("el7");
	size_t len = 0, ol = 0;
	char *in, *out, *t;

	(void)state;
	load_cfg(&cfg, NULL);
	in = tu_read_file("tests/data/el7/opendkim.conf", &len);
	out = edit_ok(opendkim_conf_edit, &cfg, el7, in, len, &ol);
	assert_non_null(strstr(out, "\nMode\tsv\n"));
	assert_non_null(strstr(out, "\n#mailstage: KeyFile\t/etc/opendkim/keys/default.private\n"));
	assert_non_null(strstr(out, "\nKeyTable\t/etc/opendkim/KeyTable\n"));
	assert_non_null(strstr(out, "SigningTable\trefile:/etc/opendkim/SigningTable\n"));
	assert_non_null(strstr(out, "UserID\topendkim:opendkim\n"));
	/* EPEL 7's opendkim 2.11.0-0.1 text: examples "# KeyTable" (hash, space), each set
	 * right after its example; the package's OversignHeaders From is not added twice;
	 * its SendReports/SoftwareHeader/MinimumKeyBits lines stay. */
	assert_non_null(strstr(out, "\n# KeyTable\t/etc/opendkim/KeyTable\nKeyTable\t/etc/opendkim/KeyTable\n"));
	assert_non_null(strstr(out, "\n# InternalHosts\trefile:/etc/opendkim/TrustedHosts\n"
				    "InternalHosts\trefile:/etc/opendkim/TrustedHosts\n"));
	t = strstr(out, "\nOversignHeaders\tFrom\n");
	assert_non_null(t);
	assert_null(strstr(t + 1, "\nOversignHeaders"));
	assert_non_null(strstr(out, "\nSendReports\tyes\n"));
	assert_non_null(strstr(out, "\nSoftwareHeader\tyes\n"));
	assert_non_null(strstr(out, "\nMinimumKeyBits\t1024\n"));
	assert_non_null(strstr(out, "\n## DEPRECATED CONFIGURATION OPTIONS\n"));
	free(out);
	free(in);
	t = opendkim_keytable(&cfg, el7);
	assert_string_equal(t, "default._domainkey.example.com example.com:default:"
			    "/etc/opendkim/keys/example.com/default.private\n");
	free(t);
	t = opendkim_signingtable(&cfg);
	assert_string_equal(t, "*@example.com default._domainkey.example.com\n");
	free(t);
	config_free(&cfg);
}

static void test_dmarc_alias(void **state)
{
	struct config cfg;
	char *lp[2], *out = NULL, *err = NULL;
	size_t ol = 0;

	(void)state;
	load_cfg(&cfg, NULL);	/* dmarc@example.com for rua and ruf: one alias */
	assert_int_equal(postfix_dmarc_locals(&cfg, lp), 1);
	assert_string_equal(lp[0], "dmarc");
	free(lp[0]);
	assert_int_equal(postfix_aliases_edit(&cfg, "postmaster: root\n", 17, &out, &ol, &err), 0);
	assert_string_equal(out, "postmaster: root\ndmarc: root\n");
	free(out);
	config_free(&cfg);
	load_cfg(&cfg, "dmarc_rua = reports@dmarc.example.net\ndmarc_ruf = abuse@MAIL.example.com\n"
		       "dmarc_alias_to = ops@example.org\n");
	assert_int_equal(postfix_dmarc_locals(&cfg, lp), 1);	/* ruf: the hostname is local too */
	assert_string_equal(lp[0], "abuse");
	free(lp[0]);
	config_free(&cfg);
	load_cfg(&cfg, "dmarc_rua = reports@dmarc.example.net\ndmarc_ruf =\n");
	assert_int_equal(postfix_dmarc_locals(&cfg, lp), 0);
	config_free(&cfg);
}

static void test_group(void **state)
{
	const char *g = "root:x:0:\nsasl:x:45:\nmail:x:8:a,b\n";
	char *out = NULL;
	size_t ol = 0;

	(void)state;
	assert_int_equal(sasl_group_add(g, strlen(g), "sasl", "postfix", &out, &ol), 0);
	assert_string_equal(out, "root:x:0:\nsasl:x:45:postfix\nmail:x:8:a,b\n");
	free(out);
	assert_int_equal(sasl_group_add(g, strlen(g), "mail", "postfix", &out, &ol), 0);
	assert_string_equal(out, "root:x:0:\nsasl:x:45:\nmail:x:8:a,b,postfix\n");
	free(out);
	assert_int_equal(sasl_group_add(g, strlen(g), "mail", "b", &out, &ol), 0);
	assert_string_equal(out, g);	/* already a member */
	free(out);
	assert_int_equal(sasl_group_add(g, strlen(g), "sas", "postfix", &out, &ol), -ENOENT);
	assert_int_equal(sasl_group_add("sasl:x\n", 7, "sasl", "postfix", &out, &ol), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_versions),
		cmocka_unit_test(test_main_values),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_master),
		cmocka_unit_test(test_opendkim),
		cmocka_unit_test(test_dmarc_alias),
		cmocka_unit_test(test_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
