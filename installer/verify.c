/*
 * verify.c - `mailstage verify` and `mailstage dns --check`: the guide's
 * last chapter (services up, logs, a test mail, SPF/DKIM/DMARC in DNS) as a
 * report a program can judge.  Every probe is bounded in time; a timeout is
 * a warning with its reason, never a hang.
 *
 * This file runs the checks, table by table, and judges the report
 * (verify_report.c prints it); the checks are in tables by group:
 * verify_local.c, verify_dns.c, verify_net.c, verify_send.c, verify_senders.c
 * (installer/verify_check.h says how to add one).
 */
#include "verify.h"
#include "verify_check.h"
#include "dnsq.h"
#include "i18n.h"
#include "runner.h"
#include "steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The groups in the order of the report. */
static const struct verify_check *const tables[] = { verify_local, verify_dns, verify_net, verify_send, verify_senders };

int cmd_verify(const struct run_opts *o, const struct verify_opts *v)
{
	struct run r;
	struct verify_report rp = { 0 }, scratch = { 0 };
	struct dnsq q;
	struct vctx vc;
	struct config vcfg;
	char *active = NULL;
	size_t i, t;
	int rc;

	memset(&q, 0, sizeof(q));
	q.server = (char *)v->resolver;
	q.doh_url = (char *)v->doh;
	q.timeout_s = v->timeout_s > 0 ? v->timeout_s : 3;
	memset(&vc, 0, sizeof(vc));
	vc.found.spf[0] = vc.found.spf[1] = vc.found.ptr[0] = vc.found.ptr[1] = vc.found.dkim = vc.found.test_message = -1;
	rc = run_setup(&r, o, "verify", 1);
	if (rc != EXIT_OK)
		goto out;
	/* the DKIM checks look at the key mail is signed with: the rotation's active one */
	vcfg = r.cfg;
	active = dkim_active_selector(&r.root, &r.cfg, r.prof, DKIM_RSA);
	vcfg.dkim_selector = active;
	vc.cfg = &vcfg;
	vc.prof = r.prof;
	vc.root = &r.root;
	vc.opts = v;
	vc.q = &q;
	vc.run = &r;
	for (t = 0; t < ARRAY_SIZE(tables); t++) {
		const struct verify_check *c;
		for (c = tables[t]; c->run; c++) {
			if (c->when == VC_FULL && v->dns_only)
				continue;
			if (c->when == VC_SEND_TEST && (v->dns_only || !v->send_test))
				continue;
			/* dns --check wants only the key's p= from the key check: its findings are dropped */
			vc.rp = c->when == VC_KEY && v->dns_only ? &scratch : &rp;
			vc.group = c->group;
			/* Each check ends within q.timeout_s in all (dnsq_start: its lookups share the bound). */
			dnsq_start(&q);
			c->run(&vc);
		}
	}
	verify_report_print(&rp, o->json, v->dns_only);
	rc = EXIT_OK;
	for (i = 0; i < rp.n; i++)
		if (rp.v[i].st == ST_FAIL)
			rc = EXIT_FAILED;
out:
	dnsq_free(&q);
	free(vc.dkim_pub);
	free(active);
	verify_report_free(&scratch);
	verify_report_free(&rp);
	run_free(&r);
	return rc;
}
