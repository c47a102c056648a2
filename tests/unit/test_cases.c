/*
 * test_cases.c - runs the declarative golden cases of the config editors.
 *
 * tests/cases/<editor>/<NNN-name>/ (editor: maincf, mastercf, dkimconf):
 *   input     the file as found on disk
 *   edits     optional; one operation per line (see below); '#' lines and
 *             blank lines are ignored
 *   expected  the exact output after the edits (when absent and there are no
 *             edits or only checks, the output must equal input)
 *   error     instead of expected: the exact parse error of input
 *
 * Every accepted input must also render back byte-identical before the
 * edits, and every output must parse again and render identically.
 *
 * Edit language (words separated by blanks; VALUE... = rest of the line):
 *   all editors:  ! OP ...           OP must fail and change nothing
 *   maincf:       set NAME [VALUE...]    unset NAME
 *                 get NAME [VALUE...]    absent NAME    count NAME N
 *   dkimconf:     set KEY VALUE...       unset KEY
 *                 get KEY VALUE...       absent KEY     count KEY N
 *   mastercf:     option SERVICE TYPE NAME=VALUE
 *                 unset-option SERVICE TYPE NAME
 *                 get-option SERVICE TYPE NAME VALUE
 *                 absent-option SERVICE TYPE NAME
 *                 field SERVICE TYPE private|unpriv|chroot|wakeup|maxproc|command VALUE
 *                 dedupe SERVICE TYPE first|last
 *                 count SERVICE TYPE N
 *                 add-service NAME TYPE TEMPLATE_SERVICE/TEMPLATE_TYPE COMMAND [WORD...]
 *                 add-service-fields NAME TYPE PRIV UNPRIV CHROOT WAKEUP MAXPROC COMMAND [WORD...]
 *                   (in WORD..., "-o NAME=VALUE" pairs become option lines,
 *                    other words go on the service line)
 *                 postfix-master PROFILE   the postfix-master stage's whole edit
 *                   (minimal mailstage.conf, limits at their defaults); fails
 *                   the case when a second edit would change the output
 *
 * CASES_BLESS=1 writes a missing expected/error file from the actual result
 * (review it before committing).  CASES_DIR overrides tests/cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dkimconf.h"
#include "mailconf.h"
#include "maincf.h"
#include "mastercf.h"
#include "profile.h"
#include "util.h"

struct tcase {
	char *editor;
	char *dir;
	char *name;
};

static char *path_in(const struct tcase *c, const char *file)
{
	return xasprintf("%s/%s", c->dir, file);
}

static int read_opt(const struct tcase *c, const char *file, char **data, size_t *len)
{
	char *p = path_in(c, file);
	int r = read_whole_file(p, data, len);

	free(p);
	return r;
}

static void write_file(const struct tcase *c, const char *file, const char *data, size_t len)
{
	char *p = path_in(c, file);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0 || write_all(fd, data, len) < 0)
		fail_msg("%s: cannot write %s", c->name, p);
	close(fd);
	fprintf(stderr, "blessed %s\n", p);
	free(p);
}

/* Split s into words; returns the count, words[] point into s (modified). */
static size_t words(char *s, char **w, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		w[n++] = t;
	return n;
}

/* The rest of line after skipping k words (original spacing kept). */
static const char *rest_after(const char *line, size_t k)
{
	const char *p = line;

	while (k--) {
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One editor behind a common interface. */
struct editor {
	void *obj;
	char *(*render)(const void *obj, size_t *len);
	int (*apply)(void **obj, const char *line, char **why);	/* 0, <0 op failed, 1 check failed */
};

static int check_str(const char *what, const char *got, const char *want, char **why)
{
	if (!got && !want)
		return 0;
	if (got && want && strcmp(got, want) == 0)
		return 0;
	*why = xasprintf("%s: got %s%s%s, expected %s%s%s", what, got ? "\"" : "",
			 got ? got : "(absent)", got ? "\"" : "", want ? "\"" : "",
			 want ? want : "(absent)", want ? "\"" : "");
	return 1;
}

static int check_count(size_t got, const char *want, char **why)
{
	if (strtoul(want, NULL, 10) == got)
		return 0;
	*why = xasprintf("count: got %zu, expected %s", got, want);
	return 1;
}

static char *r_maincf(const void *o, size_t *len)
{
	return maincf_render(o, len);
}

static int a_maincf(void **op, const char *line, char **why)
{
	void *o = *op;
	char *copy = xstrdup(line), *w[4];
	size_t n = words(copy, w, 3);
	int r = -EINVAL;

	if (n >= 2 && strcmp(w[0], "set") == 0)
		r = maincf_set(o, w[1], rest_after(line, 2));
	else if (n == 2 && strcmp(w[0], "unset") == 0)
		r = maincf_unset(o, w[1]);
	else if (n >= 2 && strcmp(w[0], "get") == 0)
		r = check_str(w[1], maincf_get(o, w[1]), rest_after(line, 2), why);
	else if (n == 2 && strcmp(w[0], "absent") == 0)
		r = check_str(w[1], maincf_get(o, w[1]), NULL, why);
	else if (n == 3 && strcmp(w[0], "count") == 0)
		r = check_count(maincf_count(o, w[1]), w[2], why);
	else
		fail_msg("bad maincf edit: %s", line);
	free(copy);
	return r;
}

static char *r_dkimconf(const void *o, size_t *len)
{
	return dkimconf_render(o, len);
}

static int a_dkimconf(void **op, const char *line, char **why)
{
	void *o = *op;
	char *copy = xstrdup(line), *w[4];
	size_t n = words(copy, w, 3);
	int r = -EINVAL;

	if (n >= 2 && strcmp(w[0], "set") == 0)
		r = dkimconf_set(o, w[1], rest_after(line, 2));
	else if (n == 2 && strcmp(w[0], "unset") == 0)
		r = dkimconf_unset(o, w[1]);
	else if (n >= 2 && strcmp(w[0], "get") == 0)
		r = check_str(w[1], dkimconf_get(o, w[1]), rest_after(line, 2), why);
	else if (n == 2 && strcmp(w[0], "absent") == 0)
		r = check_str(w[1], dkimconf_get(o, w[1]), NULL, why);
	else if (n == 3 && strcmp(w[0], "count") == 0)
		r = check_count(dkimconf_count(o, w[1]), w[2], why);
	else
		fail_msg("bad dkimconf edit: %s", line);
	free(copy);
	return r;
}

static char *r_mastercf(const void *o, size_t *len)
{
	return mastercf_render(o, len);
}

static int field_index(const char *s)
{
	static const char *const names[] = { "private", "unpriv", "chroot", "wakeup", "maxproc",
					     "command" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return MASTERCF_PRIVATE + (int)i;
	fail_msg("bad field name %s", s);
	return -1;
}

static int add_service(void *o, char **w, size_t n, int explicit_fields)
{
	struct mastercf_new_service ns;
	const char *args[64], *opts[64];
	size_t i, na = 0, no = 0, cmd;
	char *slash = NULL;
	int r;

	memset(&ns, 0, sizeof(ns));
	ns.name = w[1];
	ns.type = w[2];
	if (explicit_fields) {
		if (n < 9)
			fail_msg("add-service-fields: too few words");
		for (i = 0; i < 5; i++)
			ns.fields[i] = w[3 + i];
		cmd = 8;
	} else {
		if (n < 5)
			fail_msg("add-service: too few words");
		slash = strchr(w[3], '/');
		if (strcmp(w[3], "-") != 0) {
			if (!slash)
				fail_msg("add-service: template must be SERVICE/TYPE");
			*slash = 0;
			ns.template_name = w[3];
			ns.template_type = slash + 1;
		}
		cmd = 4;
	}
	ns.command = w[cmd];
	for (i = cmd + 1; i < n; i++) {
		if (strcmp(w[i], "-o") == 0 && i + 1 < n)
			opts[no++] = w[++i];
		else
			args[na++] = w[i];
	}
	args[na] = NULL;
	opts[no] = NULL;
	ns.args = args;
	ns.options = opts;
	r = mastercf_add_service(o, &ns);
	return r;
}

/* The postfix-master stage's whole edit (steps/postfix_master.c) with the
 * minimal mailstage.conf (the limits at their defaults) for PROFILE; the
 * object becomes its output.  A second edit of the output must change
 * nothing (a second apply is a no-op): else the check fails. */
static int stage_edit(void **op, const char *profile, char **why)
{
	static const char conf[] = "hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\n";
	const struct profile *p = profile_by_name(profile);
	struct strv errors = { 0 };
	struct mastercf *next = NULL;
	struct config cfg;
	char *in, *out = NULL, *out2 = NULL, *err = NULL;
	size_t ilen, olen = 0, olen2 = 0;
	int r;

	if (!p)
		fail_msg("postfix-master: unknown profile %s", profile);
	memset(&cfg, 0, sizeof(cfg));
	if (config_parse(conf, strlen(conf), "test.conf", &cfg, &errors) < 0)
		fail_msg("postfix-master: config: %s", errors.n ? errors.v[0] : "?");
	in = mastercf_render(*op, &ilen);
	r = postfix_master_edit(&cfg, p, in, ilen, &out, &olen, &err);
	if (r < 0) {
		fprintf(stderr, "postfix-master: %s\n", err ? err : "?");
		goto out;
	}
	r = postfix_master_edit(&cfg, p, out, olen, &out2, &olen2, &err);
	if (r < 0)
		fail_msg("postfix-master: the second edit failed: %s", err ? err : "?");
	if (olen2 != olen || memcmp(out, out2, olen) != 0) {
		*why = xasprintf("a second postfix-master edit changed the output:\n%s", out2);
		r = 1;
		goto out;
	}
	if (mastercf_parse(out, olen, &next, &err) < 0)
		fail_msg("postfix-master: output does not parse: %s", err);
	mastercf_free(*op);
	*op = next;
out:
	free(in);
	free(out);
	free(out2);
	free(err);
	strv_free(&errors);
	config_free(&cfg);
	return r;
}

static int a_mastercf(void **op, const char *line, char **why)
{
	void *o = *op;
	char *copy = xstrdup(line), *w[60], *eq;
	size_t n = words(copy, w, 60);
	const char *v = NULL;
	int r = -EINVAL;

	if (n == 4 && strcmp(w[0], "option") == 0) {
		eq = strchr(w[3], '=');
		if (!eq)
			fail_msg("option needs NAME=VALUE: %s", line);
		*eq = 0;
		r = mastercf_set_option(o, w[1], w[2], w[3], eq + 1);
	} else if (n == 4 && strcmp(w[0], "unset-option") == 0) {
		r = mastercf_unset_option(o, w[1], w[2], w[3]);
	} else if (n >= 4 && strcmp(w[0], "get-option") == 0) {
		r = mastercf_get_option(o, w[1], w[2], w[3], &v);
		if (r == 0)
			r = check_str(w[3], v, rest_after(line, 4), why);
	} else if (n == 4 && strcmp(w[0], "absent-option") == 0) {
		r = mastercf_get_option(o, w[1], w[2], w[3], &v);
		if (r == 0)
			r = check_str(w[3], v, NULL, why);
	} else if (n == 5 && strcmp(w[0], "field") == 0) {
		r = mastercf_set_field(o, w[1], w[2], (enum mastercf_field)field_index(w[3]), w[4]);
	} else if (n == 4 && strcmp(w[0], "dedupe") == 0) {
		r = mastercf_dedupe(o, w[1], w[2], strcmp(w[3], "last") == 0);
	} else if (n == 4 && strcmp(w[0], "count") == 0) {
		r = check_count(mastercf_count(o, w[1], w[2]), w[3], why);
	} else if (n >= 3 && strcmp(w[0], "add-service") == 0) {
		r = add_service(o, w, n, 0);
	} else if (n >= 3 && strcmp(w[0], "add-service-fields") == 0) {
		r = add_service(o, w, n, 1);
	} else if (n == 2 && strcmp(w[0], "postfix-master") == 0) {
		r = stage_edit(op, w[1], why);
	} else {
		fail_msg("bad mastercf edit: %s", line);
	}
	free(copy);
	return r;
}

static int parse_any(const char *editor, const char *text, size_t len, struct editor *ed,
		     char **err)
{
	memset(ed, 0, sizeof(*ed));
	if (strcmp(editor, "maincf") == 0) {
		ed->render = r_maincf;
		ed->apply = a_maincf;
		return maincf_parse(text, len, (struct maincf **)&ed->obj, err);
	}
	if (strcmp(editor, "mastercf") == 0) {
		ed->render = r_mastercf;
		ed->apply = a_mastercf;
		return mastercf_parse(text, len, (struct mastercf **)&ed->obj, err);
	}
	if (strcmp(editor, "dkimconf") == 0) {
		ed->render = r_dkimconf;
		ed->apply = a_dkimconf;
		return dkimconf_parse(text, len, (struct dkimconf **)&ed->obj, err);
	}
	fail_msg("unknown editor directory %s", editor);
	return -EINVAL;
}

static void free_any(const char *editor, struct editor *ed)
{
	if (!ed->obj)
		return;
	if (strcmp(editor, "maincf") == 0)
		maincf_free(ed->obj);
	else if (strcmp(editor, "mastercf") == 0)
		mastercf_free(ed->obj);
	else
		dkimconf_free(ed->obj);
	ed->obj = NULL;
}

/* Report the first differing line of two texts. */
static void report_diff(const char *name, const char *got, size_t glen, const char *want,
			size_t wlen)
{
	size_t i = 0, line = 1, ls = 0;	/* both texts are NUL-terminated */

	while (i < glen && i < wlen && got[i] == want[i]) {
		if (got[i] == '\n') {
			line++;
			ls = i + 1;
		}
		i++;
	}
	fail_msg("%s: output differs from expected at line %zu (byte %zu):\n"
		 "  got:      %.*s\n  expected: %.*s", name, line, i,
		 (int)strcspn(got + ls, "\n"), got + ls, (int)strcspn(want + ls, "\n"), want + ls);
}

static void run_case(void **state)
{
	const struct tcase *c = *state;
	char *input = NULL, *edits = NULL, *expected = NULL, *error = NULL, *err = NULL;
	char *out = NULL, *again = NULL, *save = NULL, *line;
	size_t ilen = 0, elen = 0, xlen = 0, olen = 0, alen = 0, errlen = 0;
	int bless = getenv("CASES_BLESS") && strcmp(getenv("CASES_BLESS"), "1") == 0;
	int r, have_edits, have_expected, have_error;
	struct editor ed, ed2;

	memset(&ed2, 0, sizeof(ed2));
	if (read_opt(c, "input", &input, &ilen) < 0)
		fail_msg("%s: no input file", c->name);
	have_edits = read_opt(c, "edits", &edits, &elen) == 0;
	have_expected = read_opt(c, "expected", &expected, &xlen) == 0;
	have_error = read_opt(c, "error", &error, &errlen) == 0;
	if (have_error && errlen && error[errlen - 1] == '\n')
		error[--errlen] = 0;

	r = parse_any(c->editor, input, ilen, &ed, &err);
	if (r < 0) {
		if (!have_error && bless) {
			char *e = xasprintf("%s\n", err);
			write_file(c, "error", e, strlen(e));
			free(e);
		} else if (!have_error) {
			fail_msg("%s: unexpected parse error: %s", c->name, err);
		} else if (strcmp(err, error) != 0) {
			fail_msg("%s: parse error \"%s\", expected \"%s\"", c->name, err, error);
		}
		goto out;
	}
	if (have_error)
		fail_msg("%s: parsed, but expected the error \"%s\"", c->name, error);

	out = ed.render(ed.obj, &olen);
	if (olen != ilen || memcmp(out, input, ilen) != 0)
		fail_msg("%s: render without edits is not byte-identical", c->name);
	free(out);
	out = NULL;

	for (line = have_edits ? strtok_r(edits, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *why = NULL, *before, *after;
		size_t blen, aflen;
		int negate = 0;

		line[strcspn(line, "\r")] = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == 0 || *line == '#')
			continue;
		if (*line == '!') {
			negate = 1;
			for (line++; *line == ' ' || *line == '\t'; line++)
				;
		}
		before = ed.render(ed.obj, &blen);
		r = ed.apply(&ed.obj, line, &why);
		if (r == 1)
			fail_msg("%s: check failed: %s: %s", c->name, line, why);
		if (negate) {
			after = ed.render(ed.obj, &aflen);
			if (r == 0)
				fail_msg("%s: expected failure, but succeeded: %s", c->name, line);
			if (aflen != blen || memcmp(before, after, blen) != 0)
				fail_msg("%s: failed edit changed the file: %s", c->name, line);
			free(after);
		} else if (r < 0) {
			fail_msg("%s: edit failed (%s): %s", c->name, strerror(-r), line);
		}
		free(before);
		free(why);
	}

	out = ed.render(ed.obj, &olen);
	if (!have_expected && bless && (olen != ilen || memcmp(out, input, ilen) != 0)) {
		write_file(c, "expected", out, olen);
	} else if (!have_expected) {
		if (olen != ilen || memcmp(out, input, ilen) != 0)
			report_diff(c->name, out, olen, input, ilen);
	} else if (olen != xlen || memcmp(out, expected, xlen) != 0) {
		report_diff(c->name, out, olen, expected, xlen);
	}

	/* the output parses again and renders identically */
	free(err);
	err = NULL;
	if (parse_any(c->editor, out, olen, &ed2, &err) < 0)
		fail_msg("%s: output does not parse: %s", c->name, err);
	again = ed2.render(ed2.obj, &alen);
	if (alen != olen || memcmp(again, out, olen) != 0)
		fail_msg("%s: output does not round-trip", c->name);
out:
	free_any(c->editor, &ed);
	free_any(c->editor, &ed2);
	free(input);
	free(edits);
	free(expected);
	free(error);
	free(err);
	free(out);
	free(again);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *dir, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			strv_push(out, e->d_name);
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

int main(void)
{
	const char *root = getenv("CASES_DIR") ? getenv("CASES_DIR") : "tests/cases";
	static const char *const editors[] = { "maincf", "mastercf", "dkimconf" };
	struct CMUnitTest *tests = NULL;
	struct tcase *cases = NULL;
	size_t n = 0, cap = 0, i, j;
	int r;

	for (i = 0; i < ARRAY_SIZE(editors); i++) {
		char *edir = xasprintf("%s/%s", root, editors[i]);
		struct strv names = { 0 };

		list_dir(edir, &names);
		for (j = 0; j < names.n; j++) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				cases = xrealloc(cases, cap * sizeof(*cases));
			}
			cases[n].editor = xstrdup(editors[i]);
			cases[n].dir = xasprintf("%s/%s", edir, names.v[j]);
			cases[n].name = xasprintf("%s/%s", editors[i], names.v[j]);
			n++;
		}
		strv_free(&names);
		free(edir);
	}
	if (n == 0) {
		fprintf(stderr, "no cases under %s (run from the repository root)\n", root);
		return 1;
	}
	tests = xcalloc(n, sizeof(*tests));
	for (i = 0; i < n; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = &cases[i];
	}
	r = _cmocka_run_group_tests("golden cases", tests, n, NULL, NULL);
	for (i = 0; i < n; i++) {
		free(cases[i].editor);
		free(cases[i].dir);
		free(cases[i].name);
	}
	free(cases);
	free(tests);
	return r;
}
