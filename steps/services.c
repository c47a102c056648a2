/*
 * services.c - stage "services": the SASL service, opendkim and postfix
 * (profile->svc_*) enabled and running, and restarted when this run changed
 * one of their files (handler semantics: a no-op apply restarts nothing).
 *
 * Check: ONE `systemctl show -p Id,LoadState,ActiveState,UnitFileState`
 * call for all units (systemctl, not sd-bus: EL7's libsystemd 219 has
 * none).  Only options and verbs systemd 219 (EL7) has are used: `show`
 * output is parsed as NAME=value lines (`show --value` is 230+).  Each unit that is not enabled, not active or due a restart is one
 * typed action "service"; prepare() journals the unit's enablement and
 * activity before, undo() returns it to them (disable, stop).
 *
 * A root that is not "/" (or a host not booted with systemd) has no
 * service manager to talk to: enablement is read and set offline with
 * `systemctl --root=DIR is-enabled/enable`, and starting is impossible, so
 * the stage says so in a note instead of pretending.
 *
 * Undo runs after every file of the run is restored (undo_last): a unit
 * the run restarted is restarted again, so it runs on its restored
 * configuration; a unit the run enabled or started goes back to disabled or
 * stopped; a unit whose package the same rollback removed is left alone.
 *
 * Test seam (test builds only, MAILSTAGE_TEST_HOOKS): MAILSTAGE_TEST_SYSTEMCTL
 * names a program run instead of systemctl, and the root counts as a
 * running system (tests/integration/53-services-el7.sh: a systemd 219
 * stand-in that accepts only 219's options and verbs).
 */
#include "i18n.h"
#include "steps.h"
#include "exec.h"
#include "msg.h"
#include "exitcode.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSTEMCTL_TIMEOUT_MS 30000
#define START_TIMEOUT_MS 180000

struct unit_state {
	char *unit;		/* postfix.service */
	char *load;		/* loaded, not-found, masked, "" offline */
	char *active;		/* active, inactive, failed, activating, "" offline */
	char *enabled;		/* enabled, disabled, static, masked, not-found, ... */
};

static void states_free(struct unit_state *s, size_t n)
{
	size_t i;
	for (i = 0; s && i < n; i++) {
		free(s[i].unit);
		free(s[i].load);
		free(s[i].active);
		free(s[i].enabled);
	}
	free(s);
}

/* Units restarted or started by this process (one process is one run). */
static struct strv restarted;

static int is_restarted(const char *unit)
{
	size_t i;
	for (i = 0; i < restarted.n; i++)
		if (strcmp(restarted.v[i], unit) == 0)
			return 1;
	return 0;
}

/* The program: systemctl, or the test build's stand-in. */
static const char *systemctl_prog(void)
{
#ifdef MAILSTAGE_TEST_HOOKS
	const char *t = getenv("MAILSTAGE_TEST_SYSTEMCTL");
	if (t && *t)
		return t;
#endif
	return "systemctl";
}

/* Is there a running service manager for this root? */
static int online(const struct root *root)
{
#ifdef MAILSTAGE_TEST_HOOKS
	if (strcmp(systemctl_prog(), "systemctl") != 0)
		return 1;
#endif
	return !*root->dir && access("/run/systemd/system", F_OK) == 0;
}

static char *unit_name(const char *svc)
{
	return strchr(svc, '.') ? xstrdup(svc) : xasprintf("%s.service", svc);
}

static int enabled_ok(const char *s)
{
	return strcmp(s, "enabled") == 0 || strcmp(s, "enabled-runtime") == 0 || strcmp(s, "static") == 0 ||
	       strcmp(s, "alias") == 0 || strcmp(s, "indirect") == 0 || strcmp(s, "generated") == 0;
}

/*
 * systemctl [--root=DIR] ARGS... ; 0 when it ran (see res), -errno otherwise.
 * --root only offline: online, the root is the running system ("/").
 */
static int systemctl(const char *root_dir, int offline, int timeout_ms, struct exec_result *res, ...)
{
	struct strv a = { 0 };
	const char *w;
	va_list ap;
	int r;

	strv_push(&a, systemctl_prog());
	if (offline) {
		char *o = xasprintf("--root=%s", *root_dir ? root_dir : "/");
		strv_push(&a, o);
		free(o);
	}
	va_start(ap, res);
	while ((w = va_arg(ap, const char *)))
		strv_push(&a, w);
	va_end(ap);
	memset(res, 0, sizeof(*res));
	r = exec_run(a.v, NULL, timeout_ms, res);
	strv_free(&a);
	return r;
}

static int systemctl_v(const char *root_dir, int offline, int timeout_ms, struct exec_result *res,
		       const char *verb, char *const *units, size_t n, const char *const *props)
{
	struct strv a = { 0 };
	size_t i;
	int r;

	strv_push(&a, systemctl_prog());
	if (offline) {
		char *o = xasprintf("--root=%s", *root_dir ? root_dir : "/");
		strv_push(&a, o);
		free(o);
	}
	strv_push(&a, verb);
	for (i = 0; props && props[i]; i++)
		strv_push(&a, props[i]);
	for (i = 0; i < n; i++)
		strv_push(&a, units[i]);
	memset(res, 0, sizeof(*res));
	r = exec_run(a.v, NULL, timeout_ms, res);
	strv_free(&a);
	return r;
}

/*
 * Value of "KEY=" in a block of `systemctl show` output ("" when absent).
 * systemd 219 has no `show --value`: its output is always NAME=value lines.
 */
char *services_show_value(const char *block, size_t len, const char *key)
{
	size_t kl = strlen(key);
	const char *p = block, *end = block + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
		if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, ll - kl - 1);
		if (!eol)
			break;
		p = eol + 1;
	}
	return xstrdup("");
}

/*
 * A SysV script wrapped by systemd-sysv-generator (Debian's saslauthd)
 * shows UnitFileState=generated; its enablement is its rc links, read the
 * way systemd-sysv-install is-enabled reads them: /etc/rc[S5].d/S??NAME.
 */
static int sysv_enabled(const struct root *root, const char *unit)
{
	char *name = xstrdup(unit), *dot = strrchr(name, '.'), *pat;
	glob_t g;
	int found;

	memset(&g, 0, sizeof(g));
	if (dot)
		*dot = 0;
	pat = xasprintf("%s/etc/rc[S5].d/S\?\?%s", root->dir, name);
	found = glob(pat, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
	globfree(&g);
	free(pat);
	free(name);
	return found;
}

/*
 * The state of every unit: ONE `systemctl show` call online; offline
 * `systemctl --root is-enabled` (one call, again after a unit it does not
 * know, since it stops there).
 */
static int read_states(const struct root *root, char *const *units, size_t n, struct unit_state **out,
		       char **why)
{
	static const char *const props[] = { "-p", "Id", "-p", "LoadState", "-p", "ActiveState",
					     "-p", "UnitFileState", NULL };
	struct unit_state *s = xcalloc(n ? n : 1, sizeof(*s));
	struct exec_result res = { 0 };
	size_t i, k = 0;
	int r = 0;

	for (i = 0; i < n; i++)
		s[i].unit = xstrdup(units[i]);
	if (online(root)) {
		const char *p, *end;
		r = systemctl_v(root->dir, 0, SYSTEMCTL_TIMEOUT_MS, &res, "show", units, n, props);
		if (r < 0 || res.exit_code != 0 || res.timed_out) {
			*why = xasprintf(_("`systemctl show` failed (exit %d): %s"), res.exit_code,
					 r < 0 ? strerror(-r) : res.out.data);
			r = r < 0 ? r : -EIO;
			goto out;
		}
		/* One block per unit, in argument order, separated by an empty line. */
		p = res.out.data;
		end = p + res.out.len;
		for (i = 0; i < n && p < end; i++) {
			const char *sep = strstr(p, "\n\n");
			size_t bl = sep ? (size_t)(sep - p) + 1 : (size_t)(end - p);
			s[i].load = services_show_value(p, bl, "LoadState");
			s[i].active = services_show_value(p, bl, "ActiveState");
			s[i].enabled = services_show_value(p, bl, "UnitFileState");
			if (strcmp(s[i].load, "not-found") == 0) {
				free(s[i].enabled);
				s[i].enabled = xstrdup("not-found");
			} else if (strcmp(s[i].enabled, "generated") == 0) {
				free(s[i].enabled);
				s[i].enabled = xstrdup(sysv_enabled(root, units[i]) ? "enabled" : "disabled");
			}
			p = sep ? sep + 2 : end;
		}
		if (i < n) {
			*why = xasprintf(_("`systemctl show` answered for %zu of %zu units: %s"), i, n, res.out.data);
			r = -EIO;
		}
		goto out;
	}
	while (k < n) {
		char *line, *save = NULL;
		size_t first = k;
		buf_free(&res.out);
		r = systemctl_v(root->dir, 1, SYSTEMCTL_TIMEOUT_MS, &res, "is-enabled", units + k, n - k, NULL);
		if (r < 0) {
			*why = xasprintf(_("cannot run systemctl: %s"), strerror(-r));
			goto out;
		}
		for (line = strtok_r(res.out.data, "\n", &save); line && k < n;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strstr(line, "Failed to get unit file state") || strstr(line, "No such file")) {
				s[k].enabled = xstrdup("not-found");
				s[k].load = xstrdup("not-found");
			} else if (!strchr(line, ' ')) {
				s[k].enabled = xstrdup(line);
				s[k].load = xstrdup("");
			} else {
				continue;
			}
			s[k].active = xstrdup("");
			k++;
		}
		if (k == first) {
			*why = xasprintf(_("`systemctl --root=%s is-enabled` failed (exit %d): %s"),
					 *root->dir ? root->dir : "/", res.exit_code, res.out.data);
			r = -EIO;
			goto out;
		}
	}
out:
	buf_free(&res.out);
	if (r < 0) {
		states_free(s, n);
		s = NULL;
	}
	*out = s;
	return r;
}

/* ---- the typed action "service" ---- */

/*
 * arg: "UNIT enable|- start|restart|-"; undo: "UNIT ENABLED-BEFORE
 * ACTIVE-BEFORE OFFLINE(0|1)".
 */
static int svc_prepare(struct ctx *c, const char *arg, char **undo_arg)
{
	char unit[256] = "", act[16] = "";
	struct unit_state *s = NULL;
	char *why = NULL, *u = unit;
	int r;

	if (sscanf(arg, "%255s %*s %15s", unit, act) != 2)
		return -EINVAL;
	r = read_states(c->root, &u, 1, &s, &why);
	if (r < 0) {
		stage_set_error(c, xasprintf("%s", why));
		free(why);
		return r;
	}
	*undo_arg = xasprintf("%s %s %s %d %d", unit, *s[0].enabled ? s[0].enabled : "-",
			      *s[0].active ? s[0].active : "-", !online(c->root), strcmp(act, "restart") == 0);
	states_free(s, 1);
	return 0;
}

static int svc_fail(struct ctx *c, const char *unit, const char *verb, struct exec_result *res, int r)
{
	struct exec_result st;
	stage_set_error(c, NULL);
	if (r < 0) {
		stage_set_error(c, xasprintf(_("cannot run `systemctl %s %s`: %s"), verb, unit, strerror(-r)));
		return r;
	}
	/* What systemd says about the unit is the useful part. */
	systemctl(c->root->dir, 0, SYSTEMCTL_TIMEOUT_MS, &st, "status", "--no-pager", "-n", "10", unit, NULL);
	stage_set_error(c, xasprintf(_("`systemctl %s %s` failed (exit %d): %s%s"), verb, unit, res->exit_code,
				  res->out.data ? res->out.data : "", st.out.data ? st.out.data : ""));
	buf_free(&st.out);
	return -EIO;
}

static int svc_apply(struct ctx *c, const char *arg)
{
	char unit[256] = "", en[16] = "", act[16] = "";
	struct exec_result res = { 0 };
	int off = !online(c->root), r = 0;

	if (sscanf(arg, "%255s %15s %15s", unit, en, act) != 3)
		return -EINVAL;
	if (strcmp(en, "enable") == 0) {
		r = systemctl(c->root->dir, off, SYSTEMCTL_TIMEOUT_MS, &res, "enable", unit, NULL);
		if (r < 0 || res.exit_code != 0 || res.timed_out) {
			r = svc_fail(c, unit, "enable", &res, r);
			goto out;
		}
		buf_free(&res.out);
	}
	if (strcmp(act, "-") != 0 && !off) {
		r = systemctl(c->root->dir, 0, START_TIMEOUT_MS, &res, act, unit, NULL);
		if (r < 0 || res.exit_code != 0 || res.timed_out) {
			r = svc_fail(c, unit, act, &res, r);
			goto out;
		}
		if (!is_restarted(unit))
			strv_push(&restarted, unit);
	}
out:
	buf_free(&res.out);
	return r;
}

/* Is the unit no longer known to systemd (LoadState=not-found)? */
static int unit_gone(const struct root *root, const char *unit)
{
	struct exec_result res = { 0 };
	char *load = NULL;
	int gone = 0;

	/* `show -p LoadState` prints "LoadState=not-found" (no --value before systemd 230). */
	if (systemctl(root->dir, 0, SYSTEMCTL_TIMEOUT_MS, &res, "show", "-p", "LoadState", unit, NULL) == 0 &&
	    res.exit_code == 0 && res.out.data) {
		load = services_show_value(res.out.data, res.out.len, "LoadState");
		gone = strcmp(load, "not-found") == 0;
	}
	free(load);
	buf_free(&res.out);
	return gone;
}

static int svc_undo(struct root *root, const char *undo_arg, char **why)
{
	char unit[256] = "", en[64] = "", act[64] = "";
	int off = 0, by_run = 0, r = 0, was_active;
	struct exec_result res = { 0 };

	/* The fifth field (restarted by the run) is absent in journals of older versions. */
	if (sscanf(undo_arg, "%255s %63s %63s %d %d", unit, en, act, &off, &by_run) < 4) {
		*why = xasprintf(_("unreadable service undo record \"%s\""), undo_arg);
		return -EINVAL;
	}
	if (!off && !online(root)) {
		*why = xasprintf(_("%s was changed on a running system, but no service manager runs now: stop "
				 "or disable it by hand if needed"), unit);
		return -EAGAIN;
	}
	was_active = strcmp(act, "active") == 0 || strcmp(act, "reloading") == 0;
	if (!off && unit_gone(root, unit))
		return 0;	/* its package was removed by this same rollback */
	if (!off && was_active && by_run) {
		/* Runs after every file is restored (undo_last): back on the old configuration. */
		r = systemctl(root->dir, 0, START_TIMEOUT_MS, &res, "restart", unit, NULL);
		if (r < 0 || res.exit_code != 0) {
			*why = xasprintf(_("`systemctl restart %s` on the restored configuration failed (exit %d): %s"),
					 unit, res.exit_code, r < 0 ? strerror(-r) : res.out.data);
			r = r < 0 ? r : -EIO;
		}
		goto out;
	}
	if (!off && !was_active) {
		r = systemctl(root->dir, 0, START_TIMEOUT_MS, &res, "stop", unit, NULL);
		if (r < 0 || res.exit_code != 0) {
			*why = xasprintf(_("`systemctl stop %s` failed (exit %d): %s"), unit, res.exit_code,
					 r < 0 ? strerror(-r) : res.out.data);
			r = r < 0 ? r : -EIO;
			goto out;
		}
		buf_free(&res.out);
		/* A unit that failed before is now simply stopped: clear a failure of this run. */
		systemctl(root->dir, 0, SYSTEMCTL_TIMEOUT_MS, &res, "reset-failed", unit, NULL);
		buf_free(&res.out);
	}
	if (!enabled_ok(en) && strcmp(en, "masked") != 0) {
		r = systemctl(root->dir, off, SYSTEMCTL_TIMEOUT_MS, &res, "disable", unit, NULL);
		if (r < 0 || res.exit_code != 0) {
			*why = xasprintf(_("`systemctl disable %s` failed (exit %d): %s"), unit, res.exit_code,
					 r < 0 ? strerror(-r) : res.out.data);
			r = r < 0 ? r : -EIO;
			goto out;
		}
	}
out:
	buf_free(&res.out);
	return r;
}

/* A systemd unit name (systemd.unit(5)): NAME.TYPE of [A-Za-z0-9:_.\\@-], never an option. */
static int unit_name_ok(const char *u)
{
	static const char *const types[] = { ".service", ".socket", ".target", ".timer", ".path", ".mount", NULL };
	size_t n = strlen(u), i;
	if (n == 0 || n > 255 || u[0] == '-' || u[0] == '.' ||
	    strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.\\@-") != n)
		return 0;
	for (i = 0; types[i]; i++)
		if (n > strlen(types[i]) && strcmp(u + n - strlen(types[i]), types[i]) == 0)
			return 1;
	return 0;
}

/* A state word as systemctl prints it (enabled, static, inactive, ...), or "-". */
static int state_word_ok(const char *w)
{
	return *w && strlen(w) <= 32 && strspn(w, "abcdefghijklmnopqrstuvwxyz-") == strlen(w);
}

/* The journal's undo string, strictly: "UNIT ENABLED ACTIVE OFFLINE(0|1) RESTARTED(0|1)". */
static int svc_undo_check(const struct root *root, const char *undo_arg, char **why)
{
	char unit[257] = "", en[34] = "", act[34] = "", off[3] = "", by[3] = "", *again;
	int n = sscanf(undo_arg, "%256s %33s %33s %2s %2s", unit, en, act, off, by);
	(void)root;
	again = xasprintf("%s %s %s %s %s", unit, en, act, off, by);
	if (n != 5 || strcmp(again, undo_arg) != 0 || !state_word_ok(en) || !state_word_ok(act) ||
	    (strcmp(off, "0") != 0 && strcmp(off, "1") != 0) || (strcmp(by, "0") != 0 && strcmp(by, "1") != 0))
		*why = xstrdup(_("a service undo is \"UNIT ENABLED ACTIVE 0|1 0|1\""));
	else if (!unit_name_ok(unit))
		*why = xasprintf(_("\"%s\" is not a systemd unit name"), unit);
	free(again);
	return *why ? -EINVAL : 0;
}

const struct action_type action_service = {
	.name = "service",
	.prepare = svc_prepare,
	.apply = svc_apply,
	.undo = svc_undo,
	.undo_check = svc_undo_check,
	.undo_last = 1,
};

/* ---- check ---- */

/* The file this run changed that belongs to the unit (handler), or NULL. */
static const char *changed_file_of(struct ctx *c, int which, char **buf)
{
	const struct profile *p = c->prof;
	char *cands[8] = { 0 };
	const char *hit = NULL;
	size_t i, n = 0;

	if (which == 0) {		/* SASL */
		cands[n++] = xstrdup(p->saslauthd_defaults);
	} else if (which == 1) {	/* opendkim */
		cands[n++] = xstrdup(p->opendkim_conf);
		cands[n++] = xasprintf("%s/", p->opendkim_dir);
		cands[n++] = xasprintf("%s/", p->opendkim_keydir);
	} else if (which == 3) {	/* the Ed25519 OpenDKIM (dkim_algorithms) */
		cands[n++] = xasprintf("%s/", p->opendkim_dir);
		cands[n++] = xstrdup("/etc/systemd/system/" OPENDKIM_ED25519_UNIT);
	} else {			/* postfix */
		cands[n++] = xasprintf("%s/", p->postfix_dir);
		cands[n++] = xstrdup(p->aliases);
		cands[n++] = xstrdup(p->sasl_smtpd_conf);
		cands[n++] = tls_cert_path(c->cfg, p);
		cands[n++] = tls_key_path(c->cfg, p);
	}
	for (i = 0; i < n && !hit; i++)
		if (cands[i] && stage_changed(c, cands[i]))
			hit = *buf = xstrdup(cands[i]);
	for (i = 0; i < n; i++)
		free(cands[i]);
	return hit;
}

static int check(struct ctx *c)
{
	const struct profile *p = c->prof;
	const char *svcs[4];
	char *units[4];
	struct unit_state *s = NULL;
	char *why = NULL;
	int off = !online(c->root), r;
	size_t i, nu = 3;

	svcs[0] = p->svc_sasl;
	svcs[1] = p->svc_opendkim;
	svcs[2] = p->svc_postfix;
	if (config_dkim_ed25519(c->cfg))
		svcs[nu++] = OPENDKIM_ED25519_UNIT;	/* steps/opendkim.c writes it */
	for (i = 0; i < nu; i++)
		units[i] = unit_name(svcs[i]);
	r = read_states(c->root, units, nu, &s, &why);
	if (r < 0) {
		r = r == -ENOENT ? stage_refuse(c, EXIT_UNAVAILABLE, _("%s (is systemd installed?)"), why)
				 : stage_fail(c, "%s", why);
		goto out;
	}
	for (i = 0; i < nu; i++) {
		const char *u = units[i];
		int missing = strcmp(s[i].enabled, "not-found") == 0;
		int en = !enabled_ok(s[i].enabled);
		char *file = NULL, *what = NULL, *arg;
		const char *act = "-";

		if (strcmp(s[i].enabled, "masked") == 0 || strcmp(s[i].load, "masked") == 0) {
			r = stage_fail(c, _("%s is masked, so mailstage cannot start it; run `systemctl "
				       "unmask %s` if it should run, then run again"), u, u);
			goto out;
		}
		if (!off && strcmp(s[i].active, "active") != 0 && strcmp(s[i].active, "reloading") != 0)
			act = "start";
		else if (!off && !is_restarted(u) && changed_file_of(c, (int)i, &file))
			act = "restart";
		if (!en && strcmp(act, "-") == 0)
			continue;
		if (missing)
			what = xasprintf(off ? _("enable %s (not installed yet)") : _("enable and start %s (not installed yet)"),
					 u);
		else if (strcmp(act, "restart") == 0)
			what = xasprintf(_("restart %s (this run changed %s)"), u, file);
		else if (en && strcmp(act, "start") == 0)
			what = xasprintf(_("enable and start %s (now %s, %s)"), u, s[i].enabled, s[i].active);
		else if (en)
			what = xasprintf(_("enable %s (now %s)"), u, s[i].enabled);
		else
			what = xasprintf(_("start %s (now %s)"), u, s[i].active);
		if (missing && !off)
			act = "start";
		arg = xasprintf("%s %s %s", u, en ? "enable" : "-", act);
		r = want_action(c, what, &action_service, arg);
		free(arg);
		free(what);
		free(file);
		if (r < 0)
			goto out;
	}
	if (off)
		stage_note(c, _("%s is not a running system: enablement is set offline (`systemctl --root`), but "
			   "%s, %s and %s cannot be started from here; they start at its next boot"),
			   *c->root->dir ? c->root->dir : _("this host"), units[0], units[1], units[2]);
out:
	states_free(s, nu);
	for (i = 0; i < nu; i++)
		free(units[i]);
	free(why);
	return r;
}

const struct stage stage_services = {
	.name = "services",
	.summary = N_("SASL service, opendkim and postfix enabled and running; restarted when their files changed"),
	.check = check,
};
STAGE_REGISTER(stage_services);
