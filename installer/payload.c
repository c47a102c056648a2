/*
 * payload.c - the embedded payload archive: look up, list and extract the
 * files built from payload/ (see payload.h).  The archive is read with
 * libarchive straight from memory; a file under the data directory with the
 * same name replaces the embedded copy.
 */
#include "i18n.h"
#include "lazylib.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "msg.h"
#include "payload.h"
#include "exitcode.h"

#define MAX_MEMBER	(16 * 1024 * 1024)	/* payload files are a few KiB */

const char *payload_datadir(void)
{
	const char *d = getenv("MAILSTAGE_DATADIR");
	return d && *d ? d : MAILSTAGE_DATADIR;
}

/* A relative path without empty, "." or ".." components. */
static int valid_name(const char *name)
{
	const char *p = name, *e;
	size_t n;

	if (!*name || *name == '/')
		return 0;
	for (;;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!e)
			return 1;
		p = e + 1;
	}
}

/* Archive member names are written as "./x" or "x"; compare without "./". */
static const char *member_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);
	if (!n)
		return "";
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	return n;
}

static int open_embedded(struct archive **out)
{
	struct archive *a;
	char *why = NULL;

	if (lazy_archive(&why) < 0) {
		msg_error(_("embedded payload: %s"), why);
		free(why);
		return -ENOENT;
	}
	a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_format_tar(a);
	/* libarchive 3.1 takes a non-const pointer; it only reads. */
	if (archive_read_open_memory(a, (void *)mailstage_payload_tar, mailstage_payload_tar_len) !=
	    ARCHIVE_OK) {
		msg_error(_("embedded payload: %s (the binary is damaged; rebuild or reinstall mailstage)"),
			  archive_error_string(a) ? archive_error_string(a) : _("unreadable"));
		archive_read_free(a);
		return -EIO;
	}
	*out = a;
	return 0;
}

static int read_member(struct archive *a, struct archive_entry *e, const char *name, char **data,
		       size_t *len)
{
	int64_t size = archive_entry_size(e);
	char *p;
	ssize_t got;
	size_t off = 0;

	if (size < 0 || size > MAX_MEMBER) {
		msg_error(_("embedded payload: %s has a bad size"), name);
		return -EIO;
	}
	p = xmalloc((size_t)size + 1);
	while (off < (size_t)size) {
		got = archive_read_data(a, p + off, (size_t)size - off);
		if (got <= 0) {
			msg_error(_("embedded payload: %s: %s"), name,
				  got < 0 && archive_error_string(a) ? archive_error_string(a) : "truncated");
			free(p);
			return -EIO;
		}
		off += (size_t)got;
	}
	p[off] = '\0';
	*data = p;
	*len = off;
	return 0;
}

static int get_embedded(const char *name, char **data, size_t *len)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar;

	r = open_embedded(&a);
	if (r < 0)
		return r;
	r = -ENOENT;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG || strcmp(member_name(e), name) != 0)
			continue;
		r = read_member(a, e, name, data, len);
		goto out;
	}
	if (ar != ARCHIVE_EOF) {
		msg_error(_("embedded payload: %s"), archive_error_string(a) ? archive_error_string(a) : _("unreadable"));
		r = -EIO;
	}
out:
	archive_read_free(a);
	return r;
}

int payload_get(const char *name, char **data, size_t *len, int *overridden)
{
	char *path;
	struct stat st;
	int r;

	if (overridden)
		*overridden = 0;
	if (!valid_name(name))
		return -EINVAL;
	path = xasprintf("%s/%s", payload_datadir(), name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		r = read_whole_file(path, data, len);
		if (r == 0 && overridden)
			*overridden = 1;
		if (r < 0)
			msg_error(_("%s: %s (fix its permissions or remove it to use the built-in copy)"), path,
				  strerror(-r));
		goto out;
	}
	r = get_embedded(name, data, len);
out:
	free(path);
	return r;
}

int payload_list(struct strv *names)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar;

	r = open_embedded(&a);
	if (r < 0)
		return r;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_entry_filetype(e) == AE_IFREG && valid_name(member_name(e)))
			strv_push(names, member_name(e));
		archive_read_data_skip(a);
	}
	if (ar != ARCHIVE_EOF) {
		msg_error(_("embedded payload: %s"), archive_error_string(a) ? archive_error_string(a) : _("unreadable"));
		r = -EIO;
	}
	archive_read_free(a);
	return r;
}

/* mkdir -p for the parent directories of DIR/NAME (and DIR itself). */
static int make_parents(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name), *s;
	int r = 0;

	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			msg_error(_("cannot create directory %s: %s"), p, strerror(errno));
			goto out;
		}
		*s = '/';
	}
out:
	free(p);
	return r;
}

int payload_extract(const char *dir)
{
	struct strv names = { 0 };
	struct file_meta meta;
	size_t i;
	int r;

	memset(&meta, 0, sizeof(meta));
	meta.mode = 0644;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		msg_error(_("cannot create directory %s: %s"), dir, strerror(errno));
		goto out;
	}
	r = payload_list(&names);
	if (r < 0)
		goto out;
	for (i = 0; i < names.n; i++) {
		char *data = NULL, *host, *temp;
		size_t len = 0;
		int over = 0;

		r = payload_get(names.v[i], &data, &len, &over);
		if (r < 0) {
			if (r == -ENOENT || r == -EINVAL)
				msg_error(_("payload file %s: %s"), names.v[i], strerror(-r));
			goto out;
		}
		r = make_parents(dir, names.v[i]);
		if (r < 0) {
			free(data);
			goto out;
		}
		host = xasprintf("%s/%s", dir, names.v[i]);
		temp = atomic_tempname(host);
		r = atomic_replace(host, temp, data, len, &meta, NULL, NULL);
		if (r < 0)
			msg_error(_("cannot write %s: %s"), host, strerror(-r));
		else
			msg_verbose(_("wrote %s (%s)"), host, over ? _("from the data directory") : _("built in"));
		free(temp);
		free(host);
		free(data);
		if (r < 0)
			goto out;
	}
	msg_info(ngettext("wrote %zu payload file under %s", "wrote %zu payload files under %s", names.n), names.n, dir);
out:
	strv_free(&names);
	return r;
}

int cmd_payload(const char *extract_dir)
{
	struct strv names = { 0 };
	size_t i;
	int rc = EXIT_OK;

	if (extract_dir) {
		int r = payload_extract(extract_dir);
		if (r == -EACCES || r == -EPERM)
			return EXIT_NOPERM;
		return r < 0 ? EXIT_IOERR : EXIT_OK;
	}
	if (payload_list(&names) < 0) {
		rc = EXIT_SOFTWARE;
		goto out;
	}
	for (i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", payload_datadir(), names.v[i]);
		struct stat st;
		int over = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		printf("%-40s %s\n", names.v[i], over ? path : "built in");
		free(path);
	}
out:
	strv_free(&names);
	return rc;
}
