/*
 * firewall.c - stage "firewall": open the configured firewalld services
 * (smtp, smtps, smtp-submission by default) in the default zone,
 * permanently and at runtime.
 *
 * Check asks firewalld once: the runtime services of the zone over D-Bus with
 * dbus-send (org.fedoraproject.FirewallD1.zone.getServices, the same call in
 * 0.6 and 1.x; no owner of the bus name = the daemon is stopped), or with
 * `firewall-cmd --zone=Z --list-services` (exit 252 NOT_RUNNING) where
 * dbus-send is missing.  firewall-cmd is a Python program: a call costs
 * ~0.3 s, too much for a no-op apply.  The permanent services are read from
 * the zone's file, which is what the permanent configuration is
 * (/etc/firewalld/zones/Z.xml, else /usr/lib/firewalld/zones/Z.xml;
 * <service name=.../> elements outside rich rules), with the daemon running
 * or stopped.  Each missing service is
 * one typed action "firewalld-service" whose argument says exactly what this
 * run adds ("ZONE SERVICE runtime permanent [offline]"); the undo removes only
 * those, so services that were open before (ssh, or smtp opened by hand) stay.
 *
 * Service names are checked against the service definitions firewalld loads
 * (/usr/lib/firewalld/services/NAME.xml, /etc/firewalld/services/NAME.xml)
 * without running anything, so preflight refuses an unknown name (exit 78)
 * before any stage changes the host.  A default service that only newer
 * firewalld defines gets its own message: smtp-submission (587) exists
 * since firewalld 0.4.4, so a CentOS 7 box never updated past 7.3 (0.4.3)
 * lacks it; the refusal names the missing definition and both fixes (`yum
 * update firewalld`, or open 587/tcp by hand and drop the name).  There is
 * deliberately no fallback to opening the port: the configuration names
 * services, checks and undo work on services, and a port opened beside a
 * service that a later firewalld update brings would stay behind.
 *
 * firewalld belongs to the running host: with --root other than "/" the
 * stage only reports.  The zone is DefaultZone= of firewalld.conf ("public").
 * The tls stage asks the same zone, with the same query (firewalld_query),
 * whether the ACME http-01 challenge needs port 80 opened (steps/tls.c).
 */
#include "i18n.h"
#include "steps.h"
#include "exec.h"
#include "exitcode.h"
#include "lazyse.h"	/* loads libselinux only where SELinux may be on */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
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

/* Services older firewalld lacks: the name, the version that added it, its port. */
static const struct {
	const char *name, *since, *port;
} late_services[] = {
	{ "smtp-submission", "0.4.4", "587/tcp" },	/* firewalld commit 069c5717 */
};

int firewall_services_known(struct ctx *c, char **why)
{
	size_t i;
	*why = NULL;
	if (!firewalld_installed(c))
		return 0;	/* nothing to check against; the firewall stage reports it */
	for (i = 0; i < c->cfg->firewall_services.n; i++) {
		const char *s = c->cfg->firewall_services.v[i];
		char *f = service_file(c, s), *best;
		const char *cf = c->cfg->path ? c->cfg->path : _("the configuration");
		size_t k;
		if (f) {
			free(f);
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(late_services); k++)
			if (strcmp(s, late_services[k].name) == 0) {
				*why = xasprintf(_("firewall_services: this firewalld has no service definition \"%s\" "
						   "(%s/%s.xml): firewalld has it since %s, and CentOS 7 before 7.4 ships "
						   "an older one; update it with `yum update firewalld` (after `mailstage "
						   "apply --only repos` when the CentOS mirrors no longer answer), or open "
						   "%s yourself (`firewall-cmd --permanent --add-port=%s; firewall-cmd "
						   "--reload`) and remove %s from firewall_services in %s"),
						 s, svc_dirs[1], s, late_services[k].since, late_services[k].port,
						 late_services[k].port, s, cf);
				return -EINVAL;
			}
		best = closest_service(c, s);
		if (best)
			*why = xasprintf(_("firewall_services: firewalld has no service \"%s\"; did you mean \"%s\"? "
					   "(its services are listed by `firewall-cmd --get-services`); fix %s"),
					 s, best, cf);
		else
			*why = xasprintf(_("firewall_services: firewalld has no service \"%s\" (its services are "
					   "listed by `firewall-cmd --get-services`); fix %s"), s, cf);
		free(best);
		return -EINVAL;
	}
	return 0;
}

/* DefaultZone= of firewalld.conf, or "public". */
char *firewalld_zone(struct ctx *c)
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

int firewalld_word_in(const char *list, const char *w)
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

int firewalld_port_in(const char *ports, unsigned port, const char *proto)
{
	const char *p = ports + strspn(ports, " ");
	while (*p) {
		size_t n = strcspn(p, " ");
		unsigned lo = 0, hi = 0;
		char pr[8] = "", *w = xstrndup(p, n);
		if (sscanf(w, "%u-%u/%7s", &lo, &hi, pr) != 3 && sscanf(w, "%u/%7s", &lo, pr) == 2)
			hi = lo;
		free(w);
		if (strcmp(pr, proto) == 0 && lo <= port && port <= hi)
			return 1;
		p += n;
		p += strspn(p, " ");
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

/* ---- may firewalld answer us (enforcing SELinux)? ---- */

long firewalld_pid(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	long found = 0;

	if (!proc)
		return 0;
	while (!found && (d = readdir(proc))) {
		char p[300], *comm = NULL;
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", d->d_name);
		if (read_whole_file(p, &comm, NULL) == 0 && strcmp(strip(comm), "firewalld") == 0)
			found = atol(d->d_name);
		free(comm);
	}
	closedir(proc);
	return found;
}

/*
 * Enforcing SELinux: may firewalld's domain send D-Bus messages (its
 * replies) to ours?  The kernel's answer (security_compute_av) for
 * firewalld's context, read from /proc/PID/attr/current, and this process's.
 * Debian's reference policy lets firewalld_t answer sysadm_t and a few
 * daemons only: neither a root login (unconfined_t) nor a service
 * (initrc_t), so every call of the firewall stage would wait out its
 * timeout for a reply (NoReply) after the other stages had changed the host.
 * 0 when it may, or when it cannot be told; -EACCES with the two domains.
 */
static int firewalld_answers_us(long pid, char **fw_con, char **our_con)
{
	char p[64], *fw = NULL, *ours = NULL;
	security_class_t cls;
	access_vector_t perm;
	struct av_decision avd;
	int r = 0;

	if (!lazy_selinux_enforcing())
		goto out;
	snprintf(p, sizeof(p), "/proc/%ld/attr/current", pid);
	if (read_whole_file(p, &fw, NULL) < 0 || getcon_raw(&ours) < 0)
		goto out;
	strip(fw);
	cls = string_to_security_class("dbus");
	perm = cls ? string_to_av_perm(cls, "send_msg") : 0;
	if (!cls || !perm || security_compute_av_raw(fw, ours, cls, perm, &avd) < 0)
		goto out;
	if (!(avd.allowed & perm)) {
		*fw_con = xstrdup(fw);
		*our_con = xstrdup(ours);
		r = -EACCES;
	}
out:
	free(fw);
	if (ours)
		freecon(ours);
	return r;
}

/*
 * The refusal (exit 78, before anything changed) when the firewalld running
 * here may not answer this process; 0 when it may, or none runs.  Preflight
 * and the firewall stage (for a run that skipped preflight) share it.
 */
int firewalld_unanswerable(struct ctx *c)
{
	char *fw = NULL, *ours = NULL;
	long pid;
	int r = 0;

	if (!lazy_selinux_enforcing())
		return 0;	/* before the walk of /proc: a converged run of the firewall stage pays nothing */
	pid = firewalld_pid();
	if (pid && firewalld_answers_us(pid, &fw, &ours) < 0)
		r = stage_refuse(c, EXIT_CONFIG, _("SELinux: firewalld (%s) may not answer this process (%s) on "
				 "D-Bus, so the firewall stage cannot open %s%s: the policy refuses the reply. Open the "
				 "services from a domain firewalld answers (Debian's reference policy: sysadm_t, a root "
				 "login in sysadm_r) and set firewall_services = (empty) in mailstage.conf, or load a "
				 "local policy module that lets firewalld send_msg to this domain"),
				 fw, ours, c->cfg->firewall_services.v[0], c->cfg->firewall_services.n > 1 ? " ..." : "");
	free(fw);
	free(ours);
	return r;
}

extern const struct action_type action_firewalld_service;

/*
 * One runtime list of ZONE (firewalld_query: "services" or "ports") into
 * *words (space-separated; ports as "80/tcp"), *running = 1; or *running = 0
 * when firewalld is not running.  One program: dbus-send (the reply waited
 * for reply_ms), or firewall-cmd without it.  -errno with *why when firewalld
 * does not answer or a program cannot run.
 */
int firewalld_query(const char *zone, const char *what, int reply_ms, int *running, char **words, char **why)
{
	int ports = strcmp(what, "ports") == 0;
	char *zs = xasprintf("string:%s", zone), *zarg = xasprintf("--zone=%s", zone);
	char *rt = xasprintf("--reply-timeout=%d", reply_ms), *list = xasprintf("--list-%s", what);
	char *method = xasprintf("org.fedoraproject.FirewallD1.zone.%s", ports ? "getPorts" : "getServices");
	char *ds[] = { "dbus-send", "--system", "--print-reply", rt, "--dest=org.fedoraproject.FirewallD1",
		       "/org/fedoraproject/FirewallD1", method, zs, NULL };
	char *fc[] = { "firewall-cmd", zarg, list, NULL };
	struct exec_result res = { 0 };
	struct buf b = { 0 };
	const char *out;
	int r;

	*running = 0;
	*words = NULL;
	*why = NULL;
	r = fw(ds, &res);
	if (r == 0) {
		const char *p;
		int n = 0;
		out = res.out.data ? res.out.data : "";
		if (res.exit_code == 0) {
			/* method return ...\n   array [\n      string "ssh"\n ...   ]
			 * (getPorts: array [ array [ string "80" string "tcp" ] ... ]) */
			for (p = out; (p = strstr(p, "string \"")); p += 8, n++)
				buf_printf(&b, "%s%.*s", !b.len ? "" : ports && n % 2 ? "/" : " ",
					   (int)strcspn(p + 8, "\""), p + 8);
			*running = 1;
		} else if (strstr(out, "org.freedesktop.DBus.Error.ServiceUnknown") ||
			   strstr(out, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
			   strstr(out, "Failed to open connection")) {
			/* nothing owns firewalld's bus name (or there is no system bus) */
		} else {
			char *s = strip(res.out.data ? res.out.data : "");
			*why = xasprintf(_("asking firewalld for the %s of zone %s failed (dbus-send exit %d): %s"),
					 what, zone, res.exit_code, s);
			r = -EIO;
		}
		goto out;
	}
	if (r != -ENOENT) {
		*why = xasprintf(_("cannot run dbus-send: %s"), strerror(-r));
		goto out;
	}
	buf_free(&res.out);
	r = fw(fc, &res);
	if (r < 0) {
		*why = xasprintf(_("cannot run firewall-cmd: %s"), strerror(-r));
	} else if (res.exit_code == 0) {
		*running = 1;
		buf_printf(&b, "%s", strip(res.out.data ? res.out.data : ""));
	} else if (res.exit_code != 252) {
		*why = xasprintf(_("`firewall-cmd %s %s` failed (exit %d): %s"), zarg, list, res.exit_code,
				 strip(res.out.data ? res.out.data : ""));
		r = -EIO;
	}
out:
	if (r == 0)
		*words = b.data ? buf_steal(&b) : xstrdup("");
	buf_free(&b);
	buf_free(&res.out);
	free(zs);
	free(zarg);
	free(rt);
	free(list);
	free(method);
	return r;
}

/* The <service name="..."/> elements of the zone file's top level (not those in <rule>s), as words. */
static int permanent_services(struct ctx *c, const char *zone, struct buf *words)
{
	static const char *const dirs[] = { "/etc/firewalld/zones", "/usr/lib/firewalld/zones" };
	char *xml = NULL, *path = NULL;
	const char *p, *e;
	size_t len, i;
	int r = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(dirs) && r == -ENOENT; i++) {
		free(path);
		path = xasprintf("%s/%s.xml", dirs[i], zone);
		r = read_target(c, path, &xml, &len);
	}
	if (r < 0) {
		r = stage_fail(c, _("cannot read the definition of firewalld zone %s (%s): %s; check DefaultZone= in "
			       "/etc/firewalld/firewalld.conf"), zone, r == -ENOENT ? "no /etc/firewalld/zones/ or "
			       "/usr/lib/firewalld/zones/ file" : path, strerror(-r));
		goto out;
	}
	for (p = xml; p && (p = strchr(p, '<'));) {
		if (str_starts_with(p, "<!--")) {
			p = strstr(p, "-->");
		} else if (str_starts_with(p, "<rule") && (p[5] == ' ' || p[5] == '>' || p[5] == '/')) {
			e = strchr(p, '>');
			p = e && e[-1] == '/' ? e : strstr(p, "</rule>");
		} else if (str_starts_with(p, "<service") && (p[8] == ' ' || p[8] == '\t' || p[8] == '\n')) {
			const char *n;
			e = strchr(p, '>');
			n = strstr(p, "name=");
			if (e && n && n < e && (n[5] == '"' || n[5] == '\'')) {
				char q[2] = { n[5], 0 };
				buf_printf(words, "%s%.*s", words->len ? " " : "", (int)strcspn(n + 6, q), n + 6);
			}
			p++;
		} else {
			p++;
		}
	}
	r = 0;
out:
	free(xml);
	free(path);
	return r;
}

static int check(struct ctx *c)
{
	const struct strv *want = &c->cfg->firewall_services;
	struct exec_result pm = { 0 };
	struct strv opened = { 0 };
	char *zone = NULL, *why = NULL, *rt = NULL;
	int r = 0, running, offline = 0;
	size_t i;

	if (want->n == 0)
		return 0;
	if (!c->root->is_host) {
		stage_note(c, _("--root is not /: the firewalld of this host is not touched"));
		return 0;
	}
	if (!firewalld_installed(c)) {
		stage_note(c, _("firewalld is not installed: nothing opened; open TCP ports for the services "
			   "%s%s in whatever filters this server"), want->v[0], want->n > 1 ? " ..." : "");
		return 0;
	}
	if ((r = firewall_services_known(c, &why)) < 0) {
		r = stage_refuse(c, EXIT_CONFIG, "%s", why);
		goto out;
	}
	/* preflight refuses this already; asked again for a run that skipped preflight (--only firewall) */
	if ((r = firewalld_unanswerable(c)) < 0)
		goto out;
	zone = firewalld_zone(c);
	if ((r = firewalld_query(zone, "services", 60000, &running, &rt, &why)) < 0) {
		r = stage_fail(c, "%s", why);
		goto out;
	}
	offline = !running;
	if ((r = permanent_services(c, zone, &pm.out)) < 0)
		goto out;
	for (i = 0; i < want->n; i++) {
		const char *s = want->v[i];
		int need_rt = running && !firewalld_word_in(rt, s);
		int need_pm = !firewalld_word_in(pm.out.data ? pm.out.data : "", s);
		char *arg, *what;
		const char *how;
		if (!need_rt && !need_pm)
			continue;
		arg = xasprintf("%s %s%s%s%s", zone, s, need_rt ? " runtime" : "", need_pm ? " permanent" : "",
				offline ? " offline" : "");
		if (need_rt && need_pm)
			how = offline ? _("runtime and permanent, firewalld stopped: firewall-offline-cmd")
				      : _("runtime and permanent");
		else if (need_rt)
			how = _("runtime");
		else
			how = offline ? _("permanent, firewalld stopped: firewall-offline-cmd") : _("permanent");
		what = xasprintf(_("open firewalld service %s in zone %s (%s)"), s, zone, how);
		r = want_action(c, what, &action_firewalld_service, arg);
		free(arg);
		free(what);
		if (r < 0)
			goto out;
		strv_push(&opened, s);
	}
	if (opened.n) {
		char *ports = service_ports(c, &opened);
		stage_note(c, _("if the Sakura VPS control-panel packet filter is on, open %s there too: it filters "
			   "outside this server and firewalld cannot change it"), *ports ? ports : _("these ports"));
		free(ports);
	}
out:
	free(rt);
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
			*why = xasprintf(_("cannot run `%s`: %s"), disp, strerror(-r));
		else
			*why = xasprintf(_("`%s` failed (exit %d%s): %s"), disp, res.exit_code,
					 res.exit_code == 252 ? _(", firewalld is not running") :
					 res.exit_code == 101 ? _(", unknown service") : "",
					 strip(res.out.data ? res.out.data : ""));
		free(disp);
	}
	buf_free(&res.out);
	return r < 0 ? r : -EIO;
}

int firewalld_runtime_service(const char *zone, const char *service, int add, unsigned timeout_s, char **why)
{
	char *z = xasprintf("--zone=%s", zone), *s = xasprintf("--%s-service=%s", add ? "add" : "remove", service);
	char *t = timeout_s ? xasprintf("--timeout=%u", timeout_s) : NULL;
	char *argv[] = { "firewall-cmd", z, s, t, NULL };
	int r = fw_do(argv, 1, why);
	free(z);
	free(s);
	free(t);
	return r;
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
		stage_fail(c, _("opening firewalld service %s: %s"), a.service, why);
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
		*why = xasprintf(_("bad undo record \"%s\""), undo);
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

/* A firewalld zone or service name: letters, digits, _ + . - and never an option. */
int firewalld_name_ok(const char *s)
{
	return *s && *s != '-' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-") ==
	    strlen(s);
}

/* The journal's undo string, strictly: "ZONE SERVICE" and runtime, permanent, offline. */
static int fw_undo_check(const struct root *root, const char *undo, char **why)
{
	struct fwarg a;
	(void)root;
	if (parse_arg(undo, &a) < 0 || (!a.runtime && !a.permanent)) {
		*why = xstrdup(_("a firewalld-service undo is \"ZONE SERVICE runtime|permanent [offline]\""));
		return -EINVAL;
	}
	if (!firewalld_name_ok(a.zone) || !firewalld_name_ok(a.service)) {
		*why = xasprintf(_("\"%s\" or \"%s\" is not a firewalld zone or service name"), a.zone, a.service);
		return -EINVAL;
	}
	return 0;
}

const struct action_type action_firewalld_service = {
	.name = "firewalld-service",
	.prepare = fw_prepare,
	.apply = fw_apply,
	.undo = fw_undo,
	.undo_check = fw_undo_check,
};

const struct stage stage_firewall = {
	.name = "firewall",
	.summary = N_("open the firewalld services (smtp, smtps, smtp-submission) in the default zone, "
		   "runtime and permanent; firewall-offline-cmd when firewalld is stopped"),
	.check = check,
};
STAGE_REGISTER(stage_firewall);
