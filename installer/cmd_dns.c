/*
 * cmd_dns.c - `mailstage dns [--format zone|records|json|table]`: the
 * records the dns stage writes (steps/dns.c builds them), printed for the
 * configured root.  A command: it stands on the runner (run_setup) and the
 * stages' record builder.
 */
#include "cmd_dns.h"
#include "dns.h"
#include "dnsq.h"
#include "i18n.h"
#include "msg.h"
#include "runner.h"
#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_dns(const struct run_opts *o, const char *format)
{
	struct run r;
	struct dns_zone z;
	enum dns_format f;
	char *p = NULL, *missing = NULL, *text = NULL;
	int rc;

	memset(&z, 0, sizeof(z));
	if (dns_parse_format(format, &f) < 0) {
		msg_error(_("unknown format \"%s\" for dns: use zone, records, json or table"), format);
		return EXIT_USAGE;
	}
	if ((rc = run_setup(&r, o, "dns", 1)) != EXIT_OK)
		goto out;
	rc = dns_build_root(&r.root, &r.cfg, r.prof, &z, &missing);
	if (rc == -EINVAL && !missing) {
		msg_error(_("the DNS records need hostname, domain and ipv4 in the configuration"));
		rc = EXIT_CONFIG;
		goto out;
	}
	if (rc < 0) {
		msg_error("%s", missing);
		rc = rc == -EINVAL ? EXIT_CONFIG : EXIT_IOERR;
		goto out;
	}
	rc = EXIT_OK;
	p = dns_dkim_p_of(&z);
	text = dns_format(&z, f);
	fputs(text, stdout);
	if (fflush(stdout) != 0) {
		msg_error(_("cannot write the records to standard output: %s"), strerror(errno));
		rc = EXIT_IOERR;
	}
	/* for people: a DKIM record longer than Sakura's DNS takes, when the domain's NS are Sakura's */
	if (f == DNS_FMT_TABLE && p && strlen("v=DKIM1; k=rsa; p=") + strlen(p) > 255) {
		struct dnsq q;
		memset(&q, 0, sizeof(q));
		q.timeout_s = 2;
		dnsq_start(&q);
		if (provider_sakura_dns(&q, r.cfg.domain))
			msg_warn(_("the DKIM record is %zu characters and %s is on Sakura's DNS (ns1/ns2.dns.ne.jp): %s"),
				 strlen("v=DKIM1; k=rsa; p=") + strlen(p), r.cfg.domain, provider_sakura_dns_advice);
		dnsq_free(&q);
	}
out:
	dns_zone_free(&z);
	run_free(&r);
	free(p);
	free(missing);
	free(text);
	return rc;
}
