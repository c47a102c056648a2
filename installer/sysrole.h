/*
 * sysrole.h - run as a system service where the caller's SELinux role may
 * not enter the mail domains.
 *
 * Debian's reference policy gives a root login (unconfined_u:unconfined_r:
 * unconfined_t) no way into the domains the mail packages run their
 * programs in: postfix's postinst fails with `newaliases: Permission
 * denied` (exit 126, the execve refused), and firewalld may not answer that
 * domain on D-Bus.  Under system_r, the role of every unit, both work.  So
 * on such a host, a command that starts system programs is run again as a
 * transient service (`systemd-run --wait`): the same binary, arguments,
 * working directory and locale, and its exit code.
 *
 * Its output is not passed as descriptors (`systemd-run --pipe` hands them
 * to PID 1 through dbus-daemon, and the policy lets dbus-daemon `use` no
 * descriptor of a root login's: "Connection reset by peer", seen in the VM):
 * PID 1 opens two files of a fresh 0700 directory under /run for the
 * service's stdout and stderr (StandardOutput=file:), and this process
 * copies them to its own stdout and stderr as they grow.  An interrupt is
 * passed on to the service (systemctl kill -s SIGINT).
 * Where the policy lets the role in, nothing changes (EL's targeted policy
 * is expected to let unconfined_r in; no EL VM here has shown it).
 */
#ifndef MAILSTAGE_SYSROLE_H
#define MAILSTAGE_SYSROLE_H

#include "util.h"

/* The role field of a context "user:role:type[:level]" into buf; -EINVAL when it has none. */
int sysrole_role_of(const char *con, char *buf, size_t size);

/*
 * The systemd-run argv (NULL-terminated, in *out) that runs `self argv[1..]`
 * as the transient service `unit` in cwd, its stdout and stderr the files
 * DIR/out and DIR/err, with the locale variables of the caller (LANG,
 * LANGUAGE, LC_*), mailstage's own (MAILSTAGE_*) and MAILSTAGE_SYSROLE=1
 * (the guard against a second re-run).  Free with strv_free.
 */
void sysrole_argv(struct strv *out, const char *self, const char *cwd, const char *unit, const char *dir, int argc,
		  char **argv, char *const *env);

/*
 * Re-run this command under system_r when it is needed, and possible: root is
 * the live host ("/"), SELinux is enforcing, the current role is not
 * system_r, the policy refuses this role the domain newaliases runs in
 * (system_mail_t), PID 1 is systemd and systemd-run is there.  Does not
 * return when it re-runs: exits with the service's exit code.
 * Returns 0 when there is nothing to do, and warns (one line, with the fix)
 * when it is needed but impossible.
 */
int sysrole_reexec_if_needed(const char *root, int argc, char **argv);

#endif
