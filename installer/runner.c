/*
 * runner.c - the commands that walk the stages: plan, apply (with
 * checkpoints and rollback on failure), rollback, status and stages.
 */
#include "runner.h"
#include "diff.h"
#include "fpcache.h"
#include "i18n.h"
#include "msg.h"
#include "lazyse.h"	/* is_selinux_enabled without libselinux where SELinux cannot be on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define OS_RELEASE_MAX (64u << 10)	/* os-release is a few hundred bytes */

/* ---- set-up shared by every command ---- */

void run_free(struct run *r)
{
	prim_free(&r->p);
	state_close(&r->st);
	config_free(&r->cfg);
	root_free(&r->root);
}

/*
 * Is SELinux on where the stages will work?  This host: the kernel's word
 * (is_selinux_enabled; the library is loaded only where selinuxfs exists).
 * A --root target: SELINUX=enforcing or permissive in its
 * /etc/selinux/config, read inside the root.  The profile's SELinux variant
 * follows from it (profile_for_selinux).
 */
static int target_selinux_on(struct root *root)
{
	char *text = NULL, *why = NULL, *mode = NULL;
	int on;

	if (root->is_host)
		return lazy_selinux_enabled() == 1;
	if (root_read(root, "/etc/selinux/config", 64 * 1024, &text, NULL, &why) == 0)
		mode = conf_value(text, "SELINUX");	/* as the selinux stage reads it */
	on = mode && (strcmp(mode, "enforcing") == 0 || strcmp(mode, "permissive") == 0);
	free(mode);
	free(text);
	free(why);
	return on;
}

/*
 * Everything that can be refused before the host is touched: root,
 * configuration, profile, stage names.  Returns an exit code (0: go on).
 */
int run_setup(struct run *r, const struct run_opts *o, const char *cmd, int need_config)
{
	struct strv errors = { 0 };
	char *why = NULL, *conf = NULL, *osr = NULL;
	size_t i;
	int rc = EXIT_OK;

	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->cmd = cmd;
	r->st.lock_fd = -1;
	r->p.root = &r->root;
	r->p.st = &r->st;
	r->p.cmd = cmd;
	if (root_init(&r->root, o->root ? o->root : "/", &why) < 0) {
		msg_error("%s", why);
		rc = EXIT_USAGE;
		goto out;
	}
	if (!r->root.is_host)
		msg_journal_enabled = 0;	/* a scratch root is not this host's business */
	for (i = 0; i < o->only.n + o->skip.n; i++) {
		const char *n = i < o->only.n ? o->only.v[i] : o->skip.v[i - o->only.n];
		if (!stage_by_name(n)) {
			const struct stage *const *s;
			const char *best = NULL;
			size_t bd = 3;
			for (s = stages_all(); *s; s++) {
				size_t d = str_starts_with((*s)->name, n) ? 1 : levenshtein(n, (*s)->name);
				if (d < bd)
					bd = d, best = (*s)->name;
			}
			if (best)
				msg_error(_("unknown stage \"%s\" (did you mean \"%s\"?); `mailstage stages` lists them"),
					  n, best);
			else
				msg_error(_("unknown stage \"%s\"; `mailstage stages` lists them"), n);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (!need_config)
		goto out;
	/* Profile: --profile, else the target's os-release. */
	if (o->profile) {
		r->prof = profile_by_name(o->profile);
		if (!r->prof) {
			msg_error(_("unknown profile \"%s\"; profiles: el7, el8, el9, debian12"), o->profile);
			rc = EXIT_USAGE;
			goto out;
		}
	} else {
		/* The target's own os-release, read inside the root: a FIFO or a link out is refused. */
		int orc = root_read(&r->root, "/etc/os-release", OS_RELEASE_MAX, &osr, NULL, &why);
		if (orc == -ENOENT) {
			free(why);
			why = NULL;
			orc = root_read(&r->root, "/usr/lib/os-release", OS_RELEASE_MAX, &osr, NULL, &why);
		}
		if (orc == -ENOENT) {
			msg_error(_("cannot tell the OS: no /etc/os-release or /usr/lib/os-release in %s; "
				  "use --profile el7|el8|el9|debian12"), *r->root.dir ? r->root.dir : "/");
			rc = EXIT_CONFIG;
			goto out;
		}
		if (orc < 0) {
			msg_error(_("cannot tell the OS: %s; use --profile el7|el8|el9|debian12"), why);
			rc = EXIT_CONFIG;
			goto out;
		}
		if (profile_detect(osr, &r->prof, &why) < 0) {
			msg_error("%s", why);
			rc = EXIT_CONFIG;
			goto out;
		}
	}
	r->prof = profile_for_selinux(r->prof, target_selinux_on(&r->root));
	/* Configuration: -c FILE as given, else inside the root. */
	/* (a symlink given with -c is the caller's own choice; the root's is followed inside the root only) */
	if (o->config)
		conf = realpath(o->config, NULL);
	if (o->config && !conf)
		conf = xstrdup(o->config);
	if (!o->config && root_resolve(&r->root, "/etc/mailstage/mailstage.conf", &conf, &why) < 0) {
		msg_error("%s", why);
		msg_error(_("configuration not valid: nothing was changed"));
		rc = EXIT_CONFIG;
		goto out;
	}
	{
		const char *disp = o->config ? o->config : "/etc/mailstage/mailstage.conf";
		int cr = config_load(conf, disp, &r->cfg, &errors);
		if (cr == -ENOENT && !o->config) {
			/* One step that works installed or from a source checkout: the
			 * example is in the binary's payload (DATADIR has it only after
			 * make install). */
			msg_error(_("%s does not exist (nothing was changed): write the example with `mailstage "
				    "payload --extract mailstage-payload`, then `install -D -m 0644 "
				    "mailstage-payload/mailstage.conf.example %s` and set hostname, domain and ipv4 "
				    "in it"), conf, conf);
			rc = EXIT_CONFIG;
			goto out;
		}
		if (cr < 0) {
			for (i = 0; i < errors.n; i++)
				msg_error("%s", errors.v[i]);
			msg_error(_("configuration not valid: nothing was changed"));
			rc = EXIT_CONFIG;
			goto out;
		}
	}
out:
	if (r->prof)
		r->p.profile = r->prof->name;
	strv_free(&errors);
	free(why);
	free(conf);
	free(osr);
	return rc;
}

/*
 * The order of the stages: the runner's alone.  Each stage registers
 * itself (STAGE_REGISTER in its file); a new stage is added here too.
 */
static const char *const stage_order[] = {
	"preflight",
	"repos",
	"packages",
	"tls",
	"dkim-keys",
	"opendkim",
	"sasl",
	"postfix-main",
	"postfix-master",
	"selinux",
	"firewall",
	"provider",
	"services",
	"dns",
};

const struct stage *const *stages_all(void)
{
	static const struct stage *all[ARRAY_SIZE(stage_order) + 1];
	size_t i;

	if (all[0])
		return all;
	for (i = 0; i < ARRAY_SIZE(stage_order); i++) {
		all[i] = stage_registered(stage_order[i]);
		if (!all[i])
			msg_fatal(EXIT_SOFTWARE, "internal error: stage \"%s\" is not built in (STAGE_REGISTER)",
				  stage_order[i]);
	}
	if (stages_registered() != ARRAY_SIZE(stage_order))
		msg_fatal(EXIT_SOFTWARE, "internal error: %zu stages registered themselves, the runner orders %zu "
			  "(add the new one to stage_order in installer/runner.c)", stages_registered(),
			  ARRAY_SIZE(stage_order));
	return all;
}

const struct stage *stage_by_name(const char *name)
{
	const struct stage *const *s;
	for (s = stages_all(); *s; s++)
		if (strcmp((*s)->name, name) == 0)
			return *s;
	return NULL;
}

static int stage_selected(const struct run_opts *o, const char *name)
{
	size_t i;
	for (i = 0; i < o->skip.n; i++)
		if (strcmp(o->skip.v[i], name) == 0)
			return 0;
	if (o->only.n == 0)
		return 1;
	for (i = 0; i < o->only.n; i++)
		if (strcmp(o->only.v[i], name) == 0)
			return 1;
	return 0;
}

/* Selected, and in use with this configuration (a stage without active() always is). */
static int stage_runs(const struct run *r, const struct stage *s)
{
	return stage_selected(r->opts, s->name) && (!s->active || s->active(&r->cfg));
}

static void ctx_init(struct ctx *c, struct run *r, const struct stage *s)
{
	memset(c, 0, sizeof(*c));
	c->run = r;
	c->prim = &r->p;
	c->cfg = &r->cfg;
	c->prof = r->prof;
	c->root = &r->root;
	c->stage = s->name;
}

static void ctx_free(struct ctx *c)
{
	if (c->exit_code)
		c->run->exit_code = c->exit_code;	/* stage_refuse() */
	changes_free(c->changes, c->nchanges);
	ctx_forget_seen(c);
	strv_free(&c->notes);
	c->changes = NULL;
	c->nchanges = 0;
}

int run_pending(struct run *r, struct strv *pending)
{
	const struct stage *const *s;
	int failed = 0, dry = r->p.dry;

	r->p.dry = 1;
	for (s = stages_all(); *s; s++) {
		struct ctx c;
		size_t i;
		if (!stage_runs(r, *s))
			continue;
		ctx_init(&c, r, *s);
		if ((*s)->check(&c) < 0) {
			char *m = xasprintf("%s: %s", (*s)->name, r->p.error ? r->p.error : _("check failed"));
			strv_push(pending, m);
			free(m);
			failed++;
		}
		for (i = 0; i < c.nchanges; i++) {
			char *m = xasprintf("%s: %s", (*s)->name, c.changes[i].what);
			strv_push(pending, m);
			free(m);
		}
		ctx_free(&c);
	}
	r->p.dry = dry;
	return failed ? -EIO : 0;
}

/* ---- JSON ---- */

static const char *kind_name(enum change_kind k)
{
	switch (k) {
	case CH_FILE: return "file";
	case CH_DIR: return "directory";
	case CH_ATTR: return "attributes";
	case CH_REMOVE: return "remove";
	case CH_COMMAND: return "command";
	case CH_ACTION: return "action";
	}
	return "?";
}

/* The unified diff a file change makes (empty for other kinds, secrets and
 * content produced at apply time): plan prints it, --json carries it. */
static void change_diff(const struct change *ch, struct buf *d)
{
	if (ch->kind != CH_FILE || ch->secret || ch->produce)
		return;
	diff_unified(ch->old ? ch->old : "", ch->old ? ch->oldlen : 0, ch->data, ch->len,
		     ch->old ? ch->path : "/dev/null", ch->path, d);
}

static void json_stage(const char *stage, const char *status, const struct ctx *c, const char *error)
{
	struct buf b = { 0 };
	size_t i;
	char *s = json_str(stage), *e = error ? json_str(error) : xstrdup("null");

	buf_printf(&b, "{\"stage\":%s,\"status\":\"%s\",\"changes\":[", s, status);
	for (i = 0; c && i < c->nchanges; i++) {
		struct buf d = { 0 };
		char *w = json_str(c->changes[i].what), *p = json_str(c->changes[i].path), *dj;
		change_diff(&c->changes[i], &d);
		dj = d.len ? json_str(d.data) : xstrdup("null");
		buf_printf(&b, "%s{\"kind\":\"%s\",\"path\":%s,\"what\":%s,\"diff\":%s}", i ? "," : "",
			   kind_name(c->changes[i].kind), c->changes[i].path ? p : "null", w, dj);
		free(w);
		free(p);
		free(dj);
		buf_free(&d);
	}
	buf_puts(&b, "],\"notes\":[");
	for (i = 0; c && i < c->notes.n; i++) {
		char *n = json_str(c->notes.v[i]);
		buf_printf(&b, "%s%s", i ? "," : "", n);
		free(n);
	}
	buf_printf(&b, "],\"error\":%s}\n", e);
	fputs(b.data, stdout);
	fflush(stdout);
	buf_free(&b);
	free(s);
	free(e);
}

/* ---- plan ---- */

static void print_change(const struct change *ch)
{
	struct buf d = { 0 };
	printf("  %s\n", ch->what);
	change_diff(ch, &d);
	if (d.len) {
		const char *p = d.data;
		/* Indent the diff under its change. */
		while (*p) {
			const char *eol = strchr(p, '\n');
			size_t l = eol ? (size_t)(eol - p + 1) : strlen(p);
			printf("    %.*s", (int)l, p);
			p += l;
		}
		if (d.data[d.len - 1] != '\n')
			putchar('\n');
	}
	buf_free(&d);
}

static size_t count_selected(const struct run *r)
{
	const struct stage *const *s;
	size_t n = 0;
	for (s = stages_all(); *s; s++)
		n += stage_runs(r, *s);
	return n;
}

int cmd_plan(const struct run_opts *o)
{
	const struct stage *const *s;
	struct run r;
	size_t idx = 0, total, pending = 0, failed = 0;
	int rc = run_setup(&r, o, "plan", 1);

	if (rc != EXIT_OK)
		goto out;
	r.p.dry = 1;
	total = count_selected(&r);
	for (s = stages_all(); *s; s++) {
		struct ctx c;
		size_t i;
		if (!stage_runs(&r, *s))
			continue;
		idx++;
		ctx_init(&c, &r, *s);
		if ((*s)->check(&c) < 0) {
			failed++;
			msg_error("[%zu/%zu] %s: %s", idx, total, (*s)->name, r.p.error ? r.p.error : _("check failed"));
			if (o->json)
				json_stage((*s)->name, "failed", &c, r.p.error);
			ctx_free(&c);
			continue;
		}
		if (o->json) {
			json_stage((*s)->name, c.nchanges ? "pending" : "converged", &c, NULL);
		} else if (c.nchanges) {
			printf(ngettext("%s: %zu change\n", "%s: %zu changes\n", c.nchanges), (*s)->name,
			       c.nchanges);
			for (i = 0; i < c.nchanges; i++)
				print_change(&c.changes[i]);
		}
		for (i = 0; !o->json && i < c.notes.n; i++)
			msg_warn("%s: %s", (*s)->name, c.notes.v[i]);
		if (c.nchanges)
			msg_info(_("[%zu/%zu] %s ... changes pending"), idx, total, (*s)->name);
		else
			msg_info(_("[%zu/%zu] %s ... converged"), idx, total, (*s)->name);
		pending += c.nchanges;
		ctx_free(&c);
	}
	if (failed)
		rc = r.exit_code ? r.exit_code : EXIT_FAILED;
	else
		rc = pending ? EXIT_PENDING : EXIT_OK;
	if (failed)
		msg_info(ngettext("plan: %zu change pending, some stages could not be checked",
				  "plan: %zu changes pending, some stages could not be checked", pending), pending);
	else if (pending)
		msg_info(ngettext("plan: %zu change pending; `mailstage apply` makes them",
				  "plan: %zu changes pending; `mailstage apply` makes them", pending), pending);
	else
		msg_info(_("plan: 0 changes pending"));
out:
	run_free(&r);
	return rc;
}

/* ---- apply ---- */

/*
 * 1 and *no: an interrupted run; 0: none; -EPERM: the state cannot be
 * trusted (said).  An interrupted run that recorded no change (a crash or
 * a full disk before its first one) has nothing to undo or finish: it is
 * closed here, so it blocks nothing.
 */
static int find_interrupted(struct state *st, unsigned *no)
{
	struct runinfo *v;
	size_t n, i;
	int r;
	*no = 0;
	r = state_runs_unfinished(st, &v, &n);
	if (r == -EPERM)
		return r;
	if (r < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].status, "interrupted") != 0 || v[i].rolled_back)
			continue;
		if (v[i].changes == 0 && journal_close_interrupted(st, v[i].no, 0) == 0) {
			msg_info(_("run %u was interrupted before it changed anything: closed"), v[i].no);
			continue;
		}
		*no = v[i].no;
	}
	runinfo_free(v, n);
	return *no != 0;
}

static int lock_state(struct run *r)
{
	char *why = NULL;
	int rc = state_open(&r->st, &r->root, STATE_CREATE | STATE_LOCK, &why);
	if (rc < 0) {
		msg_error("%s", why);
		free(why);
		return rc == -EBUSY ? EXIT_TEMPFAIL : rc == -EPERM ? EXIT_NOPERM : EXIT_IOERR;
	}
	/* The journal undoes only these action types: the table is handed down, not looked up. */
	r->st.actions = action_types_all();
	return EXIT_OK;
}

/* A run that failed on a full disk: an I/O condition with its own exit code (74) and fix. */
static int disk_full(int failure)
{
	if (failure != -ENOSPC && failure != -EDQUOT)
		return 0;
	msg_error(_("the file system is full (%s): free some space and run again"), strerror(-failure));
	return 1;
}

/* One stage of an apply: check, apply when drifted, check again, checkpoint. */
static int apply_stage(struct run *r, const struct stage *s, size_t idx, size_t total, size_t *nchanged)
{
	struct ctx c, again;
	int rc;
	unsigned before = r->p.j.changes;

	r->p.stage = s->name;
	ctx_init(&c, r, s);
	ctx_init(&again, r, s);
	rc = s->check(&c);
	if (rc < 0)
		goto out;
	if (c.nchanges == 0) {
		size_t i;
		for (i = 0; i < c.notes.n; i++)
			msg_warn("%s: %s", s->name, c.notes.v[i]);
		if (!checkpoint_present(&r->st, s->name))
			checkpoint_write(&r->st, s->name, r->p.jopen ? r->p.j.run_no : 0);
		msg_info(_("[%zu/%zu] %s ... ok"), idx, total, s->name);
		if (r->opts->json)
			json_stage(s->name, "unchanged", &c, NULL);
		goto out;
	}
	rc = apply_changes(&c);
	if (rc < 0)
		goto out;
	rc = s->check(&again);
	if (rc < 0)
		goto out;
	if (again.nchanges) {
		free(r->p.error);
		r->p.error = xasprintf(_("still not converged after apply: %s"), again.changes[0].what);
		rc = -EPROTO;
		goto out;
	}
	rc = prim_journal(&r->p);
	if (rc == 0)
		rc = journal_record(&r->p.j, 1, "checkpoint stage=%s", s->name);
	if (rc == 0)
		rc = checkpoint_write(&r->st, s->name, r->p.j.run_no);
	if (rc < 0) {
		free(r->p.error);
		r->p.error = xasprintf(_("cannot write the checkpoint: %s"), strerror(-rc));
		goto out;
	}
	(*nchanged)++;
	{
		size_t i;
		for (i = 0; i < c.notes.n; i++)
			msg_warn("%s: %s", s->name, c.notes.v[i]);
	}
	msg_info(_("[%zu/%zu] %s ... changed (%u)"), idx, total, s->name, r->p.j.changes - before);
	msg_journal(LOG_NOTICE, r->p.run_id, s->name, "stage-changed", NULL, "stage %s changed %u things",
		    s->name, r->p.j.changes - before);
	if (r->opts->json)
		json_stage(s->name, "changed", &c, NULL);
out:
	if (rc < 0) {
		msg_info(_("[%zu/%zu] %s ... FAILED"), idx, total, s->name);
		if (r->opts->json)
			json_stage(s->name, "failed", &c, r->p.error);
	}
	ctx_free(&c);
	ctx_free(&again);
	return rc;
}

int cmd_apply(const struct run_opts *o)
{
	const struct stage *const *s;
	struct run r;
	size_t idx = 0, total, nchanged = 0;
	unsigned interrupted;
	int rc = run_setup(&r, o, "apply", 1), intr, failure = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rc != EXIT_OK)
		goto out;
	rc = lock_state(&r);
	if (rc != EXIT_OK)
		goto out;
	fpcache_load(r.st.dir);	/* the crypto answers for files unchanged since the last converged apply */
	intr = find_interrupted(&r.st, &interrupted);
	if (intr < 0) {
		rc = EXIT_NOPERM;
		goto out;
	}
	if (intr) {
		if (!o->resume) {
			msg_error(_("run %u was interrupted before it finished; run `mailstage rollback` to undo "
				  "it or `mailstage apply --resume` to finish it"), interrupted);
			rc = EXIT_TEMPFAIL;
			goto out;
		}
		r.p.resume_no = interrupted;
		msg_info(_("resuming interrupted run %u"), interrupted);
	} else if (o->resume) {
		msg_info(_("no interrupted run: --resume does nothing special"));
	}
	total = count_selected(&r);
	for (s = stages_all(); *s; s++) {
		if (!stage_runs(&r, *s))
			continue;
		idx++;
		if ((failure = apply_stage(&r, *s, idx, total, &nchanged)) < 0)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!*s) {
		/* A resumed run whose remaining work was done already still gets its end record. */
		if (!r.p.jopen && r.p.resume_no) {
			r.p.stage = NULL;
			(void)prim_journal(&r.p);
		}
		if (r.p.jopen)
			journal_end(&r.p.j, "ok");
		/* A cache: when it cannot be written, the next run checks in full.  --only/--skip keep the others' records. */
		(void)fpcache_save(r.st.dir, !o->only.n && !o->skip.n);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		char *st = xasprintf(ngettext("%zu of %zu stage changed", "%zu of %zu stages changed", total),
				     nchanged, total);
		char *ch = xasprintf(ngettext("%u change", "%u changes", r.p.j.changes), r.p.j.changes);
		/* TRANSLATORS: "apply: 3 of 12 stages changed, 5 changes (120 ms)" */
		msg_info(_("apply: %s, %s (%ld ms)"), st, ch, ms);
		free(st);
		free(ch);
		if (r.p.jopen)
			msg_info(_("run %s is recorded in /var/lib/mailstage/runs/%s; `mailstage rollback %s` undoes it"),
				 r.p.run_id, r.p.run_id, r.p.run_id);
		rc = EXIT_OK;
		goto out;
	}
	/* A stage failed: undo everything this run did, newest first. */
	msg_error(_("stage %s failed: %s"), (*s)->name, r.p.error ? r.p.error : _("unknown error"));
	msg_journal(LOG_ERR, r.p.run_id, (*s)->name, "failed", NULL, "stage %s failed: %s", (*s)->name,
		    r.p.error ? r.p.error : "");
	if (!r.p.jopen) {
		msg_error(_("nothing was changed"));
		rc = r.exit_code ? r.exit_code : EXIT_ROLLED_BACK;
		if (disk_full(failure))
			rc = EXIT_IOERR;
		goto out;
	}
	{
		unsigned undone = 0, no = r.p.j.run_no;
		journal_end(&r.p.j, "failed");
		journal_close(&r.p.j);
		r.p.jopen = 0;
		if (journal_undo(&r.st, no, &undone) == 0) {
			msg_error(ngettext("the system was restored: %u change of run %u undone",
					   "the system was restored: %u changes of run %u undone", undone), undone, no);
			rc = EXIT_ROLLED_BACK;
			if (disk_full(failure))
				rc = EXIT_IOERR;
		} else {
			msg_error(_("the restore of run %u was incomplete (see above); retry with "
				  "`mailstage rollback %u`"), no, no);
			rc = EXIT_NOT_RESTORED;
		}
		msg_journal(LOG_ERR, r.p.run_id, (*s)->name, "rolled-back", NULL, "run %u rolled back", no);
	}
out:
	run_free(&r);
	return rc;
}

/* ---- rollback ---- */

static int paths_overlap(const struct runinfo *a, const struct runinfo *b, const char **which)
{
	size_t i, k;
	for (i = 0; i < a->paths.n; i++)
		for (k = 0; k < b->paths.n; k++)
			if (strcmp(a->paths.v[i], b->paths.v[k]) == 0) {
				*which = a->paths.v[i];
				return 1;
			}
	return 0;
}

int cmd_rollback(const struct run_opts *o, const char *which)
{
	struct run r;
	struct runinfo *v = NULL, *target = NULL;
	size_t n = 0, i;
	unsigned undone = 0;
	int rc = run_setup(&r, o, "rollback", 0);

	if (rc != EXIT_OK)
		goto out;
	rc = lock_state(&r);
	if (rc != EXIT_OK)
		goto out;
	if (state_runs(&r.st, &v, &n) == -EPERM) {
		rc = EXIT_NOPERM;
		goto out;
	}
	if (which) {
		char *end;
		unsigned long no = strtoul(which, &end, 10);
		for (i = 0; i < n && !*end; i++)
			if (v[i].no == no)
				target = &v[i];
		if (!target) {
			msg_error(_("no run \"%s\"; `mailstage status` lists the runs"), which);
			rc = EXIT_USAGE;
			goto out;
		}
		if (target->rolled_back) {
			msg_error(_("run %u was already rolled back"), target->no);
			rc = EXIT_FAILED;
			goto out;
		}
	} else {
		for (i = n; i-- > 0;)
			if (v[i].changes && !v[i].rolled_back) {
				target = &v[i];
				break;
			}
		if (!target) {
			msg_info(_("nothing to roll back: no run changed anything that is not already undone"));
			rc = EXIT_OK;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const char *path;
		if (v[i].no > target->no && !v[i].rolled_back && v[i].changes &&
		    paths_overlap(&v[i], target, &path)) {
			msg_error(_("refusing to roll back run %u: the later run %u also changed %s; "
				  "roll back run %u first (`mailstage rollback %u`)"), target->no, v[i].no, path,
				  v[i].no, v[i].no);
			rc = EXIT_FAILED;
			goto out;
		}
	}
	if (strcmp(target->status, "interrupted") == 0) {
		/* Close the interrupted journal so it no longer blocks apply. */
		(void)journal_close_interrupted(&r.st, target->no, target->changes);
	}
	if (journal_undo(&r.st, target->no, &undone) < 0) {
		msg_error(_("rollback of run %u was incomplete (see above); fix the cause and run "
			  "`mailstage rollback %u` again"), target->no, target->no);
		rc = EXIT_FAILED;
		goto out;
	}
	/* Stages it changed are no longer known to be converged. */
	for (i = 0; i < target->stages.n; i++) {
		char *cp = xasprintf("%s/checkpoints/%s", r.st.dir, target->stages.v[i]);
		unlink(cp);
		free(cp);
	}
	msg_info(ngettext("rolled back run %u: %u change undone; every file, owner, mode and label it touched "
			  "is as before",
			  "rolled back run %u: %u changes undone; every file, owner, mode and label it touched "
			  "is as before", undone), target->no, undone);
	msg_journal(LOG_NOTICE, NULL, NULL, "rollback", NULL, "rolled back run %u (%u changes)", target->no,
		    undone);
	if (o->json)
		printf("{\"rolled_back\":%u,\"changes\":%u}\n", target->no, undone);
	rc = EXIT_OK;
out:
	runinfo_free(v, n);
	run_free(&r);
	return rc;
}

/* ---- status, stages ---- */

static void fmt_time(long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int cmd_status(const struct run_opts *o)
{
	const struct stage *const *s;
	struct run r;
	struct runinfo *v = NULL;
	size_t n = 0, i;
	int rc = run_setup(&r, o, "status", 0), interrupted = 0;
	char *why = NULL;

	if (rc != EXIT_OK)
		goto out;
	if (state_open(&r.st, &r.root, 0, &why) < 0) {
		msg_error("%s", why);
		rc = EXIT_NOPERM;
		goto out;
	}
	r.st.actions = action_types_all();
	if (state_runs(&r.st, &v, &n) == -EPERM) {
		rc = EXIT_NOPERM;
		goto out;
	}
	if (o->json)
		printf("{\"runs\":[");
	else
		fputs(n ? _("runs:\n") : _("runs: none\n"), stdout);
	for (i = 0; i < n; i++) {
		char t[64];
		fmt_time(v[i].time, t, sizeof(t));
		if (o->json) {
			char *st = json_str(v[i].status);
			printf("%s{\"run\":%u,\"time\":%ld,\"command\":\"%s\",\"status\":%s,\"rolled_back\":%s,"
			       "\"changes\":%u}", i ? "," : "", v[i].no, v[i].time, v[i].cmd, st,
			       v[i].rolled_back ? "true" : "false", v[i].changes);
			free(st);
		} else {
			/* TRANSLATORS: command and status are the journal's words (apply, ok, failed): not translated */
			printf(ngettext("  %4u  %s  %-8s %-12s %3u change %s\n", "  %4u  %s  %-8s %-12s %3u changes%s\n",
					v[i].changes),
			       v[i].no, t, v[i].cmd, v[i].status, v[i].changes,
			       v[i].rolled_back ? _("  (rolled back)") : "");
		}
		if (strcmp(v[i].status, "interrupted") == 0 && !v[i].rolled_back)
			interrupted = (int)v[i].no;
	}
	if (o->json)
		printf("],\"checkpoints\":{");
	else
		fputs(_("checkpoints:\n"), stdout);
	for (s = stages_all(), i = 0; *s; s++) {
		unsigned cr;
		long ct;
		char t[64] = "";
		int have = checkpoint_read(&r.st, (*s)->name, &cr, &ct) == 0;
		if (have)
			fmt_time(ct, t, sizeof(t));
		if (o->json) {
			if (have)
				printf("%s\"%s\":{\"run\":%u,\"time\":%ld}", i++ ? "," : "", (*s)->name, cr, ct);
		} else if (have) {
			if (cr)
				printf(_("  %-15s converged at %s (run %u)\n"), (*s)->name, t, cr);
			else
				printf(_("  %-15s converged at %s (nothing to change)\n"), (*s)->name, t);
		} else {
			printf(_("  %-15s no checkpoint\n"), (*s)->name);
		}
	}
	if (o->json) {
		printf("},\"interrupted\":");
		if (interrupted)
			printf("%d}\n", interrupted);
		else
			printf("null}\n");
	} else if (interrupted) {
		printf(_("interrupted run: %d (run `mailstage rollback` or `mailstage apply --resume`)\n"), interrupted);
	} else {
		fputs(_("interrupted run: none\n"), stdout);
	}
	rc = interrupted ? EXIT_TEMPFAIL : EXIT_OK;
out:
	free(why);
	runinfo_free(v, n);
	run_free(&r);
	return rc;
}

int cmd_stages(const struct run_opts *o)
{
	const struct stage *const *s;
	int i = 1;
	for (s = stages_all(); *s; s++, i++) {
		if (o->json) {
			char *sum = json_str(_((*s)->summary));
			printf("{\"index\":%d,\"stage\":\"%s\",\"summary\":%s}\n", i, (*s)->name, sum);
			free(sum);
		} else {
			printf("%2d. %-15s %s\n", i, (*s)->name, _((*s)->summary));
		}
	}
	return EXIT_OK;
}
