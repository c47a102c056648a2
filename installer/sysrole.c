/*
 * sysrole.c - re-run a command as a transient system service where the
 * caller's SELinux role may not enter the mail domains (see sysrole.h).
 *
 * The question is put to the loaded policy itself, not to a table: is
 * "user:role:system_mail_t:level", with the caller's user, role and level,
 * a valid context (security_check_context)?  system_mail_t is the domain
 * newaliases and sendmail run in, in Debian's reference policy and in EL's
 * targeted policy alike.  Valid: the role may enter it, nothing to do.
 */
#include "sysrole.h"

#include "i18n.h"
#include "lazyse.h"
#include "msg.h"

#include "exec.h"
#include "exitcode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSROLE_GUARD "MAILSTAGE_SYSROLE"
#define SYSROLE_PROBE_TYPE "system_mail_t"

int sysrole_role_of(const char *con, char *buf, size_t size)
{
	const char *a = con ? strchr(con, ':') : NULL, *b;
	size_t n;

	if (!a)
		return -EINVAL;
	b = strchr(++a, ':');
	n = b ? (size_t)(b - a) : 0;
	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(buf, a, n);
	buf[n] = '\0';
	return 0;
}

/* The caller's variables the service keeps: the locale, and mailstage's own. */
static int passed_on(const char *kv)
{
	return strncmp(kv, "LANG=", 5) == 0 || strncmp(kv, "LANGUAGE=", 9) == 0 || strncmp(kv, "LC_", 3) == 0 ||
	       (strncmp(kv, "MAILSTAGE_", 10) == 0 && strncmp(kv, SYSROLE_GUARD "=", sizeof(SYSROLE_GUARD)) != 0);
}

void sysrole_argv(struct strv *out, const char *self, const char *cwd, const char *unit, const char *dir, int argc,
		  char **argv, char *const *env)
{
	char *s;
	int i;

	memset(out, 0, sizeof(*out));
	strv_push(out, "systemd-run");
	/* --wait: systemd 232; --collect, --working-directory, file: outputs 236 (Debian 12 has 252, EL8 239) */
	strv_push(out, "--quiet");
	strv_push(out, "--wait");
	strv_push(out, "--collect");
	s = xasprintf("--unit=%s", unit);
	strv_push(out, s);
	free(s);
	strv_push(out, "--description=mailstage (as a system service: the SELinux role system_r)");
	s = xasprintf("--working-directory=%s", cwd);
	strv_push(out, s);
	free(s);
	s = xasprintf("--property=StandardOutput=file:%s/out", dir);
	strv_push(out, s);
	free(s);
	s = xasprintf("--property=StandardError=file:%s/err", dir);
	strv_push(out, s);
	free(s);
	for (i = 0; env && env[i]; i++)
		if (passed_on(env[i])) {
			s = xasprintf("--setenv=%s", env[i]);
			strv_push(out, s);
			free(s);
		}
	strv_push(out, "--setenv=" SYSROLE_GUARD "=1");
	strv_push(out, "--");
	strv_push(out, self);
	for (i = 1; i < argc; i++)
		strv_push(out, argv[i]);
}

/* 1 when the policy refuses this process's role the mail domain; 0 when it may, or nothing is to be done. */
static int role_refused(char *role, size_t size)
{
	char *con = NULL, *probe = NULL;
	const char *type, *level;
	int refused = 0;

#ifdef MAILSTAGE_TEST_HOOKS
	/* Test builds: MAILSTAGE_TEST_SYSROLE=ROLE stands for a policy that refuses ROLE (55-sysrole on a
	 * systemd without SELinux); the service it starts counts as system_r. */
	const char *t = getenv("MAILSTAGE_TEST_SYSROLE");
	if (t && *t) {
		snprintf(role, size, "%s", t);
		return !getenv(SYSROLE_GUARD);
	}
#endif
	if (!lazy_selinux_enforcing() || getcon_raw(&con) < 0)
		goto out;
	if (sysrole_role_of(con, role, size) < 0 || strcmp(role, "system_r") == 0)
		goto out;
	type = strchr(strchr(con, ':') + 1, ':');	/* ":type[:level]" (sysrole_role_of found both colons) */
	level = strchr(type + 1, ':');
	probe = xasprintf("%.*s%s%s", (int)(type + 1 - con), con, SYSROLE_PROBE_TYPE, level ? level : "");
	refused = security_check_context_raw(probe) < 0;
out:
	if (con)
		freecon(con);
	free(probe);
	return refused;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* What the service wrote to PATH since the last call, to fd `to` (opened once it exists). */
static void copy_new(int *fd, const char *path, int to)
{
	char chunk[8192];
	ssize_t n;

	if (*fd < 0)
		*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	while (*fd >= 0 && (n = read(*fd, chunk, sizeof(chunk))) > 0) {
		char *p = chunk;
		while (n > 0) {
			ssize_t w = write(to, p, (size_t)n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;	/* our own output is gone: the service goes on */
			p += w, n -= w;
		}
	}
}

/* Run a (NULL-terminated) systemd-run argv as a child, copying DIR/out and DIR/err meanwhile; its exit code. */
static int run_as_service(const char *prog, char **a, const char *unit, const char *dir)
{
	struct sigaction sa, old_int, old_term;
	char *out = xasprintf("%s/out", dir), *err = xasprintf("%s/err", dir);
	int fo = -1, fe = -1, status = 0, rc = EXIT_SOFTWARE, sent = 0;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	pid = fork();
	if (pid == 0) {
		extern char **environ;
		signal(SIGINT, SIG_IGN);	/* the interrupt goes to the service, not to its waiter */
		signal(SIGTERM, SIG_IGN);
		execve(prog, a, environ);
		_exit(127);
	}
	if (pid < 0) {
		msg_error(_("SELinux: cannot start %s: %s"), prog, strerror(errno));
		goto out;
	}
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		copy_new(&fo, out, 1);
		copy_new(&fe, err, 2);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (interrupted && !sent) {
			char *u = xstrdup(unit);
			char *kill_argv[] = { "systemctl", "kill", "--kill-who=main", "--signal=SIGINT", u, NULL };
			struct exec_result res;
			if (exec_run(kill_argv, NULL, 10000, &res) == 0)
				buf_free(&res.out);
			free(u);
			sent = 1;
		}
		poll(NULL, 0, 100);
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
out:
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	unlink(out);
	unlink(err);
	rmdir(dir);
	free(out);
	free(err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

int sysrole_reexec_if_needed(const char *root, int argc, char **argv)
{
	extern char **environ;
	char role[64], self[PATH_MAX], cwd[PATH_MAX], dir[] = "/run/mailstage-sysrole.XXXXXX", *unit = NULL;
	char *prog = NULL;
	struct strv a;
	ssize_t n;
	int rc;

	if (root && strcmp(root, "/") != 0)
		return 0;	/* another root: the host's programs do not run on it */
	if (!role_refused(role, sizeof(role)))
		return 0;
	if (getenv(SYSROLE_GUARD)) {
		msg_warn(_("SELinux: run as a system service, yet in the role %s, which may not enter %s; "
			   "package scripts and firewalld may be refused (see the unit's SELinuxContext=)"),
			 role, SYSROLE_PROBE_TYPE);
		return 0;
	}
	prog = exec_find("systemd-run");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!prog || access("/run/systemd/system", F_OK) < 0 || n <= 0 || !getcwd(cwd, sizeof(cwd)) || !mkdtemp(dir)) {
		msg_warn(_("SELinux: the role %s may not enter %s, and systemd-run cannot start mailstage as a "
			   "system service here; package scripts and firewalld may be refused (run it from a unit: "
			   "systemd-run --wait --pty mailstage ...)"), role, SYSROLE_PROBE_TYPE);
		free(prog);
		return 0;
	}
	self[n] = '\0';
	msg_verbose(_("SELinux: the role %s may not enter %s; running again as a system service (systemd-run)"),
		    role, SYSROLE_PROBE_TYPE);
	unit = xasprintf("mailstage-sysrole-%ld.service", (long)getpid());
	sysrole_argv(&a, self, cwd, unit, dir, argc, argv, environ);
	fflush(NULL);
	rc = run_as_service(prog, a.v, unit, dir);
	strv_free(&a);
	free(unit);
	free(prog);
	exit(rc);
}
