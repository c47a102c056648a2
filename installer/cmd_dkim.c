/*
 * cmd_dkim.c - `mailstage dkim status`: the domain's DKIM selectors and
 * where each stands in the rotation (steps/dkim_keys.c keeps the state):
 *   active             mail is signed with it
 *   published-pending  the next key, made; signed with once DNS serves its record
 *   retiring           the previous key, its record kept dkim_retire_days
 *   retired            past dkim_retire_days: its record is to be removed, then
 *                      the next apply deletes the key
 * for each algorithm's keys (RSA, and Ed25519 with dkim_algorithms: each
 * rotates on its own), with the dates and whether live DNS (the resolver
 * verify uses, or --resolver) serves each record.  Text or --json.
 * It reads; it changes nothing.
 */
#include "cmd_dkim.h"
#include "dnsq.h"
#include "i18n.h"
#include "msg.h"
#include "runner.h"
#include "steps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sel_row {
	const char *selector;
	const char *alg;		/* "rsa-sha256", "ed25519-sha256" */
	const char *state;		/* active, published-pending, retiring, retired */
	long long since;		/* when it took that state; 0: unknown */
	long long until;		/* retiring: the end of dkim_retire_days; 0: none */
	const char *dns;		/* "served", "absent", "unknown" */
};

static void day(long long t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "-");
}

static const char *served(struct dnsq *q, const char *sel, const char *domain)
{
	struct strv out = { 0 };
	char *name = xasprintf("%s._domainkey.%s", sel, domain), *why = NULL;
	int r;

	dnsq_start(q);
	r = dnsq_lookup(q, name, DNSQ_TXT, &out, &why);
	strv_free(&out);
	free(name);
	free(why);
	return r == 0 ? "served" : r == -ENOENT ? "absent" : "unknown";
}

int cmd_dkim(const struct run_opts *o, const char *resolver, char **args, size_t nargs)
{
	struct run r;
	struct dkim_rotation st;
	struct sel_row rows[3 * DKIM_NALG];
	struct dnsq q;
	char *why = NULL, d1[16], d2[16];
	long long now = dkim_now();
	size_t n = 0, i;
	int rc, alg;

	if (nargs != 1 || strcmp(args[0], "status") != 0) {
		msg_error(_("dkim takes one word: status (e.g. mailstage dkim status --json)"));
		return EXIT_USAGE;
	}
	memset(&q, 0, sizeof(q));
	q.server = (char *)resolver;
	q.timeout_s = 3;
	if ((rc = run_setup(&r, o, "dkim", 1)) != EXIT_OK)
		goto out;
	if (dkim_rotation_load(&r.root, &r.cfg, r.prof, &st, &why) < 0) {
		msg_error("%s", why);
		rc = EXIT_FAILED;
		goto out;
	}
	for (alg = 0; alg < DKIM_NALG; alg++) {
		const struct dkim_keyrot *k = &st.k[alg];
		const char *name = dkim_alg_name(alg);
		long long end = k->retiring_at + r.cfg.dkim_retire_days * 86400LL;
		if (alg == DKIM_ED25519 && !config_dkim_ed25519(&r.cfg))
			continue;
		/* an Ed25519 key the rotation has not seen yet: no date */
		rows[n++] = (struct sel_row){ k->active, name, "active", k->present || alg == DKIM_RSA ? k->active_at : 0,
					      0, NULL };
		if (*k->next)
			rows[n++] = (struct sel_row){ k->next, name, "published-pending", k->next_at, 0, NULL };
		if (*k->retiring)
			rows[n++] = (struct sel_row){ k->retiring, name, now >= end ? "retired" : "retiring",
						      k->retiring_at, end, NULL };
	}
	for (i = 0; i < n; i++)
		rows[i].dns = served(&q, rows[i].selector, r.cfg.domain);
	if (o->json) {
		char *dom = json_str(r.cfg.domain);
		printf("{\"domain\": %s, \"rotate_days\": %ld, \"retire_days\": %ld, \"rotation\": %s, \"selectors\": [",
		       dom, r.cfg.dkim_rotate_days, r.cfg.dkim_retire_days, st.present ? "true" : "false");
		free(dom);
		for (i = 0; i < n; i++) {
			char *s = json_str(rows[i].selector);
			day(rows[i].since, d1);
			day(rows[i].until, d2);
			printf("%s\n  {\"selector\": %s, \"algorithm\": \"%s\", \"state\": \"%s\", \"since\": %s%s%s, "
			       "\"until\": %s%s%s, \"dns\": \"%s\"}", i ? "," : "", s, rows[i].alg, rows[i].state,
			       rows[i].since ? "\"" : "", rows[i].since ? d1 : "null", rows[i].since ? "\"" : "",
			       rows[i].until ? "\"" : "", rows[i].until ? d2 : "null", rows[i].until ? "\"" : "",
			       rows[i].dns);
			free(s);
		}
		printf("\n]}\n");
	} else {
		printf("%-24s  %-15s  %-17s  %-10s  %-10s  %s\n", _("SELECTOR"), _("ALGORITHM"), _("STATE"), _("SINCE"),
		       _("UNTIL"), _("DNS"));
		for (i = 0; i < n; i++) {
			day(rows[i].since, d1);
			day(rows[i].until, d2);
			printf("%-24s  %-15s  %-17s  %-10s  %-10s  %s\n", rows[i].selector, rows[i].alg, rows[i].state, d1, d2,
			       rows[i].dns);
		}
		if (!st.present)
			printf(_("rotation: %s (dkim_rotate_days = %ld)\n"),
			       r.cfg.dkim_rotate_days ? _("starts with the next apply") : _("off"), r.cfg.dkim_rotate_days);
		for (alg = 0; st.present && alg < DKIM_NALG; alg++) {
			const struct dkim_keyrot *k = &st.k[alg];
			if (alg == DKIM_ED25519 && !config_dkim_ed25519(&r.cfg))
				continue;
			if (*k->next)
				printf(_("next: %s is signed with once DNS serves its record (`mailstage dns` shows it), "
					 "at an apply\n"), k->next);
			else if (*k->retiring && now >= k->retiring_at + r.cfg.dkim_retire_days * 86400LL)
				printf(_("to remove: the record %s._domainkey.%s; the apply after it is gone deletes its "
					 "key\n"), k->retiring, r.cfg.domain);
		}
	}
	if (fflush(stdout) != 0)
		rc = EXIT_IOERR;
out:
	q.server = NULL;
	dnsq_free(&q);
	run_free(&r);
	free(why);
	return rc;
}
