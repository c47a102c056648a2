/*
 * msg.c - diagnostics on stderr and the systemd journal.
 */
#include "msg.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <dlfcn.h>
#include <systemd/sd-journal.h>

/*
 * libsystemd (with libgcrypt, liblz4, libzstd, liblzma and libcap behind it)
 * is opened with dlopen() when the first journal record is written, not
 * mapped into every run: the lazylib.h way, kept here so that this bottom
 * floor calls nothing above it.  Its ABI name is the same from systemd 219
 * (EL7) to 252 (Debian 12).
 */
#define LAZY_SYSTEMD_SONAME "libsystemd.so.0"

static __typeof__(sd_journal_send) *journal_send(void)
{
	static __typeof__(sd_journal_send) *fn;
	static int tried;

	if (!tried) {
		void *h = dlopen(LAZY_SYSTEMD_SONAME, RTLD_NOW | RTLD_LOCAL);
		void *p = h ? dlsym(h, "sd_journal_send") : NULL;
		tried = 1;
		memcpy(&fn, &p, sizeof(fn));	/* a data pointer to a function pointer, as POSIX allows */
	}
	return fn;	/* NULL without libsystemd: no journal record, as without a journal */
}

int msg_verbosity = MSG_NORMAL;
const char *msg_progname = "mailstage";
int msg_journal_enabled = 1;

/*
 * Messages quote what they read from the target (os-release, config lines,
 * file names): a terminal control byte in there is shown as \xHH, never
 * sent to the terminal.  Newline and tab stay (multi-line tool output).
 */
/* prefix, s escaped, newline: into out (room for strlen(prefix) + 4 * strlen(s) + 2). */
static size_t put_escaped(char *out, const char *prefix, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(prefix);

	memcpy(out, prefix, n);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n++] = '\n';
	return n;
}

/* One line, one write: stderr is unbuffered, and a byte at a time was a system call each. */
static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	char *s = xvasprintf(fmt, ap);
	char *line = malloc(strlen(prefix) + 4 * strlen(s) + 2);

	if (line) {
		fwrite(line, 1, put_escaped(line, prefix, s), stderr);
		free(line);
	} else {
		fputs(prefix, stderr);	/* no memory: unescaped rather than nothing */
		fputs(s, stderr);
		fputc('\n', stderr);
	}
	free(s);
}

void msg_info(const char *fmt, ...)
{
	va_list ap;
	if (msg_verbosity < MSG_NORMAL)
		return;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void msg_verbose(const char *fmt, ...)
{
	va_list ap;
	if (msg_verbosity < MSG_VERBOSE)
		return;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), _("%s: warning: "), msg_progname);
	va_start(ap, fmt);
	vsay(prefix, fmt, ap);
	va_end(ap);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), _("%s: error: "), msg_progname);
	va_start(ap, fmt);
	vsay(prefix, fmt, ap);
	va_end(ap);
}

void msg_fatal(int exit_code, const char *fmt, ...)
{
	va_list ap;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s: ", msg_progname);
	va_start(ap, fmt);
	vsay(prefix, fmt, ap);
	va_end(ap);
	exit(exit_code);
}

void msg_journal(int priority, const char *run, const char *stage, const char *action,
		 const char *path, const char *fmt, ...)
{
	va_list ap;
	char *m;
	__typeof__(sd_journal_send) *send;

	if (!msg_journal_enabled || access("/run/systemd/journal/socket", W_OK) != 0 || !(send = journal_send()))
		return;
	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	/*
	 * MESSAGE and the MAILSTAGE_* fields are English (their formats are
	 * never translated) so admins' greps and alerts work in any locale; a
	 * change description or error text inserted with %s is in the run's
	 * language (English for --json runs such as mailstage-converge.service).
	 */
	send("MESSAGE=%s", m, "PRIORITY=%d", priority,
			"SYSLOG_IDENTIFIER=mailstage",
			"MAILSTAGE_RUN=%s", run ? run : "",
			"MAILSTAGE_STAGE=%s", stage ? stage : "",
			"MAILSTAGE_ACTION=%s", action ? action : "",
			"MAILSTAGE_PATH=%s", path ? path : "", NULL);
	free(m);
}
