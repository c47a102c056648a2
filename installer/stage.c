/*
 * stage.c - the want_*() helpers stages describe their wishes with, and
 * the generic apply of recorded changes through the primitives.
 */
#include "stage.h"
#include "i18n.h"
#include "msg.h"
#include "prim.h"
#include "fpcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct change *add_change(struct ctx *c, enum change_kind kind, const char *path)
{
	struct change *ch;
	c->changes = xrealloc(c->changes, (c->nchanges + 1) * sizeof(*c->changes));
	ch = &c->changes[c->nchanges++];
	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	ch->path = path ? xstrdup(path) : NULL;
	return ch;
}

static char **dup_argv(char *const argv[])
{
	size_t n = 0, i;
	char **v;
	if (!argv)
		return NULL;
	while (argv[n])
		n++;
	v = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		v[i] = xstrdup(argv[i]);
	return v;
}

static void free_argv(char **v)
{
	size_t i;
	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void changes_free(struct change *v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].what);
		free(v[i].old);
		if (v[i].data && v[i].secret)
			memset(v[i].data, 0, v[i].len);
		free(v[i].data);
		free(v[i].owner);
		free(v[i].group);
		free_argv(v[i].argv);
		free_argv(v[i].touches);
		free(v[i].arg);
	}
	free(v);
}

void stage_note(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strv_push(&c->notes, s);
	free(s);
}

int stage_fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(c->prim->error);
	c->prim->error = xvasprintf(fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int stage_refuse(struct ctx *c, int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(c->prim->error);
	c->prim->error = xvasprintf(fmt, ap);
	va_end(ap);
	c->exit_code = exit_code;
	return -EPERM;
}

int stage_dry(const struct ctx *c)
{
	return c->prim->dry;
}

static const char *resolver;	/* --resolver ADDR:PORT of this process, or NULL */

void stage_set_resolver(const char *server)
{
	resolver = server;
}

const char *stage_resolver(const struct ctx *c)
{
	(void)c;
	return resolver;
}

const char *stage_run_id(const struct ctx *c)
{
	return c->prim->run_id;
}

void stage_set_error(struct ctx *c, char *msg)
{
	free(c->prim->error);
	c->prim->error = msg;
}

int stage_changed(const struct ctx *c, const char *path)
{
	return run_changed(c->prim, path);
}

const struct strv *stage_changed_paths(const struct ctx *c)
{
	return &c->prim->changed_paths;
}

static const struct stage *registry[64];
static size_t nregistered;

void stage_register(const struct stage *s)
{
	if (nregistered < ARRAY_SIZE(registry))
		registry[nregistered++] = s;
}

const struct stage *stage_registered(const char *name)
{
	size_t i;
	for (i = 0; i < nregistered; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

size_t stages_registered(void)
{
	return nregistered;
}

static const struct action_type *actions[16 + 1];
static size_t nactions;

void action_register(const struct action_type *t)
{
	if (nactions < ARRAY_SIZE(actions) - 1)
		actions[nactions++] = t;
}

const struct action_type *const *action_types_all(void)
{
	return actions;
}

static int host_of(struct ctx *c, const char *path, char **host)
{
	char *why = NULL;
	int r = root_path(c->root, path, host, &why);
	if (r < 0) {
		stage_fail(c, _("refusing %s: %s"), path, why);
		free(why);
	}
	return r;
}

int target_exists(struct ctx *c, const char *path)
{
	char *host = NULL, *why = NULL;
	struct stat sb;
	int e = 0;
	if (root_path(c->root, path, &host, &why) == 0)
		e = lstat(host, &sb) == 0;
	free(host);
	free(why);
	return e;
}

/*
 * A stage reads a file (read_target), edits what it read and says what it
 * wants (want_file): the same file, read twice in a row.  The last file read
 * is kept with the fstat() of the descriptor it was read from, and stands
 * for the file for the rest of the check: want_file() compares against it
 * and target_lstat() answers with it.  Another lstat() a few microseconds
 * later would prove nothing more (the file can change right after it just
 * as well); what apply replaces is what it finds then (backed up, journaled).
 */
struct seen_file {
	char *path, *data;
	size_t len;
	struct stat sb;
};

void ctx_forget_seen(struct ctx *c)
{
	if (!c->seen)
		return;
	free(c->seen->path);
	free(c->seen->data);
	free(c->seen);
	c->seen = NULL;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void remember_seen(struct ctx *c, const char *path, const struct stat *sb, const char *data, size_t len)
{
	ctx_forget_seen(c);
	c->seen = xcalloc(1, sizeof(*c->seen));
	c->seen->path = xstrdup(path);
	c->seen->data = xmalloc(len + 1);
	memcpy(c->seen->data, data, len);
	c->seen->data[len] = 0;
	c->seen->len = len;
	c->seen->sb = *sb;
}

/* The content of path (whose lstat() is sb) as read_target() last read it (borrowed), or NULL (read it). */
static const char *seen_content(struct ctx *c, const char *path, const struct stat *sb, size_t *len)
{
	if (!c->seen || strcmp(c->seen->path, path) != 0 || !same_file(&c->seen->sb, sb))
		return NULL;
	*len = c->seen->len;
	return c->seen->data;
}

/*
 * lstat() of a target path for a check: the status read_target() saw, else
 * the one a check of this run took while mailstage has changed nothing in
 * the target since (root_epoch(): every primitive and undo moves it on),
 * else lstat().  Checks of several stages look at the same directories
 * (/etc, /etc/postfix, the DKIM key directory) and keys.
 */
#define STAT_MEMO 16
static struct {
	const struct root *root;
	unsigned epoch;
	char *path;
	struct stat sb;
} stat_memo[STAT_MEMO];
static unsigned stat_memo_next;

static void memo_stat(struct ctx *c, const char *path, const struct stat *sb)
{
	unsigned i = stat_memo_next++ % STAT_MEMO;

	free(stat_memo[i].path);
	stat_memo[i].root = c->root;
	stat_memo[i].epoch = root_epoch(c->root);
	stat_memo[i].path = xstrdup(path);
	stat_memo[i].sb = *sb;
}

static int seen_stat(struct ctx *c, const char *path, const char *host, struct stat *sb)
{
	unsigned epoch = root_epoch(c->root), i;

	if (c->seen && strcmp(c->seen->path, path) == 0) {
		*sb = c->seen->sb;
		return 0;
	}
	for (i = 0; i < STAT_MEMO; i++)
		if (stat_memo[i].path && stat_memo[i].root == c->root && stat_memo[i].epoch == epoch &&
		    strcmp(stat_memo[i].path, path) == 0) {
			*sb = stat_memo[i].sb;
			return 0;
		}
	if (root_dir_stat(c->root, path, sb) == 0)
		return 0;
	if (lstat(host, sb) < 0)
		return -errno;
	memo_stat(c, path, sb);
	root_dir_seen(c->root, path, sb);
	return 0;
}

int target_lstat(struct ctx *c, const char *path, struct stat *sb)
{
	char *host = NULL, *why = NULL;
	int r = root_path(c->root, path, &host, &why);

	if (r == 0)
		r = seen_stat(c, path, host, sb);
	free(host);
	free(why);
	return r;
}

int read_target(struct ctx *c, const char *path, char **data, size_t *len)
{
	char *host = NULL;
	struct stat sb;
	size_t n = 0;
	int r = host_of(c, path, &host), fd = -1;

	*data = NULL;
	if (r < 0)
		return r;
	/* Never a symlink (ELOOP) nor anything but a regular file; a FIFO does not block the open. */
	fd = open(host, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			r = stage_fail(c, _("%s is not a regular file"), path);
		else if (r != -ENOENT)
			stage_fail(c, _("cannot read %s: %s"), path, strerror(-r));
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		stage_fail(c, _("cannot read %s: %s"), path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = stage_fail(c, _("%s is not a regular file"), path);
		goto out;
	}
	r = read_fd_known(fd, &sb, 0, data, &n);
	if (r < 0)
		stage_fail(c, _("cannot read %s: %s"), path, strerror(-r));
	else {
		remember_seen(c, path, &sb, *data, n);
		memo_stat(c, path, &sb);	/* not a symlink (O_NOFOLLOW): its lstat() */
		fp_seen(c->root, path, &sb);
	}
out:
	if (fd >= 0)
		close(fd);
	if (len)
		*len = n;
	free(host);
	return r;
}

/* Owner, group and mode as "0600 root:opendkim". */
static char *attr_text(mode_t mode, const char *owner, const char *group)
{
	return xasprintf("%04o %s:%s", (unsigned)(mode & 07777), owner, group);
}

/* Do owner/group/mode of sb differ from what is wanted?  *now: what they are (when they differ, or always). */
static int attrs_differ(struct ctx *c, const struct stat *sb, const char *owner, const char *group,
			mode_t mode, char **now, int always)
{
	uid_t uid;
	gid_t gid, pg;
	int differ = (sb->st_mode & 07777) != (mode & 07777);
	char *u, *g;

	/* Unprivileged --root runs cannot give files away: ownership is not compared. */
	if (root_euid(c->root) == 0) {
		if (root_user(c->root, owner, &uid, &pg) < 0 || root_group(c->root, group, &gid) < 0)
			differ = 1;
		else if (uid != sb->st_uid || gid != sb->st_gid)
			differ = 1;
	}
	/* The names of what is there, for the message: only when there is one to give. */
	*now = NULL;
	if (!differ && !always)
		return 0;
	u = root_user_name(c->root, sb->st_uid);
	g = root_group_name(c->root, sb->st_gid);
	*now = attr_text(sb->st_mode, u, g);
	free(u);
	free(g);
	return differ;
}

static void set_attrs(struct change *ch, const char *owner, const char *group, mode_t mode)
{
	ch->owner = xstrdup(owner);
	ch->group = xstrdup(group);
	ch->mode = mode;
}

static size_t count_lines(const char *s, size_t n)
{
	size_t i, l = 0;
	for (i = 0; i < n; i++)
		l += s[i] == '\n';
	return l + (n && s[n - 1] != '\n');
}

/*
 * Files whose lines hold password hashes: a change to them is listed, its
 * content never printed (plan's diff, --json).
 */
static int secret_path(const char *path)
{
	static const char *const secrets[] = { "/etc/shadow", "/etc/gshadow", NULL };
	size_t i;
	for (i = 0; secrets[i]; i++)
		if (strcmp(path, secrets[i]) == 0)
			return 1;
	return 0;
}

int want_file(struct ctx *c, const char *path, const char *data, size_t len, const char *owner,
	      const char *group, mode_t mode)
{
	char *host = NULL, *old = NULL, *now = NULL, *want = NULL;	/* attr_text(), for a message */
	const char *cur;
	size_t oldlen = 0;
	struct stat sb;
	struct change *ch;
	int r = host_of(c, path, &host);

	if (r < 0)
		goto out;
	if (seen_stat(c, path, host, &sb) < 0) {
		ch = add_change(c, CH_FILE, path);
		want = attr_text(mode, owner, group);
		ch->what = xasprintf(_("create %s (%s, %zu lines)"), path, want, count_lines(data, len));
		goto fill;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = stage_fail(c, _("%s exists but is not a regular file; move it away and run again"), path);
		goto out;
	}
	if (!(cur = seen_content(c, path, &sb, &oldlen))) {
		r = read_whole_file(host, &old, &oldlen);
		cur = old;
	}
	if (r < 0) {
		r = stage_fail(c, _("cannot read %s: %s"), path, strerror(-r));
		goto out;
	}
	if (oldlen == len && memcmp(cur, data, len) == 0) {
		if (attrs_differ(c, &sb, owner, group, mode, &now, 0)) {
			ch = add_change(c, CH_ATTR, path);
			want = attr_text(mode, owner, group);
			ch->what = xasprintf(_("set %s to %s (now %s)"), path, want, now);
			set_attrs(ch, owner, group, mode);
		}
		goto out;
	}
	ch = add_change(c, CH_FILE, path);
	attrs_differ(c, &sb, owner, group, mode, &now, 1);
	want = attr_text(mode, owner, group);
	if (strcmp(now, want) != 0)
		ch->what = xasprintf(_("update %s (now %s, will be %s)"), path, now, want);
	else
		ch->what = xasprintf(_("update %s"), path);
	if (!old) {	/* a copy of what read_target() read, for the diff and the backup */
		old = xmalloc(oldlen + 1);
		memcpy(old, cur, oldlen + 1);
	}
	ch->old = old;
	ch->oldlen = oldlen;
	old = NULL;
fill:
	ch->secret = secret_path(path);
	ch->data = xmalloc(len + 1);
	memcpy(ch->data, data, len);
	ch->data[len] = 0;
	ch->len = len;
	set_attrs(ch, owner, group, mode);
	r = 0;
out:
	free(host);
	free(old);
	free(now);
	free(want);
	return r;
}

int want_new_file(struct ctx *c, const char *path, int (*produce)(struct ctx *, struct change *),
		  const char *what, int secret, const char *owner, const char *group, mode_t mode)
{
	char *want = attr_text(mode, owner, group);
	struct change *ch = add_change(c, CH_FILE, path);
	ch->what = xasprintf(target_exists(c, path) ? _("replace %s (%s; %s)") : _("create %s (%s; %s)"), path, what,
			     want);
	ch->produce = produce;
	ch->secret = secret;
	set_attrs(ch, owner, group, mode);
	free(want);
	return 0;
}

int want_attr(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode)
{
	char *host = NULL, *now = NULL, *want = NULL;
	struct stat sb;
	int r = host_of(c, path, &host);

	if (r < 0)
		goto out;
	if (seen_stat(c, path, host, &sb) < 0) {
		r = stage_fail(c, _("%s does not exist"), path);
		goto out;
	}
	if (attrs_differ(c, &sb, owner, group, mode, &now, 0)) {
		struct change *ch = add_change(c, CH_ATTR, path);
		want = attr_text(mode, owner, group);
		ch->what = xasprintf(_("set %s to %s (now %s)"), path, want, now);
		set_attrs(ch, owner, group, mode);
	}
out:
	free(host);
	free(now);
	free(want);
	return r;
}

int want_removed(struct ctx *c, const char *path, const char *why)
{
	char *host = NULL;
	struct stat sb;
	int r = host_of(c, path, &host);

	if (r == 0 && lstat(host, &sb) == 0) {
		struct change *ch = add_change(c, CH_REMOVE, path);
		ch->what = xasprintf(_("remove %s (%s)"), path, why);
	}
	free(host);
	return r;
}

int want_not_writable_by_others(struct ctx *c, const char *path)
{
	char *host = NULL, *u = NULL, *g = NULL;
	struct stat sb;
	size_t i;
	int r = host_of(c, path, &host);

	if (r < 0 || seen_stat(c, path, host, &sb) < 0 || S_ISLNK(sb.st_mode) || !(sb.st_mode & 022))
		goto out;
	for (i = 0; i < c->nchanges; i++)
		if (c->changes[i].path && strcmp(c->changes[i].path, path) == 0)
			goto out;	/* already changing it (once per stage) */
	u = root_user_name(c->root, sb.st_uid);
	g = root_group_name(c->root, sb.st_gid);
	r = want_attr(c, path, u, g, sb.st_mode & 07755);
out:
	free(host);
	free(u);
	free(g);
	return r < 0 ? r : 0;
}

static int dir_common(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode,
		      int exact)
{
	char *host = NULL, *now = NULL, *want = NULL;
	struct stat sb;
	int r = host_of(c, path, &host);

	if (r < 0)
		goto out;
	if (seen_stat(c, path, host, &sb) < 0) {
		struct change *ch = add_change(c, CH_DIR, path);
		want = attr_text(mode, owner, group);
		ch->what = xasprintf(_("create directory %s (%s)"), path, want);
		set_attrs(ch, owner, group, mode);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		r = stage_fail(c, _("%s exists but is not a directory; move it away and run again"), path);
		goto out;
	}
	if (exact && attrs_differ(c, &sb, owner, group, mode, &now, 0)) {
		struct change *ch = add_change(c, CH_ATTR, path);
		want = attr_text(mode, owner, group);
		ch->what = xasprintf(_("set directory %s to %s (now %s)"), path, want, now);
		set_attrs(ch, owner, group, mode);
	}
out:
	free(host);
	free(now);
	free(want);
	return r;
}

int want_dir(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode)
{
	return dir_common(c, path, owner, group, mode, 1);
}

int want_dir_exists(struct ctx *c, const char *path, const char *owner, const char *group, mode_t mode)
{
	return dir_common(c, path, owner, group, mode, 0);
}

int want_command(struct ctx *c, const char *what, char *const argv[], char *const touches[], int timeout_ms)
{
	struct change *ch = add_change(c, CH_COMMAND, NULL);
	char *disp = argv_display(argv);
	ch->what = xasprintf(_("run `%s` (%s)"), disp, what);
	free(disp);
	ch->argv = dup_argv(argv);
	ch->touches = dup_argv(touches);
	ch->timeout_ms = timeout_ms;
	return 0;
}

int want_action(struct ctx *c, const char *what, const struct action_type *type, const char *arg)
{
	struct change *ch = add_change(c, CH_ACTION, NULL);
	ch->what = xstrdup(what);
	ch->action = type;
	ch->arg = xstrdup(arg);
	return 0;
}

/* prim_action()'s callbacks: the action type's, with the stage's context. */
struct action_call {
	struct ctx *c;
	const struct action_type *type;
};

static int action_prepare(void *a, const char *arg, char **undo_arg)
{
	struct action_call *ac = a;
	return ac->type->prepare(ac->c, arg, undo_arg);
}

static int action_apply(void *a, const char *arg)
{
	struct action_call *ac = a;
	return ac->type->apply(ac->c, arg);
}

int apply_changes(struct ctx *c)
{
	struct prim *r = c->prim;
	size_t i;
	int rc = 0;

	for (i = 0; i < c->nchanges && rc == 0; i++) {
		struct change *ch = &c->changes[i];
		msg_verbose("  %s", ch->what);
		switch (ch->kind) {
		case CH_FILE:
			if (ch->produce) {
				rc = ch->produce(c, ch);
				if (rc < 0)
					break;
				if (rc > 0) {	/* the producer keeps the file as it is (a renewal that failed) */
					rc = 0;
					break;
				}
			}
			rc = prim_write_file(r, ch->path, ch->data, ch->len, ch->owner, ch->group, ch->mode);
			break;
		case CH_DIR:
			rc = prim_mkdir(r, ch->path, ch->owner, ch->group, ch->mode);
			break;
		case CH_ATTR:
			rc = prim_set_attr(r, ch->path, ch->owner, ch->group, ch->mode);
			break;
		case CH_REMOVE:
			rc = prim_remove(r, ch->path);
			break;
		case CH_COMMAND: {
			struct exec_result res;
			rc = prim_run(r, ch->argv, ch->touches, ch->timeout_ms, &res);
			buf_free(&res.out);
			break;
		}
		case CH_ACTION: {
			struct action_call ac = { c, ch->action };
			rc = prim_action(r, ch->action->name, ch->arg, ch->what, action_prepare, action_apply, &ac);
			break;
		}
		}
	}
	return rc;
}
