/*
 * testutil.c - helpers shared by the cmocka unit tests (see testutil.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

int tu_run(char *const argv[], struct buf *out, struct buf *err)
{
	char errpath[] = "/tmp/mailstage-test-stderr.XXXXXX";
	int fds[2], status, efd = -1, r = -1;
	char chunk[4096];
	ssize_t n;
	pid_t pid;

	if (err && err != out && (efd = mkstemp(errpath)) < 0)
		return -1;
	if (pipe(fds) < 0)
		goto out;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		if (efd >= 0)
			dup2(efd, 2);
		else if (err)
			dup2(fds[1], 2);
		else if (devnull >= 0)
			dup2(devnull, 2);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf_append(out, chunk, (size_t)n);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			goto out;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (efd >= 0) {
		char *e = NULL;
		size_t elen = 0;

		if (read_whole_file(errpath, &e, &elen) == 0)
			buf_append(err, e, elen);
		free(e);
	}
out:
	if (efd >= 0) {
		close(efd);
		unlink(errpath);
	}
	return r;
}

int tu_run_str(char *const argv[], char **out, char **err)
{
	struct buf o = { 0 }, e = { 0 };
	int r = tu_run(argv, &o, &e);

	*out = buf_steal(&o);
	*err = buf_steal(&e);
	return r;
}

const char *tu_find_tool(const char *name)
{
	static char path[256];
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

void tu_write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write_all(fd, text, len) < 0)
		fail_msg("cannot write %s: %s", p, strerror(errno));
	close(fd);
	free(p);
}

char *tu_read_file(const char *path, size_t *len)
{
	char *data = NULL;
	size_t n = 0;

	if (read_whole_file(path, &data, &n) < 0)
		fail_msg("cannot read %s (the tests run from the repository root)", path);
	if (len)
		*len = n;
	return data;
}

char *tu_read_case(const char *set, const char *file, size_t *len)
{
	char *path = xasprintf("tests/cases/%s/%s", set, file);
	char *data = tu_read_file(path, len);

	free(path);
	return data;
}

void tu_rm_rf(const char *path)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", (char *)path, NULL };
	struct buf out = { 0 };

	tu_run(argv, &out, NULL);
	buf_free(&out);
}
