/*
 * exec.c - run a program by argv with a timeout; no shell anywhere.
 */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const search_path[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin", NULL };

char *exec_find(const char *prog)
{
	size_t i;
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? xstrdup(prog) : NULL;
	for (i = 0; search_path[i]; i++) {
		char *p = xasprintf("%s/%s", search_path[i], prog);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int exec_exists(const char *prog)
{
	char *p = exec_find(prog);
	free(p);
	return p != NULL;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int exec_run(char *const argv[], const char *input, int timeout_ms, struct exec_result *res)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	int outp[2] = { -1, -1 }, inp[2] = { -1, -1 }, errp[2] = { -1, -1 }, rc = 0, status;
	size_t in_off = 0, in_len = input ? strlen(input) : 0;
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
	char *prog;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	prog = exec_find(argv[0]);
	if (!prog)
		return -ENOENT;
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(inp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		int e;
		setpgid(0, 0);
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		dup2(outp[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execve(prog, argv, envp);
		e = errno;
		(void)!write(errp[1], &e, sizeof(e));
		_exit(127);
	}
	setpgid(pid, pid);
	close(inp[0]), inp[0] = -1;
	close(outp[1]), outp[1] = -1;
	close(errp[1]), errp[1] = -1;
	if (in_len == 0)
		close(inp[1]), inp[1] = -1;
	else
		fcntl(inp[1], F_SETFL, O_NONBLOCK);

	for (;;) {
		struct pollfd pf[2];
		int nf = 0, left = (int)(deadline - now_ms());
		char chunk[8192];

		if (left <= 0) {
			kill(-pid, SIGKILL);
			res->timed_out = 1;
			break;
		}
		pf[nf].fd = outp[0], pf[nf].events = POLLIN, nf++;
		if (inp[1] >= 0)
			pf[nf].fd = inp[1], pf[nf].events = POLLOUT, nf++;
		if (poll(pf, nf, left) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			kill(-pid, SIGKILL);
			break;
		}
		if (nf > 1 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(inp[1], input + in_off, in_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				in_off = in_len;
			if (in_off >= in_len)
				close(inp[1]), inp[1] = -1;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(outp[0], chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			buf_append(&res->out, chunk, (size_t)n);
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* A daemonizing child may keep the group alive; it is not ours to wait for. */
	{
		int e = 0;
		if (read(errp[0], &e, sizeof(e)) == (ssize_t)sizeof(e) && e) {
			rc = -e;
			goto out;
		}
	}
	if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->exit_code = 128 + WTERMSIG(status);
	if (!res->out.data)
		buf_append(&res->out, "", 0);
out:
	free(prog);
	if (outp[0] >= 0) close(outp[0]);
	if (outp[1] >= 0) close(outp[1]);
	if (inp[0] >= 0) close(inp[0]);
	if (inp[1] >= 0) close(inp[1]);
	if (errp[0] >= 0) close(errp[0]);
	if (errp[1] >= 0) close(errp[1]);
	return rc;
}
