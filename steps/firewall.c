/*
 * firewall.c - stage "firewall": open the configured firewalld services
 * (smtp, smtps, smtp-submission by default) in the default zone,
 * permanently and at runtime.
 *
 * Check asks firewalld once per configuration: `firewall-cmd --zone=Z
 * --list-services` (runtime; exit 252 NOT_RUNNING tells the daemon is
 * stopped) and `--permanent --list-services`, or, with the daemon stopped,
 * `firewall-offline-cmd --zone=Z --list-services`.  Each missing service is
 * one typed action "firewalld-service" whose argument says exactly what this
 * run adds ("ZONE SERVICE runtime permanent [offline]"); the undo removes only
 * those, so services that were open before (ssh, or smtp opened by hand) stay.
 *
 * Service names are checked against the service definitions firewalld loads
 * (/usr/lib/firewalld/services/NAME.xml, /etc/firewalld/services/NAME.xml)
 * without running anything, so preflight refuses an unknown name (exit 78)
 * before any stage changes the host.
 *
 * firewalld belongs to the running host: with --root other than "/" the
 * stage only reports.  The zone is DefaultZone= of firewalld.conf ("public").
 */
#include "steps.h"
#include "exec.h"
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FW_TIMEOUT_MS 120000

static const char *const svc_dirs[] = { "/etc/firewalld/services", "/usr/lib/firewalld/services" };

int firewalld_installed(struct ctx *c)
{
	return target_exists(c, "/usr/sbin/firewalld") || target_exists(c, "/usr/bin/firewall-cmd");
}

/* The service definition file of NAME, or NULL. */
static char *service_file(struct ctx *c, const char *name)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(svc_dirs); i++) {
		char *p = xasprintf("%s/%s.xml", svc_dirs[i], name);
		if (target_exists(c, p))
			return p;
		free(p);
	}
	return NULL;
}

/* The closest known service name, for did-you-mean; NULL when nothing is close. */
static char *closest_service(struct ctx *c, const char *name)
{
	char *best = NULL;
	size_t bd = 4, i;
	for (i = 0; i < ARRAY_SIZE(svc_dirs); i++) {
		char *host = NULL, *why = NULL;
		DIR *d;
		struct dirent *e;
		if (root_path(c->root, svc_dirs[i], &host, &why) == 0 && (d = opendir(host))) {
			while ((e = readdir(d))) {
				size_t l = strlen(e->d_name), dist;
				char *n;
				if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0)
					continue;
				n = xstrndup(e->d_name, l - 4);
				/* "submission" is a suffix of "smtp-submission": count that as close. */
				dist = l - 4 > strlen(name) && strcmp(n + l - 4 - strlen(name), name) == 0
					       ? 1 : levenshtein(name, n);
				if (dist < bd) {
					bd = dist;
					free(best);
					best = n;
				} else {
					free(n);
				}
			}
			closedir(d);
		}
		free(host);
		free(why);
	}
	return best;
}

int firewall_services_known(struct ctx *c, char **why)
{
	size_t i;
	*why = NULL;
	if (!firewalld_installed(c))
		return 0;	/* nothing to check against; the firewall stage reports it */
	for (i = 0; i < c->cfg->firewall_services.n; i++) {
		const char *s = c->cfg->firewall_services.v[i];
		char *f = service_file(c, s), *best;
		if (f) {
			free(f);
			continue;
		}
		best = closest_service(c, s);
		*why = xasprintf("firewall_services: firewalld has no service \"%s\"%s%s%s (its services are "
				 "listed by `firewall-cmd --get-services`); fix %s", s,
				 best ? "; did you mean \"" : "", best ? best : "", best ? "\"?" : "",
				 c->cfg->path ? c->cfg->path : "the configuration");
		free(best);
		return -EINVAL;
	}
	return 0;
}

/* DefaultZone= of firewalld.conf, or "public". */
static char *default_zone(struct ctx *c)
{
	char *text = NULL, *zone = NULL, *p;
	size_t len;
	if (read_target(c, "/etc/firewalld/firewalld.conf", &text, &len) == 0) {
		for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			if (str_starts_with(p, "DefaultZone=")) {
				char *eol = strchr(p, '\n');
				zone = xstrndup(p + 12, eol ? (size_t)(eol - p - 12) : strlen(p + 12));
				strip(zone);
				break;
			}
		}
	}
	free(text);
	if (!zone || !*zone) {
		free(zone);
		zone = xstrdup("public");
	}
	return zone;
}

static int word_in(const char *list, const char *w)
{
	size_t wl = strlen(w);
	const char *p = list;
	while ((p = strstr(p, w))) {
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[wl] == 0 || p[wl] == ' ' || p[wl] == '\n'))
			return 1;
		p += wl;
	}
	return 0;
}

/* Run a firewall tool; 0 with the exit code and output, -errno when it cannot run. */
static int fw(char *const argv[], struct exec_result *res)
{
	return exec_run(argv, NULL, FW_TIMEOUT_MS, res);
}

/* "Opened ports: tcp 25, tcp 465" from the service definitions. */
static char *service_ports(struct ctx *c, const struct strv *names)
{
	struct buf b = { 0 };
	size_t i;
	for (i = 0; i < names->n; i++) {
		char *f = service_file(c, names->v[i]), *xml = NULL, *p;
		size_t l;
		if (f && read_target(c, f, &xml, &l) == 0) {
			for (p = xml; (p = strstr(p, "<port ")); p++) {
				char *port = strstr(p, "port=\""), *proto = strstr(p, "protocol=\""), *end = strchr(p, '>');
				if (port && proto && end && port < end && proto < end)
					buf_printf(&b, "%s%.*s %.*s", b.len ? ", " : "",
						   (int)strcspn(proto + 10, "\""), proto + 10,
						   (int)strcspn(port + 6, "\""), port + 6);
			}
		}
		free(xml);
		free(f);
	}
	return buf_steal(&b);
}

extern const struct action_type action_firewalld_service;

static int check(struct ctx *c)
{
	const struct strv *want = &c->cfg->firewall_services;
	struct exec_result rt = { 0 }, pm = { 0 };
	struct strv opened = { 0 };
	char *zone = NULL, *why = NULL;
	int r = 0, running, offline = 0;
	size_t i;

	if (want->n == 0)
		return 0;
	if (!c->root->is_host) {
		stage_note(c, "--root is not /: the firewalld of this host is not touched");
		return 0;
	}
	if (!firewalld_installed(c)) {
		stage_note(c, "firewalld is not installed: nothing opened; open TCP ports for the services "
			   "%s%s in whatever filters this server", want->v[0], want->n > 1 ? " ..." : "");
		return 0;
	}
	if ((r = firewall_services_known(c, &why)) < 0) {
		r = stage_refuse(c, EXIT_CONFIG, "%s", why);
		goto out;
	}
	zone = default_zone(c);
	{
		char *zarg = xasprintf("--zone=%s", zone);
		char *lrt[] = { "firewall-cmd", zarg, "--list-services", NULL };
		char *lpm[] = { "firewall-cmd", "--permanent", zarg, "--list-services", NULL };
		char *loff[] = { "firewall-offline-cmd", zarg, "--list-services", NULL };
		r = fw(lrt, &rt);
		if (r == 0 && rt.exit_code == 0) {
			running = 1;
			r = fw(lpm, &pm);
		} else if (r == 0 && rt.exit_code == 252) {
			running = 0;
			offline = 1;
			r = fw(loff, &pm);
		} else {
			running = 0;
		}
		if (r < 0) {
			r = stage_fail(c, "cannot run %s: %s", r == -ENOENT ? "firewall-cmd" : "firewalld's tools",
				       strerror(-r));
		} else if (rt.exit_code != 0 && rt.exit_code != 252) {
			r = stage_fail(c, "`firewall-cmd %s --list-services` failed (exit %d): %s", zarg,
				       rt.exit_code, strip(rt.out.data ? rt.out.data : ""));
		} else if (pm.exit_code != 0) {
			r = stage_fail(c, "listing the permanent services of zone %s failed (exit %d): %s", zone,
				       pm.exit_code, strip(pm.out.data ? pm.out.data : ""));
		}
		free(zarg);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < want->n; i++) {
		const char *s = want->v[i];
		int need_rt = running && !word_in(rt.out.data ? rt.out.data : "", s);
		int need_pm = !word_in(pm.out.data ? pm.out.data : "", s);
		char *arg, *what;
		if (!need_rt && !need_pm)
			continue;
		arg = xasprintf("%s %s%s%s%s", zone, s, need_rt ? " runtime" : "", need_pm ? " permanent" : "",
				offline ? " offline" : "");
		what = xasprintf("open firewalld service %s in zone %s (%s%s%s)", s, zone,
				 need_rt ? "runtime" : "", need_rt && need_pm ? " and " : "",
				 need_pm ? (offline ? "permanent, firewalld stopped: firewall-offline-cmd" :
					    "permanent") : "");
		r = want_action(c, what, &action_firewalld_service, arg);
		free(arg);
		free(what);
		if (r < 0)
			goto out;
		strv_push(&opened, s);
	}
	if (opened.n) {
		char *ports = service_ports(c, &opened);
		stage_note(c, "if the Sakura VPS control-panel packet filter is on, open %s there too: it filters "
			   "outside this server and firewalld cannot change it", *ports ? ports : "these ports");
		free(ports);
	}
out:
	buf_free(&rt.out);
	buf_free(&pm.out);
	strv_free(&opened);
	free(zone);
	free(why);
	return r;
}

/* ---- the typed action: "ZONE SERVICE [runtime] [permanent] [offline]" ---- */

struct fwarg {
	char zone[128], service[128];
	int runtime, permanent, offline;
};

static int parse_arg(const char *arg, struct fwarg *a)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	int n = 0, r = 0;
	memset(a, 0, sizeof(*a));
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save), n++) {
		if (n == 0 && strlen(tok) < sizeof(a->zone))
			strcpy(a->zone, tok);
		else if (n == 1 && strlen(tok) < sizeof(a->service))
			strcpy(a->service, tok);
		else if (n >= 2 && strcmp(tok, "runtime") == 0)
			a->runtime = 1;
		else if (n >= 2 && strcmp(tok, "permanent") == 0)
			a->permanent = 1;
		else if (n >= 2 && strcmp(tok, "offline") == 0)
			a->offline = 1;
		else
			r = -EINVAL;
	}
	if (n < 2)
		r = -EINVAL;
	free(copy);
	return r;
}

/* Run one firewall command; 0, or -EIO with *why ("... exit 101: INVALID_SERVICE"). */
static int fw_do(char *const argv[], int ok_not_running, char **why)
{
	struct exec_result res = { 0 };
	int r = fw(argv, &res);
	if (r == 0 && (res.exit_code == 0 || (ok_not_running && res.exit_code == 252))) {
		buf_free(&res.out);
		return 0;
	}
	{
		char *disp = argv_display(argv);
		if (r < 0)
			*why = xasprintf("cannot run `%s`: %s", disp, strerror(-r));
		else
			*why = xasprintf("`%s` failed (exit %d%s): %s", disp, res.exit_code,
					 res.exit_code == 252 ? ", firewalld is not running" :
					 res.exit_code == 101 ? ", unknown service" : "",
					 strip(res.out.data ? res.out.data : ""));
		free(disp);
	}
	buf_free(&res.out);
	return r < 0 ? r : -EIO;
}

static int fw_prepare(struct ctx *c, const char *arg, char **undo)
{
	struct fwarg a;
	(void)c;
	if (parse_arg(arg, &a) < 0)
		return -EINVAL;
	/* The check just found these missing: undo removes exactly them. */
	*undo = xstrdup(arg);
	return 0;
}

static int fw_apply(struct ctx *c, const char *arg)
{
	struct fwarg a;
	char *z = NULL, *s = NULL, *why = NULL;
	int r = parse_arg(arg, &a);
	if (r < 0)
		return r;
	z = xasprintf("--zone=%s", a.zone);
	s = xasprintf("--add-service=%s", a.service);
	if (a.runtime) {
		char *argv[] = { "firewall-cmd", z, s, NULL };
		r = fw_do(argv, 0, &why);
	}
	if (r == 0 && a.permanent) {
		char *on[] = { "firewall-cmd", "--permanent", z, s, NULL };
		char *off[] = { "firewall-offline-cmd", z, s, NULL };
		r = fw_do(a.offline ? off : on, 0, &why);
	}
	if (r < 0)
		stage_fail(c, "opening firewalld service %s: %s", a.service, why);
	free(z);
	free(s);
	free(why);
	return r;
}

static int fw_undo(struct root *root, const char *undo, char **why)
{
	struct fwarg a;
	char *z = NULL, *s = NULL, *so = NULL;
	int r = parse_arg(undo, &a);
	(void)root;
	if (r < 0) {
		*why = xasprintf("bad undo record \"%s\"", undo);
		return r;
	}
	z = xasprintf("--zone=%s", a.zone);
	s = xasprintf("--remove-service=%s", a.service);
	/* firewall-offline-cmd takes --remove-service as a lokkit option that refuses --zone. */
	so = xasprintf("--remove-service-from-zone=%s", a.service);
	if (a.runtime) {
		/* A stopped daemon has no runtime state left to undo. */
		char *argv[] = { "firewall-cmd", z, s, NULL };
		r = fw_do(argv, 1, why);
	}
	if (r == 0 && a.permanent) {
		char *on[] = { "firewall-cmd", "--permanent", z, s, NULL };
		char *off[] = { "firewall-offline-cmd", z, so, NULL };
		struct exec_result res = { 0 };
		/* Whichever is right now: the daemon may have been started or stopped since. */
		int e = fw(on, &res);
		if (e == 0 && res.exit_code == 0) {
			r = 0;
		} else if ((e == 0 && res.exit_code == 252) || e == -ENOENT) {
			/* Offline, removing a service the zone does not have still writes
			 * /etc/firewalld/zones/ZONE.xml: only when the run really added it
			 * (its apply may have failed before the permanent step). */
			char *qs = xasprintf("--query-service=%s", a.service);
			char *q[] = { "firewall-offline-cmd", z, qs, NULL };
			struct exec_result qr = { 0 };
			if (fw(q, &qr) == 0 && qr.exit_code == 1)
				r = 0;
			else
				r = fw_do(off, 0, why);
			buf_free(&qr.out);
			free(qs);
		} else
			r = fw_do(on, 0, why);
		buf_free(&res.out);
	}
	free(z);
	free(s);
	free(so);
	return r;
}

const struct action_type action_firewalld_service = {
	.name = "firewalld-service",
	.prepare = fw_prepare,
	.apply = fw_apply,
	.undo = fw_undo,
};

const struct stage stage_firewall = {
	.name = "firewall",
	.summary = "open the firewalld services (smtp, smtps, smtp-submission) in the default zone, "
		   "runtime and permanent; firewall-offline-cmd when firewalld is stopped",
	.check = check,
};
