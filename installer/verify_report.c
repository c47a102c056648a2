/*
 * verify_report.c - the report of `mailstage verify`: the findings the
 * checks record (verify_add), printed as text by group (translated: the
 * ok/WARN/FAIL column is not) or as one JSON object (never translated),
 * for verify.c to judge.
 */
#include "verify_check.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_name[] = { "ok", "warn", "fail" };

long verify_add(struct vctx *vc, enum verify_status st, const char *name, const char *expected, const char *fix,
		const char *fmt, ...)
{
	struct verify_report *rp = vc->rp;
	va_list ap;
	struct verify_result *c;
	rp->v = xrealloc(rp->v, (rp->n + 1) * sizeof(*rp->v));
	c = &rp->v[rp->n++];
	c->group = vc->group;
	c->st = st;
	c->name = xstrdup(name);
	c->expected = xstrdup(expected ? expected : "");
	c->fix = xstrdup(st == ST_OK || !fix ? "" : fix);
	va_start(ap, fmt);
	c->seen = xvasprintf(fmt, ap);
	va_end(ap);
	{	/* one line per check */
		char *p;
		strip(c->seen);
		for (p = c->seen; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	return (long)(rp->n - 1);
}

void verify_report_free(struct verify_report *rp)
{
	size_t i;
	for (i = 0; i < rp->n; i++) {
		free(rp->v[i].name);
		free(rp->v[i].seen);
		free(rp->v[i].expected);
		free(rp->v[i].fix);
	}
	free(rp->v);
	strv_free(&rp->notes);
}

char *verify_strv_join(const struct strv *s, const char *sep)
{
	struct buf b = { 0 };
	size_t i;
	for (i = 0; i < s->n; i++) {
		if (i)
			buf_puts(&b, sep);
		buf_puts(&b, s->v[i]);
	}
	return buf_steal(&b);
}

/* ---- the report ---- */

/* The group headings of the text report, translated (JSON keeps the names). */
static const char *group_title(const char *g)
{
	static const char *const titles[] = { N_("local"), N_("dns"), N_("network"), N_("mail"),
						     N_("dmarc reports"), N_("sender requirements") };
	size_t i;
	for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strcmp(g, titles[i]) == 0)
			return _(titles[i]);
	return g;
}

void verify_report_print(const struct verify_report *rp, int json, int show_expected)
{
	size_t i, counts[3] = { 0, 0, 0 };
	const char *group = NULL;

	for (i = 0; i < rp->n; i++)
		counts[rp->v[i].st]++;
	if (json) {
		struct buf b = { 0 };
		buf_puts(&b, "{\"checks\":[");
		for (i = 0; i < rp->n; i++) {
			const struct verify_result *c = &rp->v[i];
			char *n = json_str(c->name), *s = json_str(c->seen), *e = json_str(c->expected), *f = json_str(c->fix);
			buf_printf(&b, "%s{\"group\":\"%s\",\"name\":%s,\"status\":\"%s\",\"seen\":%s,\"expected\":%s,\"fix\":%s}",
				   i ? "," : "", c->group, n, status_name[c->st], s, e, f);
			free(n);
			free(s);
			free(e);
			free(f);
		}
		buf_puts(&b, "],\"notes\":[");
		for (i = 0; i < rp->notes.n; i++) {
			char *n = json_str(rp->notes.v[i]);
			buf_printf(&b, "%s%s", i ? "," : "", n);
			free(n);
		}
		buf_printf(&b, "],\"ok\":%zu,\"warn\":%zu,\"fail\":%zu}\n", counts[0], counts[1], counts[2]);
		fputs(b.data, stdout);
		buf_free(&b);
		return;
	}
	for (i = 0; i < rp->n; i++) {
		const struct verify_result *c = &rp->v[i];
		if (!group || strcmp(group, c->group) != 0)
			printf("%s%s\n", group ? "\n" : "", group_title(c->group));
		group = c->group;
		printf("  %-4s  %-28s %s%s\n", c->st == ST_OK ? "ok" : c->st == ST_WARN ? "WARN" : "FAIL", c->name,
		       show_expected ? _("found: ") : "", c->seen);
		if (c->st != ST_OK || show_expected) {
			if (*c->expected)
				printf(_("        %-28s expected: %s\n"), "", c->expected);
			if (*c->fix)
				printf(_("        %-28s fix: %s\n"), "", c->fix);
		}
	}
	for (i = 0; i < rp->notes.n; i++)
		printf(_("%snote: %s\n"), i ? "" : "\n", rp->notes.v[i]);
	printf(_("\n%zu ok, %zu warnings, %zu failed\n"), counts[0], counts[1], counts[2]);
}

