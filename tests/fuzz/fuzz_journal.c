/*
 * fuzz_journal.c - libFuzzer target for the strict journal parser and the
 * replay decisions rollback makes from it (installer/journal.h), with the
 * real action table (steps/steps.c) and each type's undo_check.
 *
 * The input is the text of runs/1/journal.  Nothing is read from disk and
 * nothing runs: the target parses, validates and computes the undo plan,
 * as `mailstage rollback` does before it acts.  Checked, beyond "no crash":
 *   - a refused journal names a line that exists, with a reason;
 *   - an accepted one holds only what mailstage writes: paths absolute and
 *     normalised, outside /proc, /sys, /dev and the state's own runs/,
 *     checkpoints/ and lock; no control byte in any value; temp= beside its
 *     file with the name atomic_tempname() gives; ar= a backup-N.tar; stage
 *     names that stay one file name; change numbers strictly increasing;
 *     every action of a type in the table whose undo_check accepts its undo
 *     string (again, the same answer);
 *   - the plan undoes every change exactly once, newest first, the undo_last
 *     actions after all the rest, and never runs a command record;
 *   - parsing is deterministic, and a journal cut after any of its lines
 *     is accepted too (a crash between records leaves such a prefix), as is
 *     one with a torn last line (no newline).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "root.h"
#include "stage.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

/* The target the seeds were made in (their paths rewritten to it). */
static struct root R = { (char *)"/target", 0, NULL, NULL };

static int clean(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int under(const char *p, const char *dir)
{
	size_t l = strlen(dir);
	return strncmp(p, dir, l) == 0 && (p[l] == 0 || p[l] == '/');
}

static size_t lines_in(const char *t, size_t n)
{
	size_t c = 0, i;
	for (i = 0; i < n; i++)
		c += t[i] == '\n';
	return c;
}

static int parse(const char *text, size_t len, struct jparsed *p)
{
	unsigned line = 0;
	char *why = NULL;
	int r = journal_parse(text, len, 1, &R, action_types_all(), p, &line, &why);
	if (getenv("FUZZ_JOURNAL_VERBOSE"))	/* for checking seeds: which are accepted */
		fprintf(stderr, r < 0 ? "refused: line %u: %s\n" : "accepted%.0u%s\n", line, r < 0 ? why : "");
	if (r < 0) {
		CHECK(r == -EINVAL);
		CHECK(why && *why);
		CHECK(line >= 1 && line <= lines_in(text, len));
		free(why);
	} else {
		CHECK(!why);
	}
	return r;
}

static void check_accepted(const struct jparsed *p)
{
	const struct action_type *const *types = action_types_all();
	size_t *order = NULL, n, k, changes = 0, i;
	unsigned last = 0;
	int seen_last = 0;

	for (k = 0; k < p->n; k++) {
		const struct jrec *r = &p->v[k];
		CHECK(r->line == k + 1);
		CHECK(clean(r->path) && clean(r->temp) && clean(r->arg) && clean(r->undo) && clean(r->name));
		if (r->path) {
			CHECK(path_is_normal(r->path));
			CHECK(!under(r->path, "/proc") && !under(r->path, "/sys") && !under(r->path, "/dev"));
			CHECK(!under(r->path, "/var/lib/mailstage/runs") && !under(r->path, "/var/lib/mailstage/checkpoints"));
		}
		if (r->temp) {
			const char *b = strrchr(r->path, '/') + 1, *tb = strrchr(r->temp, '/') + 1;
			CHECK(r->kind == JR_FILE && path_is_normal(r->temp));
			CHECK(tb[0] == '.' && strncmp(tb + 1, b, strlen(b)) == 0);
			CHECK(strlen(tb) == 1 + strlen(b) + strlen(".mailstage-") + 12);
		}
		if (r->ar) {
			CHECK(strncmp(r->ar, "backup-", 7) == 0 && strchr(r->ar, '/') == NULL);
			CHECK(r->prior_backup);
		}
		if (r->kind == JR_STAGE || r->kind == JR_CHECKPOINT)
			CHECK(r->name && *r->name && !strchr(r->name, '/') && strcmp(r->name, "..") != 0);
		if (r->kind == JR_ATTR)
			CHECK(r->mode <= 07777 && r->uid != 0xffffffffUL && r->gid != 0xffffffffUL);
		if (r->kind == JR_ACTION) {
			char *why = NULL;
			for (i = 0; types[i] && types[i] != r->action; i++)
				;
			CHECK(types[i] == r->action);
			CHECK(r->action->undo_check(&R, r->undo, &why) == 0 && !why);
		}
		if (jrec_is_change(r)) {
			CHECK(r->seq > last);
			last = r->seq;
			changes++;
			CHECK(r->seq <= p->max_seq);
		}
	}
	n = journal_plan(p, &order);
	CHECK(n == changes);
	for (k = 0; k < n; k++) {
		const struct jrec *r = &p->v[order[k]];
		int ul = r->kind == JR_ACTION && r->action->undo_last;
		CHECK(jrec_is_change(r));
		for (i = 0; i < k; i++)
			CHECK(order[i] != order[k]);
		if (ul)
			seen_last = 1;
		CHECK(ul || !seen_last);	/* undo_last ones come after every other */
		if (k && ul == (p->v[order[k - 1]].kind == JR_ACTION && p->v[order[k - 1]].action->undo_last))
			CHECK(order[k] < order[k - 1]);	/* newest first within a pass */
		/* The decision rollback takes for it, from the parsed record only. */
		switch (r->kind) {
		case JR_FILE:
		case JR_REMOVE:
			CHECK(r->prior_backup ? r->ar != NULL : r->ar == NULL);
			break;
		case JR_DIR:
		case JR_ATTR:
			CHECK(r->path != NULL);
			break;
		case JR_ACTION:
			CHECK(r->action && r->action->undo && r->undo);
			break;
		case JR_CMD:
			CHECK(!r->path && !r->undo);	/* nothing to run: a command has no undo */
			break;
		default:
			CHECK(0);
		}
	}
	free(order);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 2);
	struct jparsed p, q;
	size_t k, cut;

	unsetenv("MAILSTAGE_SEMANAGE_ROOT");
	memcpy(text, data, size);
	text[size] = 0;
	if (parse(text, size, &p) == 0) {
		check_accepted(&p);
		/* Deterministic. */
		CHECK(parse(text, size, &q) == 0 && q.n == p.n && q.max_seq == p.max_seq);
		jparsed_free(&q);
		/* Every prefix that ends a line is a journal too (a crash between two records). */
		for (k = 0, cut = 0; k < size && cut < 4; k++)
			if (text[k] == '\n' && k + 1 < size) {
				CHECK(parse(text, k + 1, &q) == 0);
				check_accepted(&q);
				jparsed_free(&q);
				cut++;
			}
		/* A torn last record (no newline) is ignored. */
		memcpy(text + size, "x", 2);
		CHECK(parse(text, size + 1, &q) == 0 && q.n == p.n);
		jparsed_free(&q);
		jparsed_free(&p);
	}
	free(text);
	return 0;
}
