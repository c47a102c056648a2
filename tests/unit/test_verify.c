/*
 * test_verify.c - the record logic behind `mailstage verify`: SPF
 * authorisation (ip4/ip6 CIDR, a/mx, qualifiers, include), the DKIM p=
 * of TXT data and of zone text split into strings, reverse names,
 * --resolver parsing, and `dns --check` (the DNS part of verify) against a
 * small authoritative responder forked on 127.0.0.1: the PTR of both
 * configured addresses, forward-confirmed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "dnsq.h"
#include "exec.h"
#include "runner.h"
#include "util.h"
#include "verify.h"
#include "verify_check.h"

static int spf(const char *rec, const char *addr, const char *const *a)
{
	char *why = NULL;
	int r = spf_authorises(rec, addr, a, &why);
	free(why);
	return r;
}

static void test_spf(void **state)
{
	const char *const a[] = { "192.0.2.10", "2001:db8::10", NULL };
	(void)state;
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ~all", "192.0.2.10", NULL), 1);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.77", NULL), 1);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.200", NULL), 0);
	/* The guide's record: IPv4 only, so mail sent over IPv6 is not authorised. */
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ~all", "2001:db8::10", NULL), 0);
	assert_int_equal(spf("v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all", "2001:db8::10", NULL), 1);
	assert_int_equal(spf("v=spf1 ip6:2001:db8::/32 ~all", "2001:db8:1::5", NULL), 1);
	assert_int_equal(spf("v=spf1 -ip4:192.0.2.10 ~all", "192.0.2.10", NULL), 0);	/* a fail qualifier */
	assert_int_equal(spf("v=spf1 mx -all", "192.0.2.10", a), 1);
	assert_int_equal(spf("v=spf1 a -all", "198.51.100.1", a), 0);
	assert_int_equal(spf("v=spf1 include:_spf.example.net ~all", "192.0.2.10", NULL), -1);
}

static void test_dkim_p(void **state)
{
	char *p;
	(void)state;
	p = dkim_p_of("v=DKIM1; k=rsa; p=MIIBabc");
	assert_string_equal(p, "MIIBabc");
	free(p);
	p = dkim_p_of("v=DKIM1; k=rsa; p=MIIB abc; t=y");
	assert_string_equal(p, "MIIBabc");
	free(p);
	p = dkim_p_of("default._domainkey\tIN\tTXT\t( \"v=DKIM1; k=rsa; \"\n\t  \"p=MIIBxyz\"\n\t  \"tail\" )  ; c");
	assert_string_equal(p, "MIIBxyztail");
	free(p);
	assert_null(dkim_p_of("v=DKIM1; k=rsa"));
	p = dkim_p_of("v=DKIM1; p=");
	assert_string_equal(p, "");	/* a revoked key: present but empty */
	free(p);
}

static void test_reverse_and_server(void **state)
{
	char *r;
	(void)state;
	r = dnsq_reverse_name("192.0.2.10");
	assert_string_equal(r, "10.2.0.192.in-addr.arpa");
	free(r);
	r = dnsq_reverse_name("2001:db8::1");
	assert_string_equal(r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	free(r);
	assert_null(dnsq_reverse_name("not-an-address"));
	assert_int_equal(dnsq_parse_server("127.0.0.1:5353"), 0);
	assert_int_not_equal(dnsq_parse_server("127.0.0.1"), 0);
	assert_int_not_equal(dnsq_parse_server("localhost:53"), 0);
	assert_int_not_equal(dnsq_parse_server("127.0.0.1:70000"), 0);
}

/* ---- a tiny authoritative DNS responder (UDP, one answer per query) ---- */

struct rec {
	const char *name;
	int type;
	const char *data;	/* A/AAAA: address; PTR: name; TXT: one string; MX: host (preference 10) */
};

static size_t put_name(unsigned char *p, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		p[n++] = (unsigned char)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static void serve(int fd, const struct rec *recs)
{
	for (;;) {
		unsigned char q[512], a[1024];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		char name[256];
		size_t i = 12, o = 0, len, an = 0, k;
		int type;
		if (n < 17)
			continue;
		while (i < (size_t)n && q[i] && o + q[i] + 1 < sizeof(name)) {	/* the question's name, dotted */
			if (o)
				name[o++] = '.';
			memcpy(name + o, q + i + 1, q[i]);
			o += q[i];
			i += 1 + q[i];
		}
		name[o] = 0;
		if (i + 5 > (size_t)n)
			continue;
		type = (q[i + 1] << 8) | q[i + 2];
		len = i + 5;
		memcpy(a, q, len);
		a[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD copied */
		a[3] = 0;
		for (k = 0; recs[k].name; k++) {
			unsigned char rd[300];
			size_t rl = 0;
			if (strcasecmp(recs[k].name, name) != 0 || recs[k].type != type)
				continue;
			if (type == 1 || type == 28)
				rl = inet_pton(type == 1 ? AF_INET : AF_INET6, recs[k].data, rd) == 1 ? (type == 1 ? 4 : 16) : 0;
			else if (type == 12)
				rl = put_name(rd, recs[k].data);
			else if (type == 15) {
				rd[0] = 0, rd[1] = 10;
				rl = 2 + put_name(rd + 2, recs[k].data);
			} else if (type == 16) {
				rd[0] = (unsigned char)strlen(recs[k].data);
				memcpy(rd + 1, recs[k].data, rd[0]);
				rl = 1 + rd[0];
			}
			{
				unsigned char rr[12] = { 0xc0, 12, (unsigned char)(type >> 8), (unsigned char)type, 0, 1,
							 0, 0, 0x0e, 0x10, (unsigned char)(rl >> 8), (unsigned char)rl };
				memcpy(a + len, rr, sizeof(rr));
				memcpy(a + len + sizeof(rr), rd, rl);
				len += sizeof(rr) + rl;
				an++;
			}
		}
		if (!an) {	/* NXDOMAIN unless the name exists with another type */
			int exists = 0;
			for (k = 0; recs[k].name; k++)
				exists |= strcasecmp(recs[k].name, name) == 0;
			a[3] = exists ? 0 : 3;
		}
		a[6] = 0, a[7] = (unsigned char)an;
		a[8] = a[9] = a[10] = a[11] = 0;
		sendto(fd, a, len, 0, (struct sockaddr *)&from, fl);
	}
}

/* Fork the responder; returns its pid, *port the UDP port on 127.0.0.1. */
static pid_t start_dns(const struct rec *recs, int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	pid_t pid;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Never outlive the test (a failed assertion skips the kill) nor hold its output. */
		int null = open("/dev/null", O_RDWR);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(60);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		serve(fd, recs);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* `mailstage --root DIR --profile debian12 dns --check --resolver 127.0.0.1:PORT`; its stdout. */
static char *dns_check(const char *dir, int port, int *rc)
{
	struct run_opts o;
	struct verify_opts v;
	char server[32], *out_path = xasprintf("%s/out", dir), *text = NULL;
	int saved = dup(1), fd;

	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	o.root = dir;
	o.profile = "debian12";
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	v.resolver = server;
	v.timeout_s = 2;
	v.dns_only = 1;
	fflush(stdout);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 1);
	close(fd);
	*rc = cmd_verify(&o, &v);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(read_whole_file(out_path, &text, NULL), 0);
	free(out_path);
	return text;
}

static const char v6_rev[] = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";

static void test_dns_check_ptr_both_addresses(void **state)
{
	struct rec recs[] = {
		{ "mail.example.com", 1, "192.0.2.10" },
		{ "mail.example.com", 28, "2001:db8::10" },
		{ "example.com", 15, "mail.example.com" },
		{ "example.com", 16, "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all" },
		{ "_dmarc.example.com", 16, "v=DMARC1; p=none" },
		{ "10.2.0.192.in-addr.arpa", 12, "mail.example.com" },
		{ v6_rev, 12, "mail.example.com" },
		{ NULL, 0, NULL },
	};
	char dir[] = "/tmp/test_verify.XXXXXX", *p, *out;
	int port, rc;
	pid_t pid;
	(void)state;

	assert_non_null(mkdtemp(dir));
	{
		FILE *f;
		p = xasprintf("%s/etc", dir);
		assert_int_equal(mkdir(p, 0755), 0);
		free(p);
		p = xasprintf("%s/etc/mailstage", dir);
		assert_int_equal(mkdir(p, 0755), 0);
		free(p);
		p = xasprintf("%s/etc/mailstage/mailstage.conf", dir);
		f = fopen(p, "w");
		assert_non_null(f);
		fputs("hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\nipv6 = 2001:db8::10\n", f);
		assert_int_equal(fclose(f), 0);
		free(p);
	}

	pid = start_dns(recs, &port);
	out = dns_check(dir, port, &rc);
	assert_non_null(strstr(out, "ok    PTR 192.0.2.10 "));
	assert_non_null(strstr(out, "ok    PTR 2001:db8::10 "));
	assert_non_null(strstr(out, "found: mail.example.com (forward-confirmed)"));
	assert_non_null(strstr(out, "ok    SPF authorises 2001:db8::10"));
	free(out);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* Without the IPv6 PTR: a failure named by the address, with the fix. */
	recs[6].name = "nothing.invalid";
	pid = start_dns(recs, &port);
	out = dns_check(dir, port, &rc);
	assert_non_null(strstr(out, "ok    PTR 192.0.2.10 "));
	assert_non_null(strstr(out, "FAIL  PTR 2001:db8::10 "));
	assert_int_equal(rc, EXIT_FAILED);
	free(out);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	{
		char *argv[] = { "rm", "-rf", dir, NULL };
		struct exec_result r;
		exec_run(argv, NULL, 10000, &r);
		buf_free(&r.out);
	}
}

/* CAA: the RDATA as dnsq prints it (RFC 8659 4.1), the generic form of DoH, the policy. */
static void test_caa(void **state)
{
	static const unsigned char le[] = { 0, 5, 'i', 's', 's', 'u', 'e', 'l', 'e', 't', 's', 'e', 'n', 'c', 'r',
					    'y', 'p', 't', '.', 'o', 'r', 'g' };
	static const unsigned char odd[] = { 128, 3, 't', 'b', 's', 'a', '"', '\\', 0x01 };
	static const unsigned char badtag[] = { 0, 2, 'i', '-', 'x' };
	static const unsigned char longtag[] = { 0, 20, 'a' };
	unsigned char *rd = NULL;
	size_t n = 0;
	char *s = NULL, *tag = NULL, *value = NULL, *why = NULL;
	int flags = -1;
	(void)state;

	assert_int_equal(dnsq_caa_rdata(le, sizeof(le), &s), 0);
	assert_string_equal(s, "0 issue \"letsencrypt.org\"");
	free(s);
	assert_int_equal(dnsq_caa_rdata(odd, sizeof(odd), &s), 0);
	assert_string_equal(s, "128 tbs \"a\\\"\\\\\\001\"");
	assert_int_equal(caa_parse(s, &flags, &tag, &value), 0);	/* and back */
	assert_int_equal(flags, 128);
	assert_string_equal(tag, "tbs");
	assert_string_equal(value, "a\"\\\001");
	free(s), free(tag), free(value);
	assert_int_equal(dnsq_caa_rdata(badtag, sizeof(badtag), &s), -EINVAL);
	assert_int_equal(dnsq_caa_rdata(longtag, sizeof(longtag), &s), -EINVAL);
	assert_int_equal(dnsq_caa_rdata(le, 1, &s), -EINVAL);
	assert_int_equal(dnsq_caa_rdata(le, 6, &s), -EINVAL);	/* tag cut short */
	assert_null(s);
	/* an empty value is a CAA record too ("issue ;" and "issue \"\"" forbid every CA) */
	assert_int_equal(dnsq_caa_rdata(le, 7, &s), 0);
	assert_string_equal(s, "0 issue \"\"");
	free(s);

	assert_int_equal(dnsq_generic_rdata("\\# 22 000569737375656c657473656e63727970742e6f7267", &rd, &n), 0);
	assert_int_equal(n, sizeof(le));
	assert_memory_equal(rd, le, sizeof(le));
	free(rd);
	assert_int_equal(dnsq_generic_rdata("\\# 3 00 05 69", &rd, &n), 0);	/* spaces between octets */
	assert_int_equal(n, 3);
	free(rd);
	assert_int_equal(dnsq_generic_rdata("\\# 4 000569", &rd, &n), -EINVAL);	/* fewer than it says */
	assert_int_equal(dnsq_generic_rdata("\\# 1 0005", &rd, &n), -EINVAL);	/* more */
	assert_int_equal(dnsq_generic_rdata("\\# 1 0g", &rd, &n), -EINVAL);
	assert_int_equal(dnsq_generic_rdata("0 issue \"x\"", &rd, &n), -EINVAL);
	assert_null(rd);

	assert_int_equal(caa_parse("0 issue", &flags, &tag, &value), -EINVAL);
	assert_int_equal(caa_parse("0 issue \"x", &flags, &tag, &value), -EINVAL);
	assert_int_equal(caa_parse("256 issue \"x\"", &flags, &tag, &value), -EINVAL);
	assert_int_equal(caa_parse("0 issue \"x\" junk", &flags, &tag, &value), -EINVAL);
	assert_null(tag);

	{
		const char *ours[] = { "0 issue \"letsencrypt.org\"" };
		const char *two[] = { "0 issue \"sectigo.com\"", "0 issue \"LetsEncrypt.org; validationmethods=http-01\"" };
		const char *other[] = { "0 issue \"sectigo.com\"", "0 iodef \"mailto:sec@example.com\"" };
		const char *none[] = { "0 issue \";\"" };
		const char *dns01[] = { "0 issue \"letsencrypt.org; validationmethods=dns-01,tls-alpn-01\"" };
		const char *acct[] = { "0 issue \"letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1\"" };
		const char *wild[] = { "0 issuewild \"sectigo.com\"", "0 iodef \"mailto:x@example.com\"" };
		const char *crit[] = { "0 issue \"letsencrypt.org\"", "128 tbs \"x\"" };
		const char *critknown[] = { "128 issue \"letsencrypt.org\"" };
		assert_int_equal(caa_allows(ours, 1, "letsencrypt.org", &why), 1);
		assert_int_equal(caa_allows(two, 2, "letsencrypt.org", &why), 1);
		assert_null(why);
		assert_int_equal(caa_allows(other, 2, "letsencrypt.org", &why), 0);
		assert_non_null(strstr(why, "letsencrypt.org"));
		free(why);
		assert_int_equal(caa_allows(none, 1, "letsencrypt.org", &why), 0);
		free(why);
		assert_int_equal(caa_allows(dns01, 1, "letsencrypt.org", &why), 0);	/* mailstage answers http-01 */
		free(why);
		assert_int_equal(caa_allows(acct, 1, "letsencrypt.org", &why), 2);
		assert_int_equal(caa_allows(wild, 2, "letsencrypt.org", &why), 1);	/* no issue property: any CA */
		assert_int_equal(caa_allows(crit, 2, "letsencrypt.org", &why), 0);
		assert_non_null(strstr(why, "128 tbs"));
		free(why);
		assert_int_equal(caa_allows(critknown, 1, "letsencrypt.org", &why), 1);
	}
}

/* verify_senders.c's rules. */
static void test_dmarc_rate(void **state)
{
	(void)state;
	assert_int_equal(dmarc_rate_status(1.0), ST_OK);
	assert_int_equal(dmarc_rate_status(0.98), ST_OK);
	assert_int_equal(dmarc_rate_status(0.979), ST_WARN);
	assert_int_equal(dmarc_rate_status(0.90), ST_WARN);
	assert_int_equal(dmarc_rate_status(0.899), ST_FAIL);
	assert_int_equal(dmarc_rate_status(0), ST_FAIL);
}

static int key_bits_of(int bits)
{
	char *pem = NULL, *b64 = NULL;
	size_t len = 0;
	int r;
	assert_int_equal(crypto_rsa_generate(bits, &pem, &len), 0);
	assert_int_equal(crypto_dkim_public(pem, len, &b64), 0);
	r = dkim_key_bits(b64);
	crypto_free_secret(pem, len);
	free(b64);
	return r;
}

static void test_dkim_key_bits(void **state)
{
	(void)state;
	assert_int_equal(key_bits_of(1024), 1024);
	assert_int_equal(key_bits_of(2048), 2048);
	assert_int_equal(dkim_key_bits(NULL), -EINVAL);
	assert_int_equal(dkim_key_bits(""), -EINVAL);
	assert_int_equal(dkim_key_bits("not*base64"), -EINVAL);
	assert_int_equal(dkim_key_bits("MIGfMA0GCSqGSIb3"), -EINVAL);	/* cut short */
}

static void test_dmarc_sender(void **state)
{
	char *why = NULL;
	(void)state;
	assert_int_equal(dmarc_sender_ok("v=DMARC1; p=none; rua=mailto:dmarc@example.com", &why), 0);
	assert_null(why);
	assert_int_equal(dmarc_sender_ok("v=DMARC1;p=reject;rua=mailto:d@example.com;pct=100", &why), 0);
	assert_int_equal(dmarc_sender_ok("v=DMARC1; p=none", &why), -EINVAL);
	assert_non_null(strstr(why, "rua"));
	free(why);
	assert_int_equal(dmarc_sender_ok("v=DMARC1; p=monitor; rua=mailto:d@example.com", &why), -EINVAL);
	assert_non_null(strstr(why, "p="));
	free(why);
	/* sp= is not p= */
	assert_int_equal(dmarc_sender_ok("v=DMARC1; sp=none; rua=mailto:d@example.com", &why), -EINVAL);
	free(why);
	assert_int_equal(dmarc_sender_ok("v=DMARC1; p=none; rua=https://example.com/", &why), -EINVAL);
	free(why);
	assert_int_equal(dmarc_sender_ok("v=spf1 -all", &why), -EINVAL);
	free(why);
}

static void test_tls_helo_summary(void **state)
{
	(void)state;
	assert_int_equal(smtp_tls_outbound("may", NULL), 1);
	assert_int_equal(smtp_tls_outbound("dane", NULL), 1);
	assert_int_equal(smtp_tls_outbound("encrypt", "no"), 1);
	assert_int_equal(smtp_tls_outbound("none", "yes"), 0);
	assert_int_equal(smtp_tls_outbound(NULL, NULL), 0);
	assert_int_equal(smtp_tls_outbound("", "yes"), 1);
	assert_int_equal(helo_name_valid("mail.example.com"), 1);
	assert_int_equal(helo_name_valid("localhost"), 0);
	assert_int_equal(helo_name_valid("mail.example.com."), 0);
	assert_int_equal(helo_name_valid("-a.example.com"), 0);
	assert_int_equal(helo_name_valid("a-.example.com"), 0);
	assert_int_equal(helo_name_valid("a..example.com"), 0);
	assert_int_equal(helo_name_valid("mail_1.example.com"), 0);
	assert_int_equal(helo_name_valid("[192.0.2.1]"), 0);
	assert_non_null(strstr(sender_summary(1, 1), "bulk senders ("));
	assert_non_null(strstr(sender_summary(1, 0), "all senders, not yet"));
	assert_non_null(strstr(sender_summary(0, 0), "does not meet"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spf),
		cmocka_unit_test(test_dkim_p),
		cmocka_unit_test(test_reverse_and_server),
		cmocka_unit_test(test_dns_check_ptr_both_addresses),
		cmocka_unit_test(test_dmarc_rate),
		cmocka_unit_test(test_dkim_key_bits),
		cmocka_unit_test(test_dmarc_sender),
		cmocka_unit_test(test_tls_helo_summary),
		cmocka_unit_test(test_caa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
