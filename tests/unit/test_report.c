/*
 * test_report.c - unit tests for the DMARC aggregate report reader
 * (installer/report.h): every form of tests/data/dmarc and its figures,
 * every hostile case with its message, the --json object, the set (foreign
 * domain, --since, duplicates, own addresses), where the DMARC alias
 * delivers (aliases, main.cf, profile), mbox and Maildir reading, and the
 * pass rate a verify check will use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "msg.h"
#include "profile.h"
#include "report.h"
#include "root.h"
#include "testutil.h"
#include "util.h"

#define DATA "tests/data/dmarc/"

static char *fixture(const char *name, size_t *len)
{
	char *p = xasprintf(DATA "%s", name), *d = tu_read_file(p, len);
	free(p);
	return d;
}

static int read_fixture(const char *name, struct dmarc_report *rp, char **why)
{
	size_t len = 0;
	char *d = fixture(name, &len);
	int r = dmarc_read(d, len, rp, why);
	free(d);
	return r;
}

static void load_cfg(struct config *cfg, const char *extra)
{
	struct strv errs = { 0 };
	char *t = xasprintf("hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n%s%s",
			    extra && strstr(extra, "ipv6") ? "" : "ipv6 = 2001:db8::10\n", extra ? extra : "");
	memset(cfg, 0, sizeof(*cfg));
	if (config_parse(t, strlen(t), "test.conf", cfg, &errs) < 0)
		fail_msg("config: %s", errs.n ? errs.v[0] : "?");
	strv_free(&errs);
	free(t);
}

struct form {
	const char *file, *org, *id;
	long long messages, pass;
	size_t n;
	int bis;
};

/* The one base64 decoder (util.c) that attachments and DKIM records share. */
static void test_base64(void **state)
{
	struct buf b = { 0 };
	size_t at = 0;
	(void)state;
	assert_int_equal(base64_decode("aGVs\r\n bG8=trailing", 20, &b, &at), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	b.len = 0;
	assert_int_equal(base64_decode("aGV*bG8", 7, &b, &at), -EINVAL);
	assert_int_equal(at, 3);
	buf_free(&b);
}

/* The bounded sink both HTTP clients (acme.c, sakura.c) give libcurl. */
static void test_buf_sink(void **state)
{
	struct buf b = { 0 };
	struct buf_sink s = { .buf = &b, .max = 8 };
	char chunk[6] = "abcdef";
	(void)state;
	assert_int_equal(buf_sink_write(chunk, 1, 6, &s), 6);
	assert_int_equal(buf_sink_write(chunk, 2, 1, &s), 2);	/* exactly max */
	assert_int_equal(s.too_big, 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(buf_sink_write(chunk, 1, 1, &s), 0);	/* one byte past: stop */
	assert_int_equal(s.too_big, 1);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdefab", 8);
	s.too_big = 0;
	assert_int_equal(buf_sink_write(chunk, (size_t)-1, 2, &s), 0);	/* sz * nm overflows */
	assert_int_equal(s.too_big, 1);
	buf_free(&b);
}

static void test_forms(void **state)
{
	static const struct form forms[] = {
		{ "report-7489.xml", "receiver-one.example", "r1-20261120", 50, 40, 3, 0 },
		{ "report-bis.xml", "receiver-two.example", "bis-77", 17, 12, 2, 1 },
		{ "report-gz.xml.gz", "receiver-three.example", "gz-3001", 20, 20, 1, 0 },
		{ "report-zip.zip", "receiver-four.example", "zip-4", 11, 9, 2, 0 },
		{ "mail-gzip-base64.eml", "mail-gzip.example", "m1-555", 30, 30, 1, 0 },
		{ "mail-zip-base64.eml", "mail-zip.example", "m2-666", 10, 6, 2, 0 },
		{ "mail-xml-7bit.eml", "mail-plain.example", "m3-777", 11, 11, 1, 1 },
		{ "mail-octet-name.eml", "mail-octet.example", "m4-888", 8, 8, 1, 0 },
		{ "mail-single-part.eml", "mail-single.example", "m5-999", 2, 2, 1, 0 },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		struct dmarc_report rp;
		char *why = NULL;
		int r = read_fixture(forms[i].file, &rp, &why);
		if (r != 0)
			fail_msg("%s: %d %s", forms[i].file, r, why);
		assert_string_equal(rp.org, forms[i].org);
		assert_string_equal(rp.report_id, forms[i].id);
		assert_string_equal(rp.domain, "example.com");
		assert_int_equal(rp.messages, forms[i].messages);
		assert_int_equal(rp.dmarc_pass, forms[i].pass);
		assert_int_equal(rp.n, forms[i].n);
		assert_int_equal(rp.bis, forms[i].bis);
		assert_true(rp.end - rp.begin == 86399);
		dmarc_report_free(&rp);
	}
}

static void test_fields(void **state)
{
	struct dmarc_report rp;
	char *why = NULL;
	(void)state;
	assert_int_equal(read_fixture("report-7489.xml", &rp, &why), 0);
	assert_int_equal(rp.begin, 1795132800LL);
	assert_string_equal(rp.rec[1].source_ip, "2001:db8::10");
	assert_int_equal(rp.rec[1].count, 3);
	assert_string_equal(rp.rec[1].disposition, "quarantine");
	assert_string_equal(rp.rec[1].dkim, "fail");
	assert_string_equal(rp.rec[1].dkim_raw, "");	/* no <dkim> in auth_results */
	assert_string_equal(rp.rec[1].spf_raw, "softfail");
	assert_string_equal(rp.rec[0].header_from, "example.com");
	dmarc_report_free(&rp);
	assert_int_equal(read_fixture("report-bis.xml", &rp, &why), 0);
	assert_string_equal(rp.rec[0].disposition, "pass");	/* DMARCbis only */
	dmarc_report_free(&rp);
}

struct bad {
	const char *file;
	int err;
	const char *says;
};

static void test_hostile(void **state)
{
	static const struct bad bad[] = {
		{ "bad-xml.xml", -EINVAL, "invalid XML at line 12: mismatched tag" },
		{ "bad-utf8.xml", -EINVAL, "not valid UTF-8 at byte 112" },
		{ "billion-laughs.xml", -EINVAL, "it has a DOCTYPE (line 2)" },
		{ "xxe.xml", -EINVAL, "it has a DOCTYPE (line 2)" },
		{ "zip-bomb.zip", -EFBIG, "it unpacks to more than 16 MiB" },
		{ "gzip-bomb.xml.gz", -EFBIG, "it unpacks to more than 16 MiB" },
		{ "zip-two.zip", -EINVAL, "the zip holds more than one file" },
		{ "bad-record.xml", -EINVAL, "record 1: <source_ip> \"not-an-ip\" is not an IP address" },
		{ "not-report.eml", -ENOMSG, NULL },
	};
	size_t i;
	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct dmarc_report rp;
		char *why = NULL;
		int r = read_fixture(bad[i].file, &rp, &why);
		if (r != bad[i].err)
			fail_msg("%s: %d, expected %d (%s)", bad[i].file, r, bad[i].err, why ? why : "");
		if (bad[i].says && (!why || !strstr(why, bad[i].says)))
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].file, why ? why : "", bad[i].says);
		assert_null(rp.rec);
		free(why);
	}
}

static void expect_xml_error(const char *xml, size_t len, const char *says)
{
	struct dmarc_report rp;
	char *why = NULL;
	assert_true(dmarc_parse_xml(xml, len, &rp, &why) < 0);
	if (!why || !strstr(why, says))
		fail_msg("\"%s\" does not say \"%s\"", why ? why : "", says);
	free(why);
}

static void test_xml_limits(void **state)
{
	struct buf b = { 0 };
	int i;
	(void)state;
	expect_xml_error("<feedback>\xc0\xaf</feedback>", 22, "not valid UTF-8 at byte 10");	/* overlong '/' */
	expect_xml_error("<feedback>\xed\xa0\x80</feedback>", 24, "not valid UTF-8 at byte 10");	/* surrogate */
	expect_xml_error("<feedback>\0</feedback>", 22, "not valid UTF-8 at byte 10");
	expect_xml_error("<html><body/></html>", 20, "the root element is <html>");
	expect_xml_error("<feedback xmlns=\"urn:other\"/>", 29, "the root element is <urn:other:feedback>");
	expect_xml_error("<feedback/>", 11, "no <org_name>");
	buf_puts(&b, "<feedback>");
	for (i = 0; i < 40; i++)
		buf_puts(&b, "<a>");
	expect_xml_error(b.data, b.len, "nest deeper than 32");
	b.len = 0;
	buf_puts(&b, "<feedback><report_metadata><org_name>");
	for (i = 0; i < 2000; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "</org_name></report_metadata></feedback>");
	expect_xml_error(b.data, b.len, "holds more than 1024 bytes");
	buf_free(&b);
	/* an external entity without a DOCTYPE is only an undefined entity: nothing is fetched */
	expect_xml_error("<feedback>&ext;</feedback>", 26, "undefined entity");
}

/* What a report says is shown to the admin: no terminal control gets through. */
static void test_terminal_safe(void **state)
{
	const char *xml = "<feedback><report_metadata><org_name>evil\xc2\x9b" "2J\tcorp</org_name>"
			  "<report_id>1\n2</report_id><date_range><begin>1</begin><end>2</end></date_range>"
			  "</report_metadata><policy_published><domain>Example.COM</domain></policy_published>"
			  "<record><row><source_ip>192.0.2.10</source_ip><count>1</count><policy_evaluated>"
			  "<disposition>NONE</disposition><dkim>Pass</dkim><spf>fail</spf></policy_evaluated></row>"
			  "</record></feedback>";
	struct dmarc_report rp;
	char *why = NULL;
	(void)state;
	assert_int_equal(dmarc_parse_xml(xml, strlen(xml), &rp, &why), 0);
	assert_string_equal(rp.org, "evil??2J corp");
	assert_string_equal(rp.report_id, "1 2");
	assert_string_equal(rp.domain, "example.com");
	assert_string_equal(rp.rec[0].disposition, "none");
	assert_int_equal(rp.dmarc_pass, 1);
	dmarc_report_free(&rp);
}

/* A mail cut short after the attachment (no closing boundary): the attachment is still found. */
static void test_truncated_mime(void **state)
{
	struct dmarc_report rp;
	size_t len = 0;
	char *d = fixture("mail-zip-base64.eml", &len), *why = NULL, *end = strstr(d, "--b1_m2-666--");
	(void)state;
	assert_non_null(end);
	*end = 0;
	assert_int_equal(dmarc_read(d, strlen(d), &rp, &why), 0);
	assert_string_equal(rp.report_id, "m2-666");
	dmarc_report_free(&rp);
	free(d);
}

static void test_json(void **state)
{
	struct dmarc_report rp;
	char *why = NULL, *j;
	(void)state;
	assert_int_equal(read_fixture("report-zip.zip", &rp, &why), 0);
	j = dmarc_json(&rp);
	assert_string_equal(j, "{\"org\":\"receiver-four.example\",\"report_id\":\"zip-4\",\"domain\":\"example.com\","
			       "\"begin\":1795392000,\"end\":1795478399,\"messages\":11,\"dmarc_pass\":9,\"records\":["
			       "{\"source_ip\":\"192.0.2.10\",\"count\":9,\"disposition\":\"none\",\"dkim\":\"fail\","
			       "\"spf\":\"pass\"},{\"source_ip\":\"198.51.100.23\",\"count\":2,\"disposition\":"
			       "\"reject\",\"dkim\":\"fail\",\"spf\":\"fail\"}]}");
	free(j);
	dmarc_report_free(&rp);
}

static void test_set(void **state)
{
	struct report_set s = { 0 };
	struct dmarc_report rp;
	struct config cfg;
	char *why = NULL;
	long long end;
	(void)state;
	load_cfg(&cfg, "ipv6 = 2001:DB8:0:0::10\n");
	assert_int_equal(read_fixture("report-7489.xml", &rp, &why), 0);
	end = rp.end;
	assert_int_equal(report_set_add(&s, &rp, &cfg, end + 86400, 7, &why), 1);
	assert_null(rp.rec);	/* moved into the set */
	assert_int_equal(s.n, 1);
	assert_true(s.v[0].rec[0].own);	/* 192.0.2.10 */
	assert_true(s.v[0].rec[1].own);	/* 2001:db8::10 = 2001:DB8:0:0::10 */
	assert_false(s.v[0].rec[2].own);
	/* the same report again: a duplicate, counted once */
	assert_int_equal(read_fixture("report-7489.xml", &rp, &why), 0);
	assert_int_equal(report_set_add(&s, &rp, &cfg, end + 86400, 7, &why), 0);
	assert_int_equal(s.duplicates, 1);
	dmarc_report_free(&rp);
	/* older than --since */
	assert_int_equal(read_fixture("report-bis.xml", &rp, &why), 0);
	assert_int_equal(report_set_add(&s, &rp, &cfg, rp.end + 3 * 86400, 2, &why), 0);
	assert_int_equal(s.old, 1);
	dmarc_report_free(&rp);
	/* foreign domain: rejected with a message; a subdomain is ours */
	assert_int_equal(read_fixture("foreign.xml", &rp, &why), 0);
	assert_int_equal(report_set_add(&s, &rp, &cfg, 0, 0, &why), -EINVAL);
	assert_non_null(strstr(why, "is for other.example, not example.com"));
	assert_int_equal(s.rejected, 1);
	free(why);
	free(rp.domain);
	rp.domain = xstrdup("news.example.com");
	assert_int_equal(report_set_add(&s, &rp, &cfg, 0, 0, &why), 1);
	assert_int_equal(s.n, 2);
	report_set_free(&s);
	config_free(&cfg);
}

/* A scratch target: passwd, aliases, main.cf. */
static char *mkroot(const char *aliases, const char *maincf)
{
	char tmpl[] = "/tmp/ms-h-unit.XXXXXX", *dir, *etc, *pf;
	assert_non_null(mkdtemp(tmpl));
	dir = xstrdup(tmpl);
	etc = xasprintf("%s/etc", dir);
	pf = xasprintf("%s/etc/postfix", dir);
	mkdir(etc, 0755);
	mkdir(pf, 0755);
	tu_write_file(etc, "passwd", "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n", 67);
	if (aliases)
		tu_write_file(etc, "aliases", aliases, strlen(aliases));
	if (maincf)
		tu_write_file(pf, "main.cf", maincf, strlen(maincf));
	free(etc);
	free(pf);
	return dir;
}

static void expect_mailbox(const char *prof, const char *conf, const char *aliases, const char *maincf, int want_r,
			   const char *want, int want_maildir)
{
	struct config cfg;
	struct root root;
	char *dir = mkroot(aliases, maincf), *path = NULL, *why = NULL;
	int maildir = -1, r;

	load_cfg(&cfg, conf);
	assert_int_equal(root_init(&root, dir, &why), 0);
	r = report_mailbox(&root, &cfg, profile_by_name(prof), &path, &maildir, &why);
	if (r != want_r)
		fail_msg("report_mailbox: %d (%s), expected %d", r, why ? why : path, want_r);
	if (r == 0) {
		assert_string_equal(path, want);
		assert_int_equal(maildir, want_maildir);
	} else if (!why || !strstr(why, want)) {
		fail_msg("\"%s\" does not say \"%s\"", why ? why : "", want);
	}
	free(path);
	free(why);
	root_free(&root);
	config_free(&cfg);
	tu_rm_rf(dir);
	free(dir);
}

static void test_mailbox(void **state)
{
	(void)state;
	/* Debian: postfix-main's alias dmarc: root, root's mbox in /var/mail */
	expect_mailbox("debian12", NULL, "postmaster: root\ndmarc: root\n", "myhostname = x\n", 0, "/var/mail/root", 0);
	/* before apply (no alias yet): dmarc_alias_to */
	expect_mailbox("debian12", "dmarc_alias_to = bob\n", "postmaster: root\n", NULL, 0, "/var/mail/bob", 0);
	/* EL: the compiled-in spool */
	expect_mailbox("el7", NULL, "dmarc: root\n", "", 0, "/var/spool/mail/root", 0);
	/* a chain of aliases, then home_mailbox Maildir/ */
	expect_mailbox("el9", NULL, "dmarc: root\nroot: admin, root@example.com\nadmin: \\bob\n",
		       "home_mailbox = Maildir/\n", 0, "/home/bob/Maildir/", 1);
	/* home_mailbox as an mbox file; mail_spool_directory as a Maildir */
	expect_mailbox("debian12", "dmarc_alias_to = bob\n", "", "home_mailbox = Mailbox\n", 0, "/home/bob/Mailbox", 0);
	expect_mailbox("debian12", NULL, "dmarc: root\n", "mail_spool_directory = /var/maildirs/\n", 0,
		       "/var/maildirs/root/", 1);
	/* an alias to a file */
	expect_mailbox("debian12", NULL, "dmarc: /var/lib/dmarc/mbox\n", "", 0, "/var/lib/dmarc/mbox", 0);
	/* not delivered here */
	expect_mailbox("debian12", NULL, "dmarc: ops@elsewhere.example\n", "", -ENOENT, "forwarded to ops@elsewhere.example", 0);
	expect_mailbox("debian12", NULL, "dmarc: \"|/usr/bin/procmail\"\n", "", -ENOTSUP, "not to a mailbox", 0);
	expect_mailbox("debian12", "dmarc_rua = reports@dmarc.example\n", "", "", -ENOENT, "not delivered on this server", 0);
	expect_mailbox("debian12", "dmarc_rua =\n", "", "", -ENOENT, "dmarc_rua is empty", 0);
	expect_mailbox("debian12", NULL, "dmarc: a\na: b\nb: a\n", "", -ELOOP, "loop", 0);
	expect_mailbox("el9", "dmarc_alias_to = nobody2\n", "", "home_mailbox = Maildir/\n", -ENOENT, "not in the target's", 0);
}

static void append_fixture(struct buf *b, const char *name, int mbox)
{
	size_t len = 0, i;
	char *d = fixture(name, &len);
	if (mbox)
		buf_puts(b, "From dmarc@receiver.example Sat Nov 21 04:10:00 2026\n");
	for (i = 0; i < len; i++)
		if (d[i] != '\r')
			buf_append(b, d + i, 1);
	if (mbox)
		buf_puts(b, "\n");
	free(d);
}

static void test_read_mbox_maildir(void **state)
{
	struct report_set s = { 0 };
	struct config cfg;
	struct root root;
	struct buf mb = { 0 };
	char *dir = mkroot("dmarc: root\n", "home_mailbox = Maildir/\n"), *why = NULL, *p;
	int missing = -1, saved = msg_verbosity;
	double rate = -1;
	long long n = -1;
	(void)state;

	load_cfg(&cfg, NULL);
	assert_int_equal(root_init(&root, dir, &why), 0);
	/* mbox: two reports, a cron mail whose body quotes a From line, one broken report */
	append_fixture(&mb, "mail-gzip-base64.eml", 1);
	append_fixture(&mb, "not-report.eml", 1);
	buf_puts(&mb, ">From the body, quoted\n\n");
	append_fixture(&mb, "mail-zip-base64.eml", 1);
	buf_puts(&mb, "From x Sat Nov 21 04:10:00 2026\nContent-Type: text/xml\n\n<feedback>\n\n");
	p = xasprintf("%s/var", dir);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/var/mail", dir);
	mkdir(p, 0755);
	tu_write_file(p, "root", mb.data, mb.len);
	free(p);
	msg_verbosity = MSG_QUIET;
	assert_int_equal(report_read_mailbox(&root, "/var/mail/root", 0, &s, &cfg, 0, 0, &missing, &why), 0);
	msg_verbosity = saved;
	assert_int_equal(missing, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rejected, 1);
	assert_string_equal(s.v[0].report_id, "m1-555");
	assert_string_equal(s.v[1].report_id, "m2-666");
	assert_string_equal(s.v[1].source, "/var/mail/root, message 3");
	report_set_free(&s);
	/* a message over the 32 MiB cap is refused, the next one still read */
	mb.len = 0;
	buf_puts(&mb, "From big Sat Nov 21 04:10:00 2026\nSubject: big\n\n");
	{
		static char line[1025];
		size_t k;
		memset(line, 'x', 1024);
		line[1024] = '\n';
		for (k = 0; k < 33 * 1024; k++)
			buf_append(&mb, line, sizeof(line));
	}
	buf_puts(&mb, "\n");
	append_fixture(&mb, "mail-zip-base64.eml", 1);
	p = xasprintf("%s/var/mail", dir);
	tu_write_file(p, "root", mb.data, mb.len);
	free(p);
	msg_verbosity = MSG_QUIET;
	assert_int_equal(report_read_mailbox(&root, "/var/mail/root", 0, &s, &cfg, 0, 0, &missing, &why), 0);
	msg_verbosity = saved;
	assert_int_equal(s.rejected, 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].report_id, "m2-666");
	report_set_free(&s);
	/* absent mailbox: no reports yet */
	assert_int_equal(report_read_mailbox(&root, "/var/mail/bob", 0, &s, &cfg, 0, 0, &missing, &why), 0);
	assert_int_equal(missing, 1);
	assert_int_equal(s.n, 0);
	/* Maildir (home_mailbox = Maildir/ for root) */
	assert_int_equal(report_pass_rate(&root, &cfg, profile_by_name("debian12"), 7, &rate, &n, &why), 0);
	assert_int_equal(n, 0);	/* no Maildir yet */
	p = xasprintf("%s/root", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/root/Maildir", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/root/Maildir/new", dir);
	mkdir(p, 0700);
	mb.len = 0;
	append_fixture(&mb, "mail-zip-base64.eml", 0);
	tu_write_file(p, "1795600000.M1P1.mail", mb.data, mb.len);
	mb.len = 0;
	append_fixture(&mb, "mail-xml-7bit.eml", 0);
	tu_write_file(p, "1795600001.M1P1.mail", mb.data, mb.len);
	free(p);
	/* the fixtures end in 2026-11: over the last 36500 days, 17 of 21 messages passed */
	assert_int_equal(report_pass_rate(&root, &cfg, profile_by_name("debian12"), 36500, &rate, &n, &why), 0);
	assert_int_equal(n, 21);
	assert_true(rate > 0.8095 && rate < 0.8096);
	/* over the last day (now is later than 2026-11-27): none */
	assert_int_equal(report_pass_rate(&root, &cfg, profile_by_name("debian12"), 1, &rate, &n, &why), 0);
	assert_int_equal(n, 0);
	buf_free(&mb);
	root_free(&root);
	config_free(&cfg);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_buf_sink),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_xml_limits),
		cmocka_unit_test(test_terminal_safe),
		cmocka_unit_test(test_truncated_mime),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_read_mbox_maildir),
	};
	msg_journal_enabled = 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
