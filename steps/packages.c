/*
 * packages.c - stage "packages": the profile's packages installed with the
 * platform's package manager (apt-get, dnf, yum), non-interactively.
 *
 * Check: which packages are installed, for all of them at once, never
 * from the resolver: apt's from dpkg's database itself (the root's
 * /var/lib/dpkg/status and updates/, installer/dpkgstatus.h: no
 * subprocess), dnf's and yum's from ONE `rpm -q` call; the missing ones
 * become one typed action "packages".
 * A fresh host: apt's package lists may never have been fetched (or be
 * stale, so the mirror answers 404).  As Ansible's apt update_cache with
 * cache_valid_time, the lists are refreshed (`apt-get update`, then apt's
 * update stamp is touched) before the install when none exist or they are
 * older than APT_LISTS_MAX_AGE (their directory's or the stamp's mtime), and
 * once more when apt still reports an unknown package or a 404; all of that
 * in prepare(), before the simulation that decides the undo, so the undo
 * names exactly what the install adds.  The profile's debconf answers
 * (postfix: Internet Site, the hostname) are given first, so the install
 * asks nothing and does the same everywhere.  After the install every
 * wanted package is checked (EL7's yum exits 0 when a name does not exist;
 * it also gets --setopt=skip_missing_names_on_install=False).
 * Undo removes exactly what this run installed, never what was there:
 *   apt      prepare() asks apt for the transaction (`apt-get install -s`,
 *            only when something is missing) and journals every package it
 *            will newly install (dependencies included); undo purges those
 *            still installed.
 *   dnf/yum  prepare() journals the newest history transaction ID; undo
 *            runs `history undo` on the first transaction after it (the one
 *            this run made), so dnf removes exactly what it added.  It is
 *            simulated first (--assumeno): yum would also remove packages
 *            installed since that depend on ours, dnf refuses; either way
 *            the undo refuses, naming them, as the apt path does.
 * Alternate --root: rpm and dnf/yum act on it (`--root`, `--installroot`).
 * apt does not: dpkg --root / apt RootDir run maintainer scripts outside the
 * target, so installing into a root that is not "/" is refused clearly
 * (exit 69) and the user told how to do it; checking it works (dpkg's
 * database is read inside the root).
 */
#include "i18n.h"
#include "steps.h"
#include "dpkgstatus.h"
#include "exec.h"
#include "msg.h"
#include "exitcode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PKG_TIMEOUT_MS (30 * 60 * 1000)	/* a slow mirror may take long */
#define QUERY_TIMEOUT_MS 60000
#define APT_LISTS_MAX_AGE (24 * 3600)	/* older package lists are refreshed before an install */
#define APT_LISTS "/var/lib/apt/lists"
#define APT_STAMP "/var/lib/apt/periodic/update-success-stamp"

static const char *tool_name(enum pkg_tool t)
{
	switch (t) {
	case PKG_YUM: return "yum";
	case PKG_DNF: return "dnf";
	case PKG_APT: return "apt";
	}
	return "?";
}

static int tool_by_name(const char *s, enum pkg_tool *t)
{
	if (strcmp(s, "yum") == 0)
		*t = PKG_YUM;
	else if (strcmp(s, "dnf") == 0)
		*t = PKG_DNF;
	else if (strcmp(s, "apt") == 0)
		*t = PKG_APT;
	else
		return -EINVAL;
	return 0;
}

/* The program that installs: apt-get, dnf, yum. */
static const char *installer_prog(enum pkg_tool t)
{
	return t == PKG_APT ? "apt-get" : tool_name(t);
}

/* Split "a b c" into a strv. */
static void split_words(const char *s, struct strv *out)
{
	while (s && *s) {
		size_t n;
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n) {
			char *w = xstrndup(s, n);
			strv_push(out, w);
			free(w);
		}
		s += n;
	}
}

static char *join_words(char *const *v, size_t n, const char *sep)
{
	struct buf b = { 0 };
	size_t i;
	buf_puts(&b, "");
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? sep : "", v[i]);
	return buf_steal(&b);
}

/*
 * The argv prefix of the package manager acting on root_dir ("" = "/"):
 * yum/dnf get --installroot; apt gets the non-interactive environment.
 */
static void pm_argv(struct strv *a, enum pkg_tool t, const char *root_dir)
{
	if (t == PKG_APT) {
		strv_push(a, "env");
		strv_push(a, "DEBIAN_FRONTEND=noninteractive");
		strv_push(a, "apt-get");
		strv_push(a, "-q");
		strv_push(a, "-y");
		/* Keep the installed configuration files, never prompt about them. */
		strv_push(a, "-o");
		strv_push(a, "Dpkg::Options::=--force-confdef");
		strv_push(a, "-o");
		strv_push(a, "Dpkg::Options::=--force-confold");
		return;
	}
	strv_push(a, installer_prog(t));
	strv_push(a, "-y");
	if (*root_dir) {
		char *o = xasprintf("--installroot=%s", root_dir);
		strv_push(a, o);
		free(o);
	}
}

char **packages_command(enum pkg_tool t, const char *root_dir, const char *verb, const char *words)
{
	struct strv a = { 0 };
	pm_argv(&a, t, root_dir);
	/* EL7's yum skips a name it cannot find and exits 0 (skip_missing_names_on_install=True) */
	if (t == PKG_YUM && strcmp(verb, "install") == 0)
		strv_push(&a, "--setopt=skip_missing_names_on_install=False");
	split_words(verb, &a);
	split_words(words, &a);
	return a.v;
}

/* Take a NULL-terminated vector into an empty strv. */
static void adopt(struct strv *a, char **v)
{
	a->v = v;
	for (a->n = 0; v[a->n]; a->n++)
		;
	a->cap = a->n + 1;
}

/* Run argv; 0 when it ran, with the result; -errno when it could not start. */
static int run_argv(struct strv *a, int timeout_ms, struct exec_result *res)
{
	memset(res, 0, sizeof(*res));
	return exec_run(a->v, NULL, timeout_ms, res);
}

/* Strip trailing blanks and newlines of a line in place. */
static void chomp(char *s)
{
	size_t l = strlen(s);
	while (l && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
		s[--l] = 0;
}

static int in_strv(const struct strv *s, const char *w)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], w) == 0)
			return 1;
	return 0;
}

/* Does the root have an rpm database: EL7/8's, EL9's, or Debian rpm's default (test roots)? */
static int rpmdb_exists(const char *root_dir)
{
	static const char *const dbs[] = { "/var/lib/rpm", "/usr/lib/sysimage/rpm", "/root/.rpmdb", NULL };
	size_t i;
	for (i = 0; dbs[i]; i++) {
		char *p = xasprintf("%s%s", root_dir, dbs[i]);
		struct stat sb;
		int there = lstat(p, &sb) == 0;
		free(p);
		if (there)
			return 1;
	}
	return 0;
}

/*
 * Which of pkgs are installed in the root: apt's from dpkg's database (no
 * subprocess), dnf's and yum's with ONE rpm call.  Fills *installed with the
 * names found installed.  -ENOENT when rpm is missing (message in *why).
 */
static int query_installed(enum pkg_tool t, const struct root *root, char *const *pkgs, size_t n,
			   struct strv *installed, char **why)
{
	const char *root_dir = root->dir;
	struct strv a = { 0 };
	struct exec_result res;
	char *line, *save = NULL;
	size_t i, known = 0;
	int r;

	if (t == PKG_APT)
		return dpkg_installed(root, pkgs, n, installed, why);
	/*
	 * rpm --root on a root without an rpm database creates one (on Debian
	 * ROOT/root/.rpmdb, its default dbpath): plan must change nothing, and
	 * no database means nothing is installed.
	 */
	if (*root_dir && !rpmdb_exists(root_dir))
		return 0;
	strv_push(&a, "rpm");
	if (*root_dir) {
		strv_push(&a, "--root");
		strv_push(&a, root_dir);
	}
	strv_push(&a, "-q");
	strv_push(&a, "--qf");
	strv_push(&a, "%{NAME}\tinstalled\n");
	for (i = 0; i < n; i++)
		strv_push(&a, pkgs[i]);
	r = run_argv(&a, QUERY_TIMEOUT_MS, &res);
	if (r < 0) {
		*why = xasprintf(_("cannot run %s to see which packages are installed: %s"), a.v[0],
				 r == -ENOENT ? _("it is not installed") : strerror(-r));
		goto out;
	}
	if (res.timed_out) {
		*why = xasprintf(_("%s did not answer within %d s"), a.v[0], QUERY_TIMEOUT_MS / 1000);
		r = -ETIMEDOUT;
		goto out;
	}
	/* The lines say which are installed: "NAME\tinstalled" or "package NAME is not installed". */
	for (line = strtok_r(res.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *name;
		if (strstr(line, "is not installed"))
			known++;
		if (!tab)
			continue;
		known++;
		*tab = 0;
		name = line;
		chomp(tab + 1);
		if (strcmp(tab + 1, "installed") == 0 && !in_strv(installed, name))
			strv_push(installed, name);
	}
	/* A non-zero exit only says some are missing (rpm: how many), unless a name went unanswered. */
	if (res.exit_code != 0 && known < n) {
		*why = xasprintf(_("`%s` failed (exit %d): %s"), a.v[0], res.exit_code, res.out.data);
		r = -EIO;
	}
out:
	buf_free(&res.out);
	strv_free(&a);
	return r;
}

/* The wanted packages that are missing, as a space-separated list ("" when none). */
static int missing_packages(enum pkg_tool t, const struct root *root, char *const *pkgs, size_t n,
			    char **missing, char **why)
{
	struct strv inst = { 0 }, miss = { 0 };
	size_t i;
	int r = query_installed(t, root, pkgs, n, &inst, why);
	if (r == 0) {
		for (i = 0; i < n; i++)
			if (!in_strv(&inst, pkgs[i]))
				strv_push(&miss, pkgs[i]);
		*missing = join_words(miss.v, miss.n, " ");
	}
	strv_free(&inst);
	strv_free(&miss);
	return r;
}

int packages_installed(const struct profile *p, const struct root *root, const char *pkg)
{
	struct strv inst = { 0 };
	char *why = NULL, *one[] = { (char *)pkg, NULL };
	int r = query_installed(p->pkg_tool, root, one, 1, &inst, &why);
	if (r == 0)
		r = in_strv(&inst, pkg);
	strv_free(&inst);
	free(why);
	return r;
}

static size_t count_pkgs(const struct profile *p)
{
	size_t n = 0;
	while (p->packages[n])
		n++;
	return n;
}

/* ---- the typed action "packages": arg is the space-separated list to install ---- */

/* Table rows: "    12 | install -y postfix | 2024-05-01 10:00 | Install | 5" (dnf), "     3 | root <root> | ..." (yum). */
unsigned long packages_history_last(const char *text)
{
	const char *line = text;
	unsigned long last = 0;

	while (line && *line) {
		char *end;
		unsigned long id;
		while (*line == ' ')
			line++;
		id = strtoul(line, &end, 10);
		if (end != line && *line != '-' && *line != '+') {
			while (*end == ' ')
				end++;
			if (*end == '|' && id > last)
				last = id;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return last;
}

/* Newest history transaction ID of dnf/yum (0: none yet). */
static int history_last(enum pkg_tool t, const char *root_dir, unsigned long *last, char **why)
{
	struct strv a = { 0 };
	struct exec_result res;
	int r;

	pm_argv(&a, t, root_dir);
	strv_push(&a, "history");
	strv_push(&a, "list");
	r = run_argv(&a, QUERY_TIMEOUT_MS, &res);
	*last = 0;
	if (r < 0) {
		*why = xasprintf(_("cannot run %s: %s"), a.v[0], strerror(-r));
		goto out;
	}
	if (res.exit_code != 0) {
		*why = xasprintf(_("`%s history list` failed (exit %d): %s"), a.v[0], res.exit_code, res.out.data);
		r = -EIO;
		goto out;
	}
	*last = packages_history_last(res.out.data);
out:
	buf_free(&res.out);
	strv_free(&a);
	return r;
}

/* The tail of a long output: the end is where package managers say what went wrong. */
static const char *tail_of(const char *s, size_t max)
{
	size_t l = strlen(s);
	const char *p;
	if (l <= max)
		return s;
	p = s + l - max;
	while (*p && *p != '\n')
		p++;
	return *p ? p + 1 : s + l - max;
}

/* ---- apt's package lists ---- */

long packages_apt_lists_age(const char *root_dir, time_t now)
{
	char *dir = xasprintf("%s%s", root_dir, APT_LISTS), *stamp = xasprintf("%s%s", root_dir, APT_STAMP);
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat sb;
	time_t newest = 0;
	long age = -1;
	int any = 0;

	if (!d)
		goto out;
	while (!any && (e = readdir(d)) != NULL) {
		char *f;
		if (!strstr(e->d_name, "_Packages"))
			continue;	/* Release files, lock, partial/, auxfiles/ are not lists of packages */
		f = xasprintf("%s/%s", dir, e->d_name);
		any = stat(f, &sb) == 0 && S_ISREG(sb.st_mode);
		free(f);
	}
	closedir(d);
	if (!any)
		goto out;
	/*
	 * When were they fetched?  Not the lists' own mtimes: apt gives them
	 * the server's Last-Modified.  The directory's (a changed list is
	 * renamed into it) and apt's update stamp (apt's daily job writes it,
	 * and so does mailstage after each refresh, for an update that found
	 * nothing new), as Ansible's apt cache_valid_time reads them.
	 */
	if (stat(dir, &sb) == 0 && sb.st_mtime > newest)
		newest = sb.st_mtime;
	if (stat(stamp, &sb) == 0 && sb.st_mtime > newest)
		newest = sb.st_mtime;
	age = now > newest ? (long)(now - newest) : 0;
out:
	free(dir);
	free(stamp);
	return age;
}

/* apt's update stamp, now (its directory is apt's own: nothing when it does not exist). */
static void apt_stamp(const char *root_dir)
{
	char *stamp = xasprintf("%s%s", root_dir, APT_STAMP);
	int fd = open(stamp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	free(stamp);
}

/* Why the lists are refreshed before an install (malloc'd), or NULL when they are recent. */
static char *apt_refresh_reason(const char *root_dir)
{
	long age = packages_apt_lists_age(root_dir, time(NULL));
	if (age < 0)
		return xstrdup(_("there are none yet"));
	if (age > APT_LISTS_MAX_AGE)
		return xasprintf(_("they are %ld hours old"), age / 3600);
	return NULL;
}

/* Did apt say it does not know a package, or did the mirror answer 404 (a stale list)? */
static int apt_unknown_package(const char *out)
{
	return out && (strstr(out, "Unable to locate package") || strstr(out, "has no installation candidate"));
}
static int apt_not_found(const char *out)
{
	/* http: "404  Not Found"; a file: repository: "File not found - PATH" */
	return out && (strstr(out, "404  Not Found") || strstr(out, "404 Not Found") ||
		       strstr(out, "File not found - "));
}

/* `apt-get update`: 0, or -errno with the reason in *why. */
static int apt_refresh(const char *root_dir, const char *run_id, const char *stage, char **why)
{
	struct strv a = { 0 };
	struct exec_result res;
	int r;

	pm_argv(&a, PKG_APT, "");
	strv_push(&a, "update");
	msg_info(_("  refreshing the package lists (apt-get update)"));
	r = run_argv(&a, PKG_TIMEOUT_MS, &res);
	if (r < 0) {
		*why = xasprintf(_("cannot run `apt-get update`: %s"), strerror(-r));
		goto out;
	}
	msg_journal(res.exit_code ? LOG_ERR : LOG_INFO, run_id, stage, "packages", NULL,
		    "`apt-get update` exited %d: %s", res.exit_code, res.out.data ? res.out.data : "");
	if (res.timed_out || res.exit_code != 0) {
		*why = xasprintf(_("`apt-get update` %s (exit %d): the package lists cannot be refreshed; check "
				   "the sources in /etc/apt/sources.list and /etc/apt/sources.list.d and the "
				   "network, then run again; its output ends:\n%s"),
				 res.timed_out ? _("did not finish and was stopped") : _("failed"), res.exit_code,
				 tail_of(res.out.data ? res.out.data : "", 3000));
		r = -EIO;
	} else if (packages_apt_lists_age(root_dir, time(NULL)) < 0) {
		*why = xasprintf(_("`apt-get update` left no package lists: no source is configured in "
				   "/etc/apt/sources.list or /etc/apt/sources.list.d; add one and run again; "
				   "its output ends:\n%s"), tail_of(res.out.data ? res.out.data : "", 3000));
		r = -ENOENT;
	} else
		apt_stamp(root_dir);
out:
	buf_free(&res.out);
	strv_free(&a);
	return r;
}

/*
 * apt: the packages a simulated install would newly install ("Inst NAME
 * (VERSION ...)"; "Inst NAME [OLD] (NEW ...)" is an upgrade and not ours to
 * remove).  Falls back to the wanted list when apt cannot tell (apply will
 * then fail with apt's own message); *unknown: apt did not know a package.
 */
static char *apt_new_packages(const char *want, int *unknown)
{
	struct strv a = { 0 }, w = { 0 }, news = { 0 };
	struct exec_result res;
	char *line, *save = NULL, *out;
	size_t i;

	*unknown = 0;
	pm_argv(&a, PKG_APT, "");
	strv_push(&a, "install");
	strv_push(&a, "-s");
	split_words(want, &w);
	for (i = 0; i < w.n; i++)
		strv_push(&a, w.v[i]);
	if (run_argv(&a, PKG_TIMEOUT_MS, &res) == 0 && res.exit_code == 0) {
		for (line = strtok_r(res.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char name[256];
			if (strncmp(line, "Inst ", 5) != 0 || sscanf(line + 5, "%255s", name) != 1)
				continue;
			if (line[5 + strlen(name)] == ' ' && line[6 + strlen(name)] == '[')
				continue;
			if (!in_strv(&news, name))
				strv_push(&news, name);
		}
	} else
		*unknown = apt_unknown_package(res.out.data);
	/* Every wanted package belongs in the list, whatever the simulation said. */
	for (i = 0; i < w.n; i++)
		if (!in_strv(&news, w.v[i]))
			strv_push(&news, w.v[i]);
	out = join_words(news.v, news.n, " ");
	buf_free(&res.out);
	strv_free(&a);
	strv_free(&w);
	strv_free(&news);
	return out;
}

/*
 * Fetch the packages before anything is installed (`install
 * --download-only`), so a stale list shows here (404) while the undo can
 * still be made right.  1: the mirror answered 404; 0 otherwise (any other
 * failure is the install's to report, with apt's message).
 */
static int apt_download(const char *want)
{
	struct strv a = { 0 };
	struct exec_result res;
	int r = 0;

	pm_argv(&a, PKG_APT, "");
	strv_push(&a, "install");
	strv_push(&a, "--download-only");
	split_words(want, &a);
	if (run_argv(&a, PKG_TIMEOUT_MS, &res) == 0 && res.exit_code != 0)
		r = apt_not_found(res.out.data);
	buf_free(&res.out);
	strv_free(&a);
	return r;
}

/*
 * apt's prepare: refresh the lists when missing or stale, or (once) when apt
 * does not know a package or the mirror answers 404; then journal what the
 * install will newly install.
 */
static int apt_prepare(struct ctx *c, const char *arg, char **undo_arg)
{
	char *why = NULL, *news = NULL, *reason = apt_refresh_reason(c->root->dir);
	int refreshed = 0, unknown = 0, r = 0;

	if (reason) {
		if ((r = apt_refresh(c->root->dir, stage_run_id(c), c->stage, &why)) < 0)
			goto out;
		refreshed = 1;
	}
	news = apt_new_packages(arg, &unknown);
	if (unknown && !refreshed) {
		msg_info(_("  apt does not know every package: refreshing the package lists once"));
		if ((r = apt_refresh(c->root->dir, stage_run_id(c), c->stage, &why)) < 0)
			goto out;
		refreshed = 1;
		free(news);
		news = apt_new_packages(arg, &unknown);
	}
	if (!unknown && apt_download(arg) && !refreshed) {
		msg_info(_("  the mirror no longer has a package the lists name (404): refreshing the "
			   "package lists once"));
		if ((r = apt_refresh(c->root->dir, stage_run_id(c), c->stage, &why)) < 0)
			goto out;
		free(news);
		news = apt_new_packages(arg, &unknown);
		if (!unknown)
			apt_download(arg);
	}
	*undo_arg = xasprintf("apt %s", news);
out:
	if (r < 0) {
		stage_set_error(c, why);
		why = NULL;
	}
	free(why);
	free(news);
	free(reason);
	return r;
}

/* undo_arg: "apt NAME..." (purge those) or "dnf|yum after=ID" (history undo of the next one). */
static int pkg_prepare(struct ctx *c, const char *arg, char **undo_arg)
{
	enum pkg_tool t = c->prof->pkg_tool;
	char *why = NULL;
	unsigned long last = 0;
	int r;

	if (t == PKG_APT)
		return apt_prepare(c, arg, undo_arg);
	r = history_last(t, c->root->dir, &last, &why);
	if (r < 0) {
		stage_set_error(c, xasprintf("%s", why));
		free(why);
		return r;
	}
	*undo_arg = xasprintf("%s after=%lu", tool_name(t), last);
	return 0;
}

/* ---- debconf answers ---- */

char *packages_preseed_text(const struct profile *p, const char *hostname, const char *words)
{
	struct strv w = { 0 };
	struct buf b = { 0 };
	size_t i;

	buf_puts(&b, "");
	split_words(words, &w);
	for (i = 0; p->preseed && p->preseed[i].package; i++) {
		const struct pkg_preseed *q = &p->preseed[i];
		if (!in_strv(&w, q->package))
			continue;	/* installed already: its answers were given then */
		buf_printf(&b, "%s %s %s %s\n", q->package, q->question, q->type,
			   strcmp(q->value, PRESEED_HOSTNAME) == 0 ? hostname : q->value);
	}
	strv_free(&w);
	return buf_steal(&b);
}

/* debconf-set-selections with the profile's answers for the packages about to be installed. */
static int preseed(struct ctx *c, const char *arg)
{
	char *text = packages_preseed_text(c->prof, c->cfg->hostname, arg);
	char *argv[] = { "debconf-set-selections", NULL };
	struct exec_result res;
	int r = 0;

	memset(&res, 0, sizeof(res));
	if (!*text)
		goto out;
	r = exec_run(argv, text, QUERY_TIMEOUT_MS, &res);
	if (r < 0) {
		stage_set_error(c, xasprintf(_("cannot run debconf-set-selections to give the packages' debconf "
					    "answers: %s"), r == -ENOENT ? _("it is not installed") : strerror(-r)));
		goto out;
	}
	msg_journal(res.exit_code ? LOG_ERR : LOG_INFO, stage_run_id(c), c->stage, "packages", NULL,
		    "`debconf-set-selections` (%s) exited %d: %s", text, res.exit_code,
		    res.out.data ? res.out.data : "");
	if (res.timed_out || res.exit_code != 0) {
		stage_set_error(c, xasprintf(_("`debconf-set-selections` failed (exit %d) on the answers\n%s"
					    "its output: %s"), res.exit_code, text,
					  tail_of(res.out.data ? res.out.data : "", 2000)));
		r = -EIO;
	}
out:
	buf_free(&res.out);
	free(text);
	return r;
}

/*
 * After an install: success is what the package database says, not the exit
 * code (EL7's yum skips a name it does not find and exits 0).  0, or the
 * failure in the run's error (stage_set_error) naming the packages still missing.
 */
static int installed_all(struct ctx *c, const char *arg, const char *disp, const char *output)
{
	struct strv w = { 0 };
	char *missing = NULL, *why = NULL;
	int r;

	split_words(arg, &w);
	r = missing_packages(c->prof->pkg_tool, c->root, w.v, w.n, &missing, &why);
	if (r < 0) {
		stage_set_error(c, why);
		why = NULL;
		goto out;
	}
	if (*missing) {
		stage_set_error(c, xasprintf(_("`%s` exited 0, but %s still not installed: the enabled repositories "
					    "do not have them; enable the repository that has them (or correct "
					    "the name) and run again; its output ends:\n%s"), disp, missing,
					  tail_of(output, 3000)));
		r = -ENOENT;
	}
out:
	free(missing);
	free(why);
	strv_free(&w);
	return r;
}

static int pkg_apply(struct ctx *c, const char *arg)
{
	enum pkg_tool t = c->prof->pkg_tool;
	struct strv a = { 0 };
	struct exec_result res;
	char *disp = NULL;
	int r;

	stage_set_error(c, NULL);
	memset(&res, 0, sizeof(res));
	adopt(&a, packages_command(t, c->root->dir, "install", arg));
	disp = argv_display(a.v);
	if ((r = preseed(c, arg)) < 0)
		goto out;
	msg_info(_("  installing %s with %s (this can take minutes)"), arg, installer_prog(t));
	r = run_argv(&a, PKG_TIMEOUT_MS, &res);
	if (r < 0) {
		stage_set_error(c, xasprintf(_("cannot run `%s`: %s"), disp, strerror(-r)));
		goto out;
	}
	msg_journal(res.exit_code ? LOG_ERR : LOG_INFO, stage_run_id(c), c->stage, "packages", NULL,
		    "`%s` exited %d: %s", disp, res.exit_code, res.out.data ? res.out.data : "");
	if (res.timed_out || res.exit_code != 0) {
		stage_set_error(c, xasprintf(_("`%s` %s (exit %d); its output ends:\n%s"), disp,
					  res.timed_out ? _("did not finish and was stopped") : _("failed"),
					  res.exit_code, tail_of(res.out.data ? res.out.data : "", 3000)));
		r = -EIO;
		goto out;
	}
	r = installed_all(c, arg, disp, res.out.data ? res.out.data : "");
out:
	buf_free(&res.out);
	free(disp);
	strv_free(&a);
	return r;
}

static int undo_fail(char **why, int r, const char *fmt, ...) ATTR_PRINTF(3, 4);
static int undo_fail(char **why, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(*why);
	*why = xvasprintf(fmt, ap);
	va_end(ap);
	return r;
}

/* The undo refuses: removing ours would take `others` along (installed since, depending on ours). */
static int refuse_dependents(const struct strv *others, char **why)
{
	char *list = join_words(others->v, others->n, " ");
	int r = undo_fail(why, -EBUSY, _("removing the packages this run installed would also remove %s, "
			  "installed since and depending on them; they are kept: remove them yourself "
			  "if you want, then roll back again"), list);
	free(list);
	return r;
}

/* "name-[epoch:]version-release.arch" -> name (malloc'd). */
static char *nevra_name(const char *s, size_t n)
{
	size_t i, cut = n, seen = 0;
	for (i = n; i > 0; i--)
		if (s[i - 1] == '-' && ++seen == 2) {
			cut = i - 1;
			break;
		}
	return xstrndup(s, cut);
}

static void push_nevra(struct strv *out, const char *p)
{
	size_t n = strcspn(p, " \t,");
	char *name;
	if (!n)
		return;
	name = nevra_name(p, n);
	if (!in_strv(out, name))
		strv_push(out, name);
	free(name);
}

void packages_history_installed(const char *info, struct strv *out)
{
	const char *line = info;
	int in_pkgs = 0;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		char *l = xstrndup(line, eol ? (size_t)(eol - line) : strlen(line)), *tok, *save = NULL;
		chomp(l);
		if (l[0] && l[0] != ' ')
			in_pkgs = strncmp(l, "Packages Altered", 16) == 0;
		else if (in_pkgs) {
			/* "    Install aa-1.0-1.noarch @local", yum 3 "    Dep-Install NEVRA @repo" (flags may lead) */
			for (tok = strtok_r(l, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
				if (strcmp(tok, "Install") == 0 || strcmp(tok, "Dep-Install") == 0) {
					tok = strtok_r(NULL, " \t", &save);
					if (tok)
						push_nevra(out, tok);
					break;
				}
		}
		free(l);
		line = eol ? eol + 1 : NULL;
	}
}

void packages_undo_others(const char *text, const struct strv *ours, struct strv *out)
{
	const char *line = text;
	int in_rm = 0;

	while (line && *line) {
		const char *eol = strchr(line, '\n'), *p;
		char *l = xstrndup(line, eol ? (size_t)(eol - line) : strlen(line));
		struct strv found = { 0 };
		size_t ll, i;
		chomp(l);
		ll = strlen(l);
		if (ll && l[0] != ' ' && l[ll - 1] == ':')
			/* a section of the transaction table: "Removing:", dnf's "Removing dependent
			 * packages:" / "Removing unused dependencies:", yum 3's "Removing for dependencies:" */
			in_rm = strncmp(l, "Removing", 8) == 0;
		else if (!ll || l[0] != ' ')
			in_rm = 0;
		else if (in_rm && l[1] && l[1] != ' ') {
			/* " NAME  ARCH  VERSION  REPO  SIZE"; a wrapped row continues indented further */
			char *name = xstrndup(l + 1, strcspn(l + 1, " \t"));
			strv_push(&found, name);
			free(name);
		}
		/* dnf refuses instead: "problem with installed package NEVRA",
		 * "package NEVRA requires X, but none of the providers can be installed" */
		if ((p = strstr(l, "problem with installed package ")) != NULL)
			push_nevra(&found, p + strlen("problem with installed package "));
		else if ((p = strstr(l, "package ")) != NULL && strstr(p, " requires ") &&
			 strstr(p, "none of the providers can be installed"))
			push_nevra(&found, p + strlen("package "));
		for (i = 0; i < found.n; i++)
			if (!in_strv(ours, found.v[i]) && !in_strv(out, found.v[i]))
				strv_push(out, found.v[i]);
		strv_free(&found);
		free(l);
		line = eol ? eol + 1 : NULL;
	}
}

/* `yum|dnf [--installroot=R] history VERB ID [extra]`: its output (0), or -errno with *why. */
static int history_run(enum pkg_tool t, const char *root_dir, const char *verb, unsigned long id,
		       const char *extra, struct exec_result *res, char **why)
{
	struct strv a = { 0 };
	char *ids = xasprintf("%lu", id), *disp;
	int r;

	strv_push(&a, installer_prog(t));
	if (*root_dir) {
		char *o = xasprintf("--installroot=%s", root_dir);
		strv_push(&a, o);
		free(o);
	}
	strv_push(&a, "history");
	strv_push(&a, verb);
	strv_push(&a, ids);
	if (extra)
		strv_push(&a, extra);
	disp = argv_display(a.v);
	r = run_argv(&a, PKG_TIMEOUT_MS, res);
	if (r < 0)
		r = undo_fail(why, r, _("cannot run `%s`: %s"), disp, strerror(-r));
	else if (res->timed_out)
		r = undo_fail(why, -ETIMEDOUT, _("%s did not answer within %d s"), disp, PKG_TIMEOUT_MS / 1000);
	free(ids);
	free(disp);
	strv_free(&a);
	return r;
}

/*
 * Simulate `history undo ID` (--assumeno: shows the transaction, changes
 * nothing): anything it would remove that transaction ID did not install (a
 * package installed since that depends on ours: yum removes it too) or that
 * makes dnf refuse makes the undo refuse, naming them.
 */
static int history_undo_others(enum pkg_tool t, const char *root_dir, unsigned long id, char **why)
{
	struct strv ours = { 0 }, others = { 0 };
	struct exec_result res;
	int r;

	memset(&res, 0, sizeof(res));
	r = history_run(t, root_dir, "info", id, NULL, &res, why);
	if (r < 0)
		goto out;
	packages_history_installed(res.out.data ? res.out.data : "", &ours);
	buf_free(&res.out);
	r = history_run(t, root_dir, "undo", id, "--assumeno", &res, why);
	if (r < 0)
		goto out;
	packages_undo_others(res.out.data ? res.out.data : "", &ours, &others);
	if (others.n)
		r = refuse_dependents(&others, why);
out:
	buf_free(&res.out);
	strv_free(&ours);
	strv_free(&others);
	return r;
}

/*
 * Simulate the purge (argv a, before -s is added): anything apt would also
 * remove that is not ours (a package installed later that depends on ours)
 * makes the undo refuse, naming them.
 */
static int apt_purge_others(const struct strv *a, const struct strv *ours, char **why)
{
	struct strv sim = { 0 }, others = { 0 };
	struct exec_result res;
	char *line, *save = NULL;
	size_t i;
	int r;

	for (i = 0; i < a->n; i++) {
		strv_push(&sim, a->v[i]);
		if (strcmp(a->v[i], "purge") == 0)
			strv_push(&sim, "-s");
	}
	r = run_argv(&sim, PKG_TIMEOUT_MS, &res);
	if (r < 0 || res.exit_code != 0) {
		r = undo_fail(why, r < 0 ? r : -EIO, _("`apt-get purge -s` failed (exit %d): %s"), res.exit_code,
			      r < 0 ? strerror(-r) : tail_of(res.out.data ? res.out.data : "", 2000));
		goto out;
	}
	for (line = strtok_r(res.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		if ((strncmp(line, "Purg ", 5) != 0 && strncmp(line, "Remv ", 5) != 0) ||
		    sscanf(line + 5, "%255s", name) != 1)
			continue;
		if (strchr(name, ':'))
			*strchr(name, ':') = 0;
		if (!in_strv(ours, name) && !in_strv(&others, name))
			strv_push(&others, name);
	}
	if (others.n)
		r = refuse_dependents(&others, why);
out:
	buf_free(&res.out);
	strv_free(&sim);
	strv_free(&others);
	return r;
}

static int pkg_undo(struct root *root, const char *undo_arg, char **why)
{
	struct strv words = { 0 }, inst = { 0 }, a = { 0 };
	struct exec_result res = { 0 };
	enum pkg_tool t;
	char *disp = NULL;
	int r = 0;
	size_t i;

	split_words(undo_arg, &words);
	if (words.n == 0 || tool_by_name(words.v[0], &t) < 0) {
		r = undo_fail(why, -EINVAL, _("unreadable packages undo record \"%s\""), undo_arg);
		goto out;
	}
	if (t == PKG_APT) {
		/* Purge those of ours still installed (apply may have failed before any). */
		if (words.n < 2)
			goto out;
		r = query_installed(t, root, words.v + 1, words.n - 1, &inst, why);
		if (r < 0 || inst.n == 0)
			goto out;
		if (*root->dir) {
			r = undo_fail(why, -EOPNOTSUPP, _("apt cannot remove packages from --root %s: remove "
				      "them there yourself"), root->dir);
			goto out;
		}
		pm_argv(&a, t, "");
		strv_push(&a, "purge");
		for (i = 0; i < inst.n; i++)
			strv_push(&a, inst.v[i]);
		/* Never take along a package installed since, that depends on ours. */
		r = apt_purge_others(&a, &inst, why);
		if (r < 0)
			goto out;
	} else {
		unsigned long after = 0, last = 0, id;
		if (words.n < 2 || sscanf(words.v[1], "after=%lu", &after) != 1) {
			r = undo_fail(why, -EINVAL, _("unreadable packages undo record \"%s\""), undo_arg);
			goto out;
		}
		r = history_last(t, root->dir, &last, why);
		if (r < 0 || last <= after)
			goto out;	/* no transaction after ours: nothing was installed */
		/* Ours is the first transaction after the one recorded. */
		id = after + 1;
		/* Never take along a package installed since, that depends on ours. */
		r = history_undo_others(t, root->dir, id, why);
		if (r < 0)
			goto out;
		{
			char *ids = xasprintf("%lu", id);
			adopt(&a, packages_command(t, root->dir, "history undo", ids));
			free(ids);
		}
	}
	disp = argv_display(a.v);
	r = run_argv(&a, PKG_TIMEOUT_MS, &res);
	if (r < 0) {
		r = undo_fail(why, r, _("cannot run `%s`: %s"), disp, strerror(-r));
		goto out;
	}
	if (res.timed_out || res.exit_code != 0) {
		r = undo_fail(why, -EIO, _("`%s` failed (exit %d): %s"), disp, res.exit_code,
			      tail_of(res.out.data ? res.out.data : "", 2000));
		goto out;
	}
	msg_info(_("  removed the packages this run installed: `%s`"), disp);
out:
	buf_free(&res.out);
	free(disp);
	strv_free(&words);
	strv_free(&inst);
	strv_free(&a);
	return r;
}

/* A Debian package name ([a-z0-9][a-z0-9+.-]*, policy 5.6.1), optionally :ARCH: never an option. */
static int deb_name_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s), i;
	if (n == 0 || n > 128 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("+.-", s[i])))
			return 0;
	return !colon || (colon[1] && strlen(colon + 1) <= 32 &&
			  strspn(colon + 1, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(colon + 1));
}

/* The journal's undo string, strictly: "apt NAME..." or "dnf|yum after=ID" and nothing else. */
static int pkg_undo_check(const struct root *root, const char *undo_arg, char **why)
{
	struct strv words = { 0 };
	enum pkg_tool t;
	size_t i;
	int r = 0;
	(void)root;

	split_words(undo_arg, &words);
	if (words.n == 0 || tool_by_name(words.v[0], &t) < 0) {
		*why = xasprintf(_("\"%s\" is not apt, dnf or yum"), words.n ? words.v[0] : "");
		r = -EINVAL;
	} else if (t == PKG_APT) {
		for (i = 1; i < words.n && r == 0; i++)
			if (!deb_name_ok(words.v[i])) {
				*why = xasprintf(_("\"%s\" is not a package name"), words.v[i]);
				r = -EINVAL;
			}
	} else if (words.n != 2 || strncmp(words.v[1], "after=", 6) != 0 ||
		   strspn(words.v[1] + 6, "0123456789") != strlen(words.v[1] + 6) || !words.v[1][6] ||
		   strlen(words.v[1] + 6) > 18 || (words.v[1][6] == '0' && words.v[1][7])) {
		*why = xasprintf(_("a %s undo is \"after=ID\", one transaction number"), words.v[0]);
		r = -EINVAL;
	}
	strv_free(&words);
	return r;
}

const struct action_type action_packages = {
	.name = "packages",
	.prepare = pkg_prepare,
	.apply = pkg_apply,
	.undo = pkg_undo,
	.undo_check = pkg_undo_check,
};

/* ---- check ---- */

static int check(struct ctx *c)
{
	const struct profile *p = c->prof;
	size_t n = count_pkgs(p);
	char *missing = NULL, *why = NULL, *what = NULL, *reason = NULL;
	int r;

	if (n == 0)
		return 0;
	r = missing_packages(p->pkg_tool, c->root, (char *const *)p->packages, n, &missing, &why);
	if (r < 0) {
		r = r == -ENOENT ? stage_refuse(c, EXIT_UNAVAILABLE, "%s", why)
				 : stage_fail(c, "%s", why);
		goto out;
	}
	if (!*missing)
		goto out;
	if (!exec_exists(installer_prog(p->pkg_tool))) {
		r = stage_refuse(c, EXIT_UNAVAILABLE, _("%s not installed and %s is missing: this "
				 "host has no %s package manager; install them by hand, then run again"),
				 missing, installer_prog(p->pkg_tool), p->description);
		goto out;
	}
	if (p->pkg_tool == PKG_APT && *c->root->dir) {
		r = stage_refuse(c, EXIT_UNAVAILABLE, _("%s not installed in --root %s, and apt cannot "
				 "install into another root (maintainer scripts would run on this host): run "
				 "mailstage inside the target (chroot or systemd-nspawn), or install them there "
				 "and run again"), missing, c->root->dir);
		goto out;
	}
	if (*c->root->dir)
		what = xasprintf(_("install %s with %s --installroot=%s"), missing, installer_prog(p->pkg_tool),
				 c->root->dir);
	else if (p->pkg_tool == PKG_APT && (reason = apt_refresh_reason(c->root->dir)) != NULL)
		what = xasprintf(_("install %s with apt-get, after refreshing the package lists (%s)"), missing,
				 reason);
	else
		what = xasprintf(_("install %s with %s"), missing, installer_prog(p->pkg_tool));
	r = want_action(c, what, &action_packages, missing);
out:
	free(missing);
	free(why);
	free(what);
	free(reason);
	return r;
}

const struct stage stage_packages = {
	.name = "packages",
	.summary = N_("the profile's packages (postfix, opendkim, SASL, mail client), installed with apt/dnf/yum"),
	.check = check,
};
STAGE_REGISTER(stage_packages);
