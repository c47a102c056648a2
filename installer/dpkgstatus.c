/*
 * dpkgstatus.c - which packages dpkg has installed, read from its
 * database (<root>/var/lib/dpkg/status and updates/) as dpkg-query would
 * read it, without running dpkg-query: the parser (pure, on the text it is
 * given) and its reading through the confined root.  See dpkgstatus.h.
 */
#include "dpkgstatus.h"
#include "i18n.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DPKG_FILE_MAX (64u << 20)	/* a status file of 10,000 packages is under 10 MiB */
#define DPKG_UPDATES_MAX 10000		/* dpkg merges its journal long before this many */

struct dpkg_inst {
	char *name;		/* as in the database, folded to lower case */
	char *arch;		/* Architecture ("" when none) */
	int ma_same;		/* Multi-Arch: same */
	int installed;		/* Status's third word is "installed" */
	int gen;		/* the file that set it: 0 status, then each update */
};

struct dpkg_db {
	struct strv want;	/* the patterns: NAME or NAME:ARCH */
	struct dpkg_inst *v;
	size_t n, cap;
	int gen;		/* files parsed so far */
};

/* The fields read; every other one is skipped with its continuation lines. */
enum { F_PACKAGE, F_STATUS, F_ARCH, F_MA, F_VERSION, NFIELDS, F_OTHER = NFIELDS };
static const char *const field_names[NFIELDS] = { "Package", "Status", "Architecture", "Multi-Arch", "Version" };

static const char *const wants[] = { "unknown", "install", "hold", "deinstall", "purge", NULL };
static const char *const flags[] = { "ok", "reinstreq", NULL };
/* The states, and whether dpkg requires a Version with them. */
static const struct { const char *name; int needs_version; } states[] = {
	{ "not-installed", 0 }, { "config-files", 1 }, { "half-installed", 0 }, { "unpacked", 1 },
	{ "half-configured", 1 }, { "triggers-awaited", 1 }, { "triggers-pending", 1 }, { "installed", 1 },
};

/* isspace() of the C locale, whatever the process's locale. */
static int c_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int c_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int c_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

struct dpkg_db *dpkg_db_new(char *const *names, size_t n)
{
	struct dpkg_db *db = xcalloc(1, sizeof(*db));
	size_t i;
	for (i = 0; i < n; i++)
		strv_push(&db->want, names[i]);
	return db;
}

void dpkg_db_free(struct dpkg_db *db)
{
	size_t i;
	if (!db)
		return;
	for (i = 0; i < db->n; i++) {
		free(db->v[i].name);
		free(db->v[i].arch);
	}
	free(db->v);
	strv_free(&db->want);
	free(db);
}

/* Does pattern NAME or NAME:ARCH match the instance (arch NULL: only the name part)? */
static int pattern_matches(const char *pat, const char *name, const char *arch)
{
	const char *colon = strchr(pat, ':');
	char *np = colon ? xstrndup(pat, (size_t)(colon - pat)) : NULL;
	int m = fnmatch(np ? np : pat, name, 0) == 0;
	free(np);
	if (m && colon && arch)
		m = fnmatch(colon + 1, arch, 0) == 0;
	return m;
}

static int wanted(const struct dpkg_db *db, const char *name)
{
	size_t i;
	for (i = 0; i < db->want.n; i++)
		if (pattern_matches(db->want.v[i], name, NULL))
			return 1;
	return 0;
}

/* The value of a field without the blanks (and "\r") that end it; NUL-terminated in place. */
static char *value_of(struct buf *b)
{
	while (b->len && c_space(b->data[b->len - 1]))
		b->data[--b->len] = 0;
	return b->data;
}

/* Index of the word w[0..n) in a NULL-terminated list, or -1. */
static int word_in(const char *w, size_t n, const char *const *list)
{
	int i;
	for (i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncmp(w, list[i], n) == 0)
			return i;
	return -1;
}

/* Status "WANT FLAG STATE": the state's index, or -1 with *err. */
static int parse_status(const char *s, size_t line, char **err)
{
	const char *w[3];
	size_t wl[3], k;
	int st = -1;

	for (k = 0; k < 3; k++) {
		while (c_space(*s))
			s++;
		w[k] = s;
		while (*s && !c_space(*s))
			s++;
		wl[k] = (size_t)(s - w[k]);
	}
	while (c_space(*s))
		s++;
	if (wl[2] && !*s && word_in(w[0], wl[0], wants) >= 0 && word_in(w[1], wl[1], flags) >= 0)
		for (k = 0; k < ARRAY_SIZE(states) && st < 0; k++)
			if (strlen(states[k].name) == wl[2] && strncmp(w[2], states[k].name, wl[2]) == 0)
				st = (int)k;
	if (st < 0)
		*err = xasprintf(_("line %zu: Status is not the three words WANT FLAG STATE of dpkg (as "
				   "\"install ok installed\")"), line);
	return st;
}

/* A name dpkg allows: an alphanumeric, then alphanumerics and - + . _ */
static int name_ok(const char *s)
{
	if (!c_alnum(*s))
		return 0;
	for (s++; *s; s++)
		if (!c_alnum(*s) && !strchr("-+._", *s))
			return 0;
	return 1;
}

/* The slot for (name, arch): the status file has one per architecture; an
 * update replaces that one, or (not Multi-Arch: same) the package's only one. */
static struct dpkg_inst *find_slot(struct dpkg_db *db, const char *name, const char *arch, int ma_same,
				   int is_update)
{
	size_t i, same_name = 0;
	struct dpkg_inst *only = NULL;
	for (i = 0; i < db->n; i++) {
		if (strcmp(db->v[i].name, name) != 0)
			continue;
		if (strcmp(db->v[i].arch, arch) == 0)
			return &db->v[i];
		same_name++;
		only = &db->v[i];
	}
	if (is_update && same_name == 1 && !(ma_same && only->ma_same))
		return only;
	return NULL;
}

/* The stanza that began on line `line`, its fields in val[] (seen[] says which). */
static int end_stanza(struct dpkg_db *db, struct buf *val, const int *seen, size_t line, int is_update,
		      char **err)
{
	struct dpkg_inst *slot;
	char *name, *arch, *p;
	int st = 0, ma_same;

	if (!seen[F_PACKAGE]) {
		*err = xasprintf(_("line %zu: a stanza without a Package field"), line);
		return -EBADMSG;
	}
	name = value_of(&val[F_PACKAGE]);
	if (!name_ok(name)) {
		*err = xasprintf(_("line %zu: \"%.64s\" is not a package name"), line, name);
		return -EBADMSG;
	}
	for (p = name; *p; p++)
		*p = (char)c_lower(*p);
	if (seen[F_STATUS] && (st = parse_status(val[F_STATUS].data, line, err)) < 0)
		return -EBADMSG;
	if (states[st].needs_version && (!seen[F_VERSION] || !*value_of(&val[F_VERSION]))) {
		*err = xasprintf(_("line %zu: package %s is %s but has no Version"), line, name, states[st].name);
		return -EBADMSG;
	}
	if (!wanted(db, name))
		return 0;
	arch = seen[F_ARCH] ? value_of(&val[F_ARCH]) : "";
	ma_same = seen[F_MA] && strcmp(value_of(&val[F_MA]), "same") == 0;
	slot = find_slot(db, name, arch, ma_same, is_update);
	if (slot && !is_update && slot->gen == db->gen) {
		*err = xasprintf(_("line %zu: package %s%s%s is in the file twice"), line, name, *arch ? ":" : "",
				 arch);
		return -EBADMSG;
	}
	if (!slot) {
		if (db->n == db->cap) {
			db->cap = db->cap ? 2 * db->cap : 8;
			db->v = xrealloc(db->v, db->cap * sizeof(*db->v));
		}
		slot = &db->v[db->n++];
		slot->name = xstrdup(name);
		slot->arch = NULL;
	}
	free(slot->arch);
	slot->arch = xstrdup(arch);
	slot->ma_same = ma_same;
	slot->installed = strcmp(states[st].name, "installed") == 0;
	slot->gen = db->gen;
	return 0;
}

int dpkg_db_parse(struct dpkg_db *db, const char *text, size_t len, int is_update, char **err)
{
	struct buf val[NFIELDS];
	int seen[NFIELDS], cur = F_OTHER, in_stanza = 0, r = 0, k;
	size_t pos = 0, line = 0, start = 0;

	memset(val, 0, sizeof(val));
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < NFIELDS; k++)
		buf_puts(&val[k], "");
	while (pos < len && r == 0) {
		const char *l = text + pos, *eol = memchr(l, '\n', len - pos), *colon;
		size_t ll, nl;

		line++;
		if (!eol) {
			*err = xasprintf(_("line %zu: no newline at its end: the file is cut short"), line);
			r = -EBADMSG;
			break;
		}
		ll = (size_t)(eol - l);
		pos += ll + 1;
		if (memchr(l, 0, ll)) {
			*err = xasprintf(_("line %zu: a NUL byte"), line);
			r = -EBADMSG;
		} else if (ll == 0) {
			if (in_stanza)
				r = end_stanza(db, val, seen, start, is_update, err);
			in_stanza = 0;
		} else if (c_space(l[0])) {
			/* a continuation line (" .", "\r" and " " alone included, as dpkg) */
			if (!in_stanza) {
				*err = xasprintf(_("line %zu: a line starting with a blank before the stanza's first "
						   "field"), line);
				r = -EBADMSG;
			} else if (cur != F_OTHER) {
				buf_puts(&val[cur], "\n");
				buf_append(&val[cur], l, ll);
			}
		} else {
			for (nl = 0; nl < ll && l[nl] != ':' && !c_space(l[nl]); nl++)
				;
			for (colon = l + nl; colon < eol && (*colon == ' ' || *colon == '\t'); colon++)
				;
			if (nl == 0 || colon == eol || *colon != ':') {
				*err = nl ? xasprintf(_("line %zu: field name \"%.*s\" is not followed by a colon"), line,
						      (int)(nl > 64 ? 64 : nl), l)
					  : xasprintf(_("line %zu: a field without a name"), line);
				r = -EBADMSG;
				break;
			}
			if (!in_stanza) {
				for (k = 0; k < NFIELDS; k++) {
					seen[k] = 0;
					val[k].len = 0;
					val[k].data[0] = 0;
				}
				in_stanza = 1;
				start = line;
			}
			for (cur = 0; cur < NFIELDS; cur++)
				if (strlen(field_names[cur]) == nl && strncasecmp(l, field_names[cur], nl) == 0)
					break;
			if (cur == F_OTHER)
				continue;
			if (seen[cur]) {
				*err = xasprintf(_("line %zu: a second %s field in one stanza"), line, field_names[cur]);
				r = -EBADMSG;
				break;
			}
			seen[cur] = 1;
			for (colon++; colon < eol && c_space(*colon); colon++)
				;
			buf_append(&val[cur], colon, (size_t)(eol - colon));
		}
	}
	if (r == 0 && in_stanza)
		r = end_stanza(db, val, seen, start, is_update, err);
	for (k = 0; k < NFIELDS; k++)
		buf_free(&val[k]);
	db->gen++;
	return r;
}

void dpkg_db_installed(const struct dpkg_db *db, struct strv *out)
{
	size_t i, j, k;
	for (i = 0; i < db->want.n; i++)
		for (j = 0; j < db->n; j++) {
			const struct dpkg_inst *p = &db->v[j];
			int dup = 0;
			if (!p->installed || !pattern_matches(db->want.v[i], p->name, p->arch))
				continue;
			for (k = 0; k < out->n && !dup; k++)
				dup = strcmp(out->v[k], p->name) == 0;
			if (!dup)
				strv_push(out, p->name);
		}
}

/* ---- on a root ---- */

/* What to do about a file of the database that cannot be used (malloc'd). */
static char *db_refusal(const char *path, const char *reason, int is_update)
{
	if (is_update)
		return xasprintf(_("dpkg's database cannot be read, so which packages are installed is unknown: "
				   "%s: %s; an interrupted dpkg left it: run `dpkg --configure -a` in the target "
				   "and run again"), path, reason);
	return xasprintf(_("dpkg's database cannot be read, so which packages are installed is unknown: %s: "
			   "%s; check it with `dpkg --audit` in the target, or restore it from dpkg's backup "
			   "(/var/backups/dpkg.status.0), and run again"), path, reason);
}

/* Read and parse one file: 0 (also when it does not exist), or -errno with *why. */
static int read_one(const struct root *r, struct dpkg_db *db, const char *path, int is_update, char **why)
{
	char *data = NULL, *err = NULL;
	size_t len = 0;
	int rc = root_read(r, path, DPKG_FILE_MAX, &data, &len, &err);

	if (rc == -ENOENT) {
		free(err);
		return 0;
	}
	if (rc == 0 && (rc = dpkg_db_parse(db, data, len, is_update, &err)) == 0) {
		free(data);
		return 0;
	}
	*why = db_refusal(path, err, is_update);
	free(err);
	free(data);
	return rc;
}

/* updates/NNNN in order: all digits, shorter first (dpkg names them with the same width). */
static int update_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static int list_updates(const struct root *r, struct strv *names, char **why)
{
	char *host = NULL, *err = NULL;
	struct dirent *e;
	DIR *d;
	int fd, rc = root_resolve(r, DPKG_UPDATES_DIR, &host, &err);

	if (rc < 0) {
		*why = db_refusal(DPKG_UPDATES_DIR, err, 1);
		free(err);
		return rc;
	}
	fd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(host);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		*why = db_refusal(DPKG_UPDATES_DIR, strerror(-rc), 1);
		return rc;
	}
	if (!(d = fdopendir(fd))) {
		rc = -errno;
		close(fd);
		*why = db_refusal(DPKG_UPDATES_DIR, strerror(-rc), 1);
		return rc;
	}
	while ((e = readdir(d)) != NULL && rc == 0) {
		size_t l = strlen(e->d_name);
		if (l == 0 || l > 10 || strspn(e->d_name, "0123456789") != l)
			continue;	/* "tmp.i" (being written), ".", ".." */
		if (names->n == DPKG_UPDATES_MAX) {
			*why = db_refusal(DPKG_UPDATES_DIR, _("more files than dpkg ever leaves there"), 1);
			rc = -E2BIG;
		} else
			strv_push(names, e->d_name);
	}
	closedir(d);
	if (rc == 0 && names->n)
		qsort(names->v, names->n, sizeof(char *), update_cmp);
	return rc;
}

int dpkg_installed(const struct root *r, char *const *names, size_t n, struct strv *installed, char **why)
{
	struct dpkg_db *db = dpkg_db_new(names, n);
	struct strv upd = { 0 };
	size_t i;
	int rc = read_one(r, db, DPKG_STATUS_FILE, 0, why);

	if (rc == 0)
		rc = list_updates(r, &upd, why);
	for (i = 0; i < upd.n && rc == 0; i++) {
		char *p = xasprintf("%s/%s", DPKG_UPDATES_DIR, upd.v[i]);
		rc = read_one(r, db, p, 1, why);
		free(p);
	}
	if (rc == 0)
		dpkg_db_installed(db, installed);
	strv_free(&upd);
	dpkg_db_free(db);
	return rc == -ENOENT ? -EIO : rc;
}
