/*
 * root.h - confinement of every path inside --root, and user and group
 * names resolved in the target's own /etc/passwd and /etc/group (as
 * `rpm --root` does), never the host's.
 */
#ifndef MAILSTAGE_ROOT_H
#define MAILSTAGE_ROOT_H

#include <sys/types.h>
#include <sys/stat.h>

struct root_dirs;

struct root {
	char *dir;		/* canonical host directory, "" for "/" */
	int is_host;		/* --root is "/" */
	/* cached /etc/passwd and /etc/group of the target */
	char *passwd, *group;
	/* directories root_path() has verified in this run (root.c explains when) */
	struct root_dirs *dirs;
};

int root_init(struct root *r, const char *dir, char **why);
void root_free(struct root *r);

/*
 * Map an absolute target path to a host path inside the root.  Refused with
 * -EPERM and *why: a relative path, a ".." component, or a symlink on the
 * way whose target climbs out of the root.  Directory symlinks are followed
 * as inside a chroot (an absolute target is taken relative to the root);
 * the last component is never followed.
 */
int root_path(const struct root *r, const char *path, char **host, char **why);
/*
 * Forget every directory root_path() remembered: called after each change
 * mailstage makes to the target (a primitive, an undo, a command it ran),
 * so the next resolution looks at the tree as it now is.
 */
void root_forget(const struct root *r);
/*
 * A number that changes with every root_forget() (and differs from every
 * other root's of the process): what a caller read of the target while it
 * stays the same was read with nothing changed by mailstage in between (a
 * memo within a run; r NULL: 0).
 */
unsigned root_epoch(const struct root *r);
/*
 * The lstat() of the directory at path (absolute, written the one way) as a
 * resolution of this run remembered it (see root.c): 0, else -ENOENT (not
 * remembered: ask lstat()).  root_dir_seen(): a caller's own lstat() of a
 * directory, remembered as root_path()'s would be (below a safe parent only).
 */
int root_dir_stat(const struct root *r, const char *path, struct stat *sb);
void root_dir_seen(const struct root *r, const char *path, const struct stat *sb);
/* The effective uid the root was opened with (asked once: a run does not change it). */
uid_t root_euid(const struct root *r);

/*
 * For reading: root_path(), and a symlink as the last component is followed
 * too, inside the root (certbot's live/ -> ../../archive/, os-release ->
 * ../usr/lib/os-release); one whose target climbs out is refused (-EPERM).
 */
int root_resolve(const struct root *r, const char *path, char **host, char **why);
/*
 * Read a file of the target: root_resolve(), then only a regular file
 * (a FIFO or device never blocks or is read: -EINVAL), at most max bytes
 * (-EFBIG).  *why says which, naming path.
 */
int root_read(const struct root *r, const char *path, size_t max, char **data, size_t *len, char **why);
/* The same, with the fstat() of what was read in *sb. */
int root_read_stat(const struct root *r, const char *path, size_t max, char **data, size_t *len, struct stat *sb,
		   char **why);

/*
 * 0, -ENOENT (no such user/group in the target), -EBADMSG (its entry has an
 * id that is not a number), -ENXIO (the target has no such file), or root_read()'s -EPERM/-EINVAL/-EFBIG or -errno reading it.
 */
int root_user(struct root *r, const char *name, uid_t *uid, gid_t *gid);
int root_group(struct root *r, const char *name, gid_t *gid);
/* Names for display: the target's name for the id, or the number. Caller frees. */
char *root_user_name(struct root *r, uid_t uid);
char *root_group_name(struct root *r, gid_t gid);

#endif
