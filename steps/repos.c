/*
 * repos.c - stage "repos": package repositories that can actually install
 * the mail packages.
 *
 * EL7 (profile repo_eol_file): CentOS 7 is past its end of life and
 * mirrorlist.centos.org is gone, so a fresh box cannot install anything.
 * The enabled repositories of CentOS-Base.repo are probed with libcurl
 * (their repodata/repomd.xml, through the mirror list when there is one;
 * bounded timeouts); when one is unreachable the file is rewritten to the
 * vault (https://vault.centos.org/7.9.2009/{os,updates,extras}/$basearch/,
 * or .../altarch/7.9.2009/... when the target is not x86_64: mirrorlist=
 * lines commented out, baseurl= set).  A file already moved to the vault is
 * not probed again.  https: plain http answers with a 301 to https at times,
 * and EL7's yum fails on it ("HTTPS Error 301"), so the probe does not follow
 * an http URL to https either: such a repository (an http vault) counts as
 * unreachable and is moved to the https vault.
 * EPEL 7 moved to the Fedora archive whatever CentOS-Base does: epel.repo
 * is checked on its own, every time.  Its [epel], [epel-debuginfo] and
 * [epel-source] sections that still use a metalink/mirror list or the old
 * /pub/epel/7 tree (the stock file of epel-release) are moved to
 * /pub/archive/epel/7/{$basearch,$basearch/debug,SRPMS}; a section with a
 * baseurl elsewhere (a local mirror) is left alone; a missing epel.repo is
 * written (epel-release installed later keeps it and leaves .rpmnew).
 * The target's architecture ($basearch) is read from the ELF header of its
 * own programs (/usr/bin/rpm, else /usr/bin/bash: the same on the host and
 * on a --root target, whatever the profile), else this machine's uname.
 * EL8/EL9 (epel_metalink): an enabled [epel] repository is wanted (epel.repo
 * written when none is found); EL9 also wants the [crb] repository enabled
 * (opendkim's dependencies), by editing its enabled= line as
 * `dnf config-manager --set-enabled crb` would.
 * Every change is a want_file: the originals go to the run's backup archive
 * and come back byte-identical on rollback.  Debian: nothing.
 */
#include "i18n.h"
#include "steps.h"

#include "lazylib.h"
#include "exitcode.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PROBE_CONNECT_S 5L
#define PROBE_TOTAL_S 15L
#define PROBE_MAX_BODY (1024 * 1024)

/* ---- .repo text editing ---- */

struct repo_edit {
	const char *section;	/* [name] */
	const char *key;	/* set key=value in it (replacing key= or a commented #key=) */
	const char *value;
};

static int line_is_key(const char *line, size_t len, const char *key, int commented)
{
	size_t kl = strlen(key), i = 0;
	if (commented) {
		if (len == 0 || line[0] != '#')
			return 0;
		i = 1;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < kl || strncmp(line + i, key, kl) != 0)
		return 0;
	i += kl;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == '=';
}

/* The [section] a line opens, or NULL. */
static char *line_section(const char *line, size_t len)
{
	const char *end;
	if (len < 3 || line[0] != '[')
		return NULL;
	end = memchr(line, ']', len);
	return end ? xstrndup(line + 1, (size_t)(end - line - 1)) : NULL;
}

/*
 * Apply edits to a .repo text: in each edited section, key= (or, when there
 * is none, the first #key=) becomes key=value, and the keys in `comment`
 * (mirrorlist, metalink) are commented out; a section without the key gets
 * it after its last line.  Idempotent.
 */
static char *repo_rewrite(const char *text, const struct repo_edit *edits, size_t n, const char *const *comment)
{
	struct buf out = { 0 };
	const char *p = text;
	char *sect = NULL;
	const struct repo_edit *cur = NULL;
	int done = 0;
	size_t pending_blank = 0;

	for (;;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *ns = line_section(p, len);
		size_t i;
		int handled = 0;

		if (ns || !*p) {
			/* Section end: add the key when the section had none. */
			if (cur && !done)
				buf_printf(&out, "%s=%s\n", cur->key, cur->value);
			for (; pending_blank; pending_blank--)
				buf_puts(&out, "\n");
			if (!*p) {
				free(ns);
				break;
			}
			free(sect);
			sect = ns;
			cur = NULL;
			done = 0;
			for (i = 0; i < n; i++)
				if (strcmp(edits[i].section, sect) == 0)
					cur = &edits[i];
		}
		if (len == 0 && eol) {
			pending_blank++;
			p = eol + 1;
			continue;
		}
		for (; pending_blank; pending_blank--)
			buf_puts(&out, "\n");
		if (cur && !ns) {
			int plain = line_is_key(p, len, cur->key, 0);
			if (!done && (plain || line_is_key(p, len, cur->key, 1))) {
				/* The first key= or #key= line becomes key=value ... */
				buf_printf(&out, "%s=%s\n", cur->key, cur->value);
				done = 1;
				handled = 1;
			} else if (plain) {
				handled = 1;	/* ... and later key= lines go */
			}
			for (i = 0; !handled && comment && comment[i]; i++)
				if (line_is_key(p, len, comment[i], 0)) {
					buf_printf(&out, "#%.*s\n", (int)len, p);
					handled = 1;
				}
		}
		if (!handled) {
			buf_append(&out, p, len);
			buf_puts(&out, "\n");
		}
		if (!eol)
			p += len;
		else
			p = eol + 1;
		if (!eol && !*p) {
			if (cur && !done)
				buf_printf(&out, "%s=%s\n", cur->key, cur->value);
			break;
		}
	}
	free(sect);
	return buf_steal(&out);
}

/* ---- probing with libcurl (7.29-compatible options only) ---- */

static size_t collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	if (b->len + n > PROBE_MAX_BODY)
		return 0;	/* too big for a repomd.xml or a mirror list: abort */
	buf_append(b, ptr, n);
	return n;
}

/* GET url: 0 and the body, or -EHOSTUNREACH with *why. */
static int fetch(const char *url, struct buf *body, char **why)
{
	char err[CURL_ERROR_SIZE] = "";
	CURL *h = curl_easy_init();
	CURLcode rc;
	if (!h) {
		*why = xstrdup("curl_easy_init failed");
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, PROBE_CONNECT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, PROBE_TOTAL_S);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	/* An http URL that redirects to https fails as it does for EL7's yum ("HTTPS Error 301"). */
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85 deprecates the bitmask option for its _STR form */
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, str_starts_with(url, "https://") ? "https" : "http,ftp");
#else
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, str_starts_with(url, "https://") ? (long)CURLPROTO_HTTPS
										      : (long)(CURLPROTO_HTTP | CURLPROTO_FTP));
#endif
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mailstage/" MAILSTAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (rc == CURLE_UNSUPPORTED_PROTOCOL && str_starts_with(url, "http://")) {
		*why = xasprintf(_("%s redirects to https, which EL7's yum does not follow (\"HTTPS Error 301\")"), url);
		return -EHOSTUNREACH;
	}
	if (rc != CURLE_OK) {
		*why = xasprintf("%s: %s", url, err[0] ? err : curl_easy_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

/*
 * yum's $basearch of an ELF header (the first 20 bytes at least), or NULL:
 * e_machine (offset 18, in the file's byte order) and, for POWER, the byte
 * order (ppc64 / ppc64le).
 */
const char *repos_elf_basearch(const unsigned char *h, size_t len)
{
	unsigned m;
	if (len < 20 || memcmp(h, "\177ELF", 4) != 0 || (h[5] != 1 && h[5] != 2))
		return NULL;
	m = h[5] == 1 ? (unsigned)h[18] | (unsigned)h[19] << 8 : (unsigned)h[19] | (unsigned)h[18] << 8;
	switch (m) {
	case 62: return "x86_64";		/* EM_X86_64 */
	case 3: return "i386";			/* EM_386 (i686 userland) */
	case 183: return "aarch64";		/* EM_AARCH64 */
	case 21: return h[5] == 1 ? "ppc64le" : "ppc64";	/* EM_PPC64 */
	case 40: return "armhfp";		/* EM_ARM */
	case 22: return "s390x";		/* EM_S390 */
	default: return NULL;
	}
}

/* $basearch of the target: its own programs say what it runs; else this machine's uname. */
static char *target_basearch(struct ctx *c)
{
	static const char *const progs[] = { "/usr/bin/rpm", "/usr/bin/bash" };
	struct utsname u;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(progs); i++) {
		unsigned char h[64];
		char *host = NULL, *why = NULL;
		const char *a = NULL;
		ssize_t n = -1;
		int fd = -1;
		if (root_path(c->root, progs[i], &host, &why) == 0)
			fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, h, sizeof(h));
			close(fd);
		}
		if (n > 0)
			a = repos_elf_basearch(h, (size_t)n);
		free(host);
		free(why);
		if (a)
			return xstrdup(a);
	}
	if (uname(&u) == 0)
		return xstrdup(strcmp(u.machine, "i686") == 0 ? "i386" : u.machine);
	return xstrdup("x86_64");
}

/* Replace yum variables in a URL. */
static char *expand_vars(const char *s, const char *releasever, const char *basearch)
{
	struct { const char *var, *val; } vars[] = {
		{ "$releasever", releasever }, { "$basearch", basearch }, { "$arch", basearch },
		/* CentOS 7 keeps x86_64 under centos/, every other architecture under altarch/ */
		{ "$infra", "stock" }, { "$contentdir", strcmp(basearch, "x86_64") == 0 ? "centos" : "altarch" },
	};
	struct buf b = { 0 };
	while (*s) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(vars); i++)
			if (str_starts_with(s, vars[i].var))
				break;
		if (i < ARRAY_SIZE(vars)) {
			buf_puts(&b, vars[i].val);
			s += strlen(vars[i].var);
		} else {
			buf_append(&b, s++, 1);
		}
	}
	return buf_steal(&b);
}

/* The repomd.xml of a repository base URL is there and looks like one. */
static int probe_base(const char *base, char **why)
{
	struct buf body = { 0 };
	char *url = xasprintf("%s%srepodata/repomd.xml", base, base[strlen(base) - 1] == '/' ? "" : "/");
	int r = fetch(url, &body, why);
	if (r == 0 && !strstr(body.data ? body.data : "", "<repomd")) {
		*why = xasprintf(_("%s is not a repomd.xml"), url);
		r = -EHOSTUNREACH;
	}
	buf_free(&body);
	free(url);
	return r;
}

/* First URL of a mirror list (one per line, # comments), probed. */
static int probe_mirrorlist(const char *ml, char **why)
{
	struct buf body = { 0 };
	int r = fetch(ml, &body, why);
	if (r == 0) {
		char *save = NULL, *line;
		r = -EHOSTUNREACH;
		for (line = strtok_r(body.data ? body.data : "", "\r\n", &save); line;
		     line = strtok_r(NULL, "\r\n", &save)) {
			line = strip(line);
			if (str_starts_with(line, "http://") || str_starts_with(line, "https://") ||
			    str_starts_with(line, "ftp://")) {
				r = probe_base(line, why);
				break;
			}
		}
		if (r < 0 && !*why)
			*why = xasprintf(_("the mirror list %s lists no mirror"), ml);
	}
	buf_free(&body);
	return r;
}

/* Value of key= in the lines of one section (first), or NULL. */
static char *section_value(const char *text, const char *section, const char *key)
{
	const char *p = text;
	char *cur = NULL, *val = NULL;
	while (p && *p && !val) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *ns = line_section(p, len);
		if (ns) {
			free(cur);
			cur = ns;
		} else if (cur && strcmp(cur, section) == 0 && line_is_key(p, len, key, 0)) {
			const char *eq = memchr(p, '=', len);
			val = xstrndup(eq + 1, len - (size_t)(eq + 1 - p));
			strip(val);
		}
		p = eol ? eol + 1 : NULL;
	}
	free(cur);
	return val;
}

/* Sections of a .repo text, in order. */
static void sections(const char *text, struct strv *out)
{
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *s = line_section(p, len);
		if (s)
			strv_push(out, s);
		free(s);
		p = eol ? eol + 1 : NULL;
	}
}

static int enabled(const char *text, const char *section)
{
	char *v = section_value(text, section, "enabled");
	int e = !v || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0;
	free(v);
	return e;
}

/* Probe every enabled repository of a .repo text: 0 when all answer, else -EHOSTUNREACH and *why. */
static int repos_probe(const char *text, const char *releasever, const char *basearch, char **why)
{
	struct strv sv = { 0 };
	size_t i;
	int r = 0;

	*why = NULL;
	sections(text, &sv);
	for (i = 0; i < sv.n && r == 0; i++) {
		char *base, *ml, *url;
		if (!enabled(text, sv.v[i]))
			continue;
		base = section_value(text, sv.v[i], "baseurl");
		ml = section_value(text, sv.v[i], "mirrorlist");
		if (!ml)
			ml = section_value(text, sv.v[i], "metalink");
		if (base && *base) {
			base[strcspn(base, " \t,")] = 0;	/* the first of several URLs */
			url = expand_vars(base, releasever, basearch);
			r = probe_base(url, why);
		} else if (ml && *ml) {
			url = expand_vars(ml, releasever, basearch);
			r = probe_mirrorlist(url, why);
		} else {
			url = NULL;
		}
		free(url);
		free(base);
		free(ml);
		if (r < 0) {
			char *w = xasprintf("[%s] %s", sv.v[i], *why);
			free(*why);
			*why = w;
		}
	}
	strv_free(&sv);
	return r;
}

/* ---- the stage ---- */

static const char *const comment_keys[] = { "mirrorlist", "metalink", NULL };

static int has_section(const char *text, const char *section)
{
	struct strv sv = { 0 };
	size_t i;
	int found = 0;
	sections(text, &sv);
	for (i = 0; i < sv.n; i++)
		found |= strcmp(sv.v[i], section) == 0;
	strv_free(&sv);
	return found;
}

/* Does this section of epel.repo still point where EPEL 7 no longer is? */
static int epel_section_stale(const char *text, const char *section)
{
	char *base = section_value(text, section, "baseurl"), *ml = section_value(text, section, "metalink");
	int stale;
	if (!ml)
		ml = section_value(text, section, "mirrorlist");
	/* metalink/mirror list (the stock file), no source at all, or the old tree;
	 * /pub/archive/epel/ is not /pub/epel/, and a mirror of one's own is kept. */
	stale = (ml && *ml) || !base || !*base || strstr(base, "fedoraproject.org/pub/epel/") != NULL;
	free(base);
	free(ml);
	return stale;
}

/*
 * EPEL's .repo: the existing one with its stale sections moved to the archive
 * (EL7), or a new one.
 */
static char *epel_text(struct ctx *c, const char *existing)
{
	const struct profile *p = c->prof;
	if (p->epel_baseurl) {
		char *b = xasprintf("%s/$basearch", p->epel_baseurl), *d = xasprintf("%s/$basearch/debug", p->epel_baseurl);
		char *s = xasprintf("%s/SRPMS", p->epel_baseurl), *out;
		struct repo_edit all[] = {
			{ "epel", "baseurl", b }, { "epel-debuginfo", "baseurl", d }, { "epel-source", "baseurl", s },
		}, e[3];
		size_t i, n = 0;
		if (existing) {
			for (i = 0; i < ARRAY_SIZE(all); i++)
				if (has_section(existing, all[i].section) && epel_section_stale(existing, all[i].section))
					e[n++] = all[i];
			out = repo_rewrite(existing, e, n, comment_keys);
		} else {
			out = xasprintf("# EPEL %s from the Fedora archive (written by mailstage: EPEL %s is past "
					"its end of life)\n[epel]\nname=Extra Packages for Enterprise Linux %s - "
					"$basearch\nbaseurl=%s\nenabled=1\ngpgcheck=1\ngpgkey=%s\n", p->epel_version,
					p->epel_version, p->epel_version, b, p->epel_gpgkey);
		}
		free(b);
		free(d);
		free(s);
		return out;
	}
	return xasprintf("# EPEL %s (written by mailstage: opendkim comes from EPEL)\n[epel]\nname=Extra "
			 "Packages for Enterprise Linux %s - $basearch\nmetalink=%s\nenabled=1\ngpgcheck=1\n"
			 "gpgkey=%s\n", p->epel_version, p->epel_version, p->epel_metalink, p->epel_gpgkey);
}

static int want_text(struct ctx *c, const char *path, const char *text)
{
	return want_file(c, path, text, strlen(text), "root", "root", 0644);
}

/*
 * CentOS-Base.repo: moved to the vault when its repositories do not answer.
 * 0 (nothing to do, or the file is wanted), or a refusal.
 */
static int check_centos_base(struct ctx *c, const char *basearch)
{
	const struct profile *p = c->prof;
	/* x86_64 is under /7.9.2009/, every other architecture under /altarch/7.9.2009/. */
	const char *vault = strcmp(basearch, "x86_64") == 0 || !p->repo_eol_altarch ? p->repo_eol_baseurl
										       : p->repo_eol_altarch;
	char *base = NULL, *fixed = NULL, *why = NULL;
	char *urls[4] = { 0 };
	size_t len, i;
	int r;
	static const char *const dirs[][2] = {
		{ "base", "os" }, { "updates", "updates" }, { "extras", "extras" }, { "centosplus", "centosplus" },
	};
	struct repo_edit e[4];

	r = read_target(c, p->repo_eol_file, &base, &len);
	if (r == -ENOENT) {
		stage_note(c, _("no %s: the CentOS repositories are left as they are"), p->repo_eol_file);
		return 0;
	}
	if (r < 0)
		return r;
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		urls[i] = xasprintf("%s/%s/$basearch/", vault, dirs[i][1]);
		e[i].section = dirs[i][0];
		e[i].key = "baseurl";
		e[i].value = urls[i];
	}
	fixed = repo_rewrite(base, e, ARRAY_SIZE(e), comment_keys);
	if (strcmp(fixed, base) != 0) {
		/* Not on the vault: keep the configured repositories while they answer. */
		if (lazy_curl(&why) < 0) {
			r = stage_refuse(c, EXIT_UNAVAILABLE, _("repos: %s"), why);
			goto out;
		}
		if (repos_probe(base, p->repo_releasever, basearch, &why) == 0)
			goto out;
		stage_note(c, _("the configured CentOS repositories do not answer (%s): CentOS 7 is past its end "
			   "of life; moving them to %s (%s)"), why, vault, basearch);
		r = want_text(c, p->repo_eol_file, fixed);
	}
out:
	for (i = 0; i < ARRAY_SIZE(urls); i++)
		free(urls[i]);
	free(base);
	free(fixed);
	free(why);
	return r;
}

static int check_el7(struct ctx *c)
{
	const struct profile *p = c->prof;
	char *epel = NULL, *want_epel = NULL, *basearch = target_basearch(c);
	size_t len;
	int r = 0;

	if (!target_exists(c, p->repo_dir)) {
		stage_note(c, _("no %s: not a yum system, the repositories are left as they are"), p->repo_dir);
		goto out;
	}
	if ((r = check_centos_base(c, basearch)) < 0)
		goto out;
	/* EPEL 7 is in the archive whether or not CentOS-Base answers. */
	r = read_target(c, p->epel_file, &epel, &len);
	if (r < 0 && r != -ENOENT)
		goto out;
	want_epel = epel_text(c, r == 0 ? epel : NULL);
	if (r == 0 && strcmp(want_epel, epel) != 0)
		stage_note(c, _("EPEL %s is no longer on the Fedora mirrors (its metalink does not serve it): "
			   "%s moved to %s"), p->epel_version, p->epel_file, p->epel_baseurl);
	r = want_text(c, p->epel_file, want_epel);
out:
	free(basearch);
	free(epel);
	free(want_epel);
	return r;
}

/* Every .repo file of the repository directory, with its text: paths and texts. */
static void repo_files(struct ctx *c, struct strv *paths, struct strv *texts)
{
	char *host = NULL, *why = NULL;
	struct strv names = { 0 };
	DIR *d;
	struct dirent *e;
	size_t i;

	if (root_path(c->root, c->prof->repo_dir, &host, &why) == 0 && (d = opendir(host))) {
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			if (l > 5 && strcmp(e->d_name + l - 5, ".repo") == 0)
				strv_push(&names, e->d_name);
		}
		closedir(d);
	}
	for (i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", c->prof->repo_dir, names.v[i]), *t = NULL;
		size_t len;
		if (read_target(c, p, &t, &len) == 0) {
			strv_push(paths, p);
			strv_push(texts, t);
		}
		free(p);
		free(t);
	}
	strv_free(&names);
	free(host);
	free(why);
}

/* EL8/EL9: an enabled [epel] (and [crb] on EL9). */
static int check_el(struct ctx *c)
{
	struct strv paths = { 0 }, texts = { 0 };
	const char *const want[] = { "epel", c->prof->repo_enable_crb ? "crb" : NULL };
	size_t i, k;
	int r = 0;

	repo_files(c, &paths, &texts);
	for (k = 0; k < ARRAY_SIZE(want) && r == 0; k++) {
		int found = 0;
		if (!want[k])
			continue;
		for (i = 0; i < paths.n && !found && r == 0; i++) {
			if (!has_section(texts.v[i], want[k]))
				continue;
			found = 1;
			if (!enabled(texts.v[i], want[k])) {
				struct repo_edit e = { want[k], "enabled", "1" };
				char *t = repo_rewrite(texts.v[i], &e, 1, NULL);
				r = want_text(c, paths.v[i], t);
				free(t);
			}
		}
		if (found || r < 0)
			continue;
		if (strcmp(want[k], "epel") == 0) {
			char *t = epel_text(c, NULL);
			r = want_text(c, c->prof->epel_file, t);
			free(t);
		} else {
			stage_note(c, _("no [%s] repository in %s: enable CodeReady Builder by hand (RHEL: "
				   "subscription-manager repos --enable codeready-builder-for-rhel-%s-$(arch)-rpms); "
				   "EPEL's opendkim needs it"), want[k], c->prof->repo_dir, c->prof->repo_releasever);
		}
	}
	strv_free(&paths);
	strv_free(&texts);
	return r;
}

static int check(struct ctx *c)
{
	if (!c->prof->repo_dir)
		return 0;
	if (c->prof->repo_eol_file)
		return check_el7(c);
	if (c->prof->epel_metalink)
		return check_el(c);
	return 0;
}

const struct stage stage_repos = {
	.name = "repos",
	.summary = N_("EL7: CentOS-Base to the vault when its repositories do not answer, EPEL 7 from the "
		   "Fedora archive; EL8/9: EPEL (and CRB on EL9) enabled; Debian: nothing"),
	.check = check,
};
STAGE_REGISTER(stage_repos);
