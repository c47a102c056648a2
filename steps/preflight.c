/*
 * preflight.c - stage "preflight": refuse, before anything changes, a run
 * that cannot succeed, and report what the later stages will meet.
 *
 * Refusals (stage_refuse, exit codes of installer/runner.h):
 *   77 EXIT_NOPERM   not root, unless --root is a directory the user owns
 *   78 EXIT_CONFIG   hostname not an FQDN; a firewall service firewalld does
 *                    not know; another MTA (sendmail, exim, ...) listening on
 *                    TCP port 25 (named in the message); only one of
 *                    sakura_api_key_file and sakura_server_id set
 *   77 EXIT_NOPERM   the Sakura API key file readable by others or not root's
 *   74 EXIT_IOERR    less than 200 MB free on the target root
 *   (78 for an unsupported OS is given by the runner's profile detection,
 *   before any stage runs.)
 * Reports (stage_note, never refusals): the hostname not resolving (yet) to
 * the configured address, the SELinux mode, outbound TCP port 25 not
 * reachable (a bounded connect to port25_probe), firewalld not running, the
 * Sakura VPS API's outbound port 25 limitation (when its keys are set).
 *
 * The host checks (port 25 listeners, DNS, probe, SELinux, firewalld) look at
 * the running host, so they are made only when --root is "/": a scratch root
 * is not this host's business.  preflight records no change.
 */
#include "i18n.h"
#include "steps.h"
#include "exitcode.h"
#include "lazyse.h"	/* is_selinux_enabled() loads libselinux only where SELinux may be on */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>	/* TCP_LISTEN */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <time.h>
#include <unistd.h>

#define MIN_FREE_MB 200
#define DNS_TIMEOUT_MS 3000
#define PROBE_TIMEOUT_MS 5000

/* ---- port 25 listeners ---- */

int preflight_listen_inodes(const char *text, unsigned port, unsigned long *inodes, size_t max)
{
	const char *p = text;
	size_t n = 0;

	/* Skip the header line; then "sl local rem st tx:rx tr:tm retr uid timeout inode". */
	p = strchr(p, '\n');
	while (p && *++p && n < max) {
		char local[80];
		unsigned st = 0;
		unsigned long inode = 0;
		const char *colon;
		if (sscanf(p, "%*s %79s %*s %x %*s %*s %*s %*u %*u %lu", local, &st, &inode) == 3 &&
		    st == 0x0A && (colon = strrchr(local, ':')) && strtoul(colon + 1, NULL, 16) == port &&
		    inode)
			inodes[n++] = inode;
		p = strchr(p, '\n');
	}
	return (int)n;
}

/* Does process pid (a /proc entry name) hold one of the socket inodes?  1 with *comm and *exe, else 0. */
static int proc_holds(const char *pid, const unsigned long *inodes, size_t n, char **comm, char **exe)
{
	char path[300], link[300];
	DIR *fds;
	struct dirent *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	if (!(fds = opendir(path)))
		return 0;
	while (!found && (f = readdir(fds))) {
		char fp[600];
		ssize_t l;
		unsigned long ino;
		size_t i;
		if (f->d_name[0] == '.')
			continue;
		snprintf(fp, sizeof(fp), "%s/%s", path, f->d_name);
		l = readlink(fp, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (i = 0; i < n && !found; i++)
			found = inodes[i] == ino;
	}
	closedir(fds);
	if (found) {
		char *c = NULL;
		ssize_t l;
		snprintf(path, sizeof(path), "/proc/%s/comm", pid);
		*comm = xstrdup(read_whole_file(path, &c, NULL) == 0 ? strip(c) : "?");
		free(c);
		snprintf(path, sizeof(path), "/proc/%s/exe", pid);
		l = readlink(path, link, sizeof(link) - 1);
		*exe = xstrdup(l > 0 ? (link[l] = 0, link) : "");
	}
	return found;
}

/*
 * Postfix's master writes its pid here ($queue_directory/pid/master.pid;
 * the queue directory is /var/spool/postfix on every supported platform).
 * A re-run finds the listener there at once, without reading the
 * descriptors of every process; anything else, and every process is looked at.
 */
#define POSTFIX_MASTER_PID "/var/spool/postfix/pid/master.pid"

/* The program owning one of the socket inodes: 0 with *pid and *comm, -ENOENT when none. */
static int socket_owner(const unsigned long *inodes, size_t n, pid_t *pid, char **comm, char **exe)
{
	DIR *proc;
	struct dirent *d;
	char *text = NULL;
	int r = -ENOENT;

	if (read_whole_file(POSTFIX_MASTER_PID, &text, NULL) == 0) {
		const char *p = strip(text);
		if (*p && strspn(p, "0123456789") == strlen(p) && proc_holds(p, inodes, n, comm, exe)) {
			*pid = (pid_t)atoi(p);
			r = 0;
		}
	}
	free(text);
	if (r == 0)
		return 0;
	if (!(proc = opendir("/proc")))
		return -errno;
	while (r == -ENOENT && (d = readdir(proc))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		if (proc_holds(d->d_name, inodes, n, comm, exe)) {
			*pid = (pid_t)atoi(d->d_name);
			r = 0;
		}
	}
	closedir(proc);
	return r;
}

/* Postfix's own master process may hold port 25 (a re-run): that is not a conflict. */
static int is_postfix(const char *comm, const char *exe)
{
	return strcmp(comm, "master") == 0 && (!*exe || strstr(exe, "postfix"));
}

/*
 * The inodes of the TCP sockets of one family listening on port, asked of
 * the kernel by NETLINK_SOCK_DIAG (inet_diag, Linux 3.3; what ss uses): it
 * walks the listening sockets only, where /proc/net/tcp prints every
 * connection of the host (milliseconds on a busy one).  How many were
 * found, or -errno when the kernel does not answer (no inet_diag).
 */
static int diag_listeners(int family, unsigned port, unsigned long *inodes, size_t max)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl sa;
	long buf[8192 / sizeof(long)];	/* aligned for the netlink headers */
	int fd, r = 0, done = 0;
	size_t n = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (unsigned char)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = 1u << TCP_LISTEN;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto out;
	}
	while (!done) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		int len = (int)got;
		struct nlmsghdr *h;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : -EIO;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = e->error < 0 ? e->error : -EIO;
				goto out;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
				const struct inet_diag_msg *m = NLMSG_DATA(h);
				if (ntohs(m->id.idiag_sport) == port && m->idiag_inode && n < max)
					inodes[n++] = m->idiag_inode;
			}
		}
	}
	r = (int)n;
out:
	close(fd);
	return r;
}

static int check_port25(struct ctx *c)
{
	static const struct {
		int family;
		const char *file;	/* the same, when the kernel has no inet_diag */
	} fams[] = { { AF_INET, "/proc/net/tcp" }, { AF_INET6, "/proc/net/tcp6" } };
	unsigned long inodes[64];
	size_t n = 0, i;
	pid_t pid = 0;
	char *comm = NULL, *exe = NULL;
	int r = 0;

	for (i = 0; i < ARRAY_SIZE(fams); i++) {
		char *text = NULL;
		int k = diag_listeners(fams[i].family, 25, inodes + n, ARRAY_SIZE(inodes) - n);
		if (k >= 0)
			n += (size_t)k;
		else if (read_whole_file(fams[i].file, &text, NULL) == 0)
			n += (size_t)preflight_listen_inodes(text, 25, inodes + n, ARRAY_SIZE(inodes) - n);
		free(text);
	}
	if (n == 0)
		return 0;
	if (socket_owner(inodes, n, &pid, &comm, &exe) < 0) {
		stage_note(c, _("something listens on TCP port 25 but its process is not visible here; "
			   "if it is not Postfix, Postfix cannot start"));
		return 0;
	}
	if (!is_postfix(comm, exe))
		r = stage_refuse(c, EXIT_CONFIG,
				 _("another program owns TCP port 25: %s (pid %ld%s%s); another MTA cannot run "
				 "beside Postfix: stop and remove it (e.g. `systemctl disable --now %s` and "
				 "remove its package), then run again"), comm, (long)pid, *exe ? ", " : "", exe,
				 comm);
	free(comm);
	free(exe);
	return r;
}

/* ---- bounded name resolution ---- */

/* getaddrinfo with a timeout (getaddrinfo_a): 0 and *res, or -ETIMEDOUT / -ENOENT / -errno. */
static int resolve(const char *host, const char *port, int socktype, int timeout_ms, struct addrinfo **res)
{
	struct addrinfo hints, *out = NULL;
	struct gaicb cb, *list[1] = { &cb };
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	memset(&cb, 0, sizeof(cb));
	cb.ar_name = host;
	cb.ar_service = port;
	cb.ar_request = &hints;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0)
		return -EAGAIN;
	while ((r = gai_error(&cb)) == EAI_INPROGRESS) {
		if (gai_suspend((const struct gaicb *const *)list, 1, &ts) == EAI_AGAIN) {
			if (gai_cancel(&cb) == EAI_NOTCANCELED) {
				/* Still running in its thread: wait for it to finish before cb goes away. */
				while (gai_error(&cb) == EAI_INPROGRESS)
					gai_suspend((const struct gaicb *const *)list, 1, NULL);
			}
			if (cb.ar_result)
				freeaddrinfo(cb.ar_result);
			return -ETIMEDOUT;
		}
	}
	out = cb.ar_result;
	if (r != 0) {
		if (out)
			freeaddrinfo(out);
		return r == EAI_NONAME || r == EAI_NODATA ? -ENOENT : -EHOSTUNREACH;
	}
	*res = out;
	return 0;
}

static void check_dns(struct ctx *c)
{
	struct addrinfo *res = NULL, *a;
	struct buf got = { 0 };
	int match4 = 0, match6 = 0, r;

	r = resolve(c->cfg->hostname, NULL, SOCK_STREAM, DNS_TIMEOUT_MS, &res);
	if (r < 0) {
		stage_note(c, _("%s does not resolve yet (%s): publish its A record (%s) before sending mail"),
			   c->cfg->hostname, r == -ETIMEDOUT ? _("no answer within 3 s") :
			   r == -ENOENT ? _("no such name") : _("lookup failed"), c->cfg->ipv4);
		return;
	}
	for (a = res; a; a = a->ai_next) {
		char txt[INET6_ADDRSTRLEN];
		struct in6_addr want6;
		struct in_addr want4;
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)a->ai_addr;
			inet_ntop(AF_INET, &s->sin_addr, txt, sizeof(txt));
			if (inet_pton(AF_INET, c->cfg->ipv4, &want4) == 1 && want4.s_addr == s->sin_addr.s_addr)
				match4 = 1;
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)a->ai_addr;
			inet_ntop(AF_INET6, &s->sin6_addr, txt, sizeof(txt));
			if (c->cfg->ipv6 && inet_pton(AF_INET6, c->cfg->ipv6, &want6) == 1 &&
			    memcmp(&want6, &s->sin6_addr, sizeof(want6)) == 0)
				match6 = 1;
		} else {
			continue;
		}
		if (!strstr(got.data ? got.data : "", txt))
			buf_printf(&got, "%s%s", got.len ? " " : "", txt);
	}
	freeaddrinfo(res);
	if (!match4)
		stage_note(c, _("%s resolves to %s, not to the configured ipv4 %s: fix its A record (DNS is "
			   "often published after the install)"), c->cfg->hostname, got.len ? got.data : _("nothing"),
			   c->cfg->ipv4);
	if (c->cfg->ipv6 && !match6)
		stage_note(c, _("%s has no AAAA record for the configured ipv6 %s"), c->cfg->hostname, c->cfg->ipv6);
	buf_free(&got);
}

/* ---- outbound port 25 ---- */

/* Connect to host:port within timeout_ms: 0, or -errno (-ETIMEDOUT). */
int preflight_probe(const char *hostport, int timeout_ms, char **why)
{
	const char *colon = strrchr(hostport, ':');
	char *host = NULL, *port = NULL;
	struct addrinfo *res = NULL, *a;
	int r, fd = -1;

	*why = NULL;
	if (!colon || colon == hostport || !colon[1]) {
		*why = xasprintf(_("\"%s\" is not host:port"), hostport);
		return -EINVAL;
	}
	host = xstrndup(hostport, (size_t)(colon - hostport));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	port = xstrdup(colon + 1);
	r = resolve(host, port, SOCK_STREAM, timeout_ms, &res);
	if (r < 0) {
		*why = xasprintf(_("cannot resolve %s: %s"), host,
				 r == -ETIMEDOUT ? _("no answer in time") : r == -ENOENT ? _("no such name") : _("lookup failed"));
		goto out;
	}
	r = -EHOSTUNREACH;
	for (a = res; a; a = a->ai_next) {
		struct pollfd pfd;
		int err = 0;
		socklen_t el = sizeof(err);
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			r = 0;
			break;
		}
		if (errno != EINPROGRESS) {
			r = -errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0) {
			if (err == 0) {
				r = 0;
				break;
			}
			r = -err;
		} else {
			r = -ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	if (r < 0)
		*why = xasprintf(_("connect to %s port %s: %s"), host, port,
				 r == -ETIMEDOUT ? _("no answer (filtered?)") : strerror(-r));
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	free(host);
	free(port);
	return r;
}

static void check_outbound(struct ctx *c)
{
	char *why = NULL;
	if (!c->cfg->port25_probe || !*c->cfg->port25_probe)
		return;
	if (preflight_probe(c->cfg->port25_probe, PROBE_TIMEOUT_MS, &why) < 0)
		stage_note(c, _("outbound TCP port 25 looks blocked (%s): this server may not be able to deliver "
			   "mail; on Sakura VPS outbound port 25 can be blocked per server (ask support or "
			   "check the control panel)"), why);
	free(why);
}

/* ---- SELinux and firewalld facts ---- */

static void check_selinux(struct ctx *c)
{
	int en = is_selinux_enabled();
	if (en <= 0) {
		stage_note(c, _("SELinux is disabled: the selinux stage will skip booleans and file contexts"));
		return;
	}
	if (security_getenforce() == 0)
		stage_note(c, _("SELinux is permissive: denials are logged, not enforced"));
}

/* The pid of a process named firewalld (no exec: /proc/PID/comm), or 0. */
static int check_firewalld(struct ctx *c)
{
	if (c->cfg->firewall_services.n == 0)
		return 0;
	if (!firewalld_installed(c)) {
		stage_note(c, _("firewalld is not installed: no host firewall is opened; make sure TCP 25, 465 "
			   "and 587 are open in whatever filters this server"));
		return 0;
	}
	if (!firewalld_pid()) {
		stage_note(c, _("firewalld is installed but not running: the firewall stage writes its permanent "
			   "configuration with firewall-offline-cmd"));
		return 0;
	}
	return firewalld_unanswerable(c);
}

/* ---- the stage ---- */

static int check(struct ctx *c)
{
	const char *dir = c->root->is_host ? "/" : c->root->dir;
	struct statvfs vfs;
	struct stat sb;
	char *why = NULL;
	int r;

	/* Root, or an unprivileged run on a scratch root the user owns. */
	if (geteuid() != 0) {
		if (c->root->is_host)
			return stage_refuse(c, EXIT_NOPERM, _("mailstage must run as root (sudo mailstage ...); "
					    "--root DIR lets a user work on a directory of their own"));
		if (stat(dir, &sb) < 0 || sb.st_uid != geteuid())
			return stage_refuse(c, EXIT_NOPERM, _("--root %s is not owned by you (uid %ld): run as "
					    "root or use a directory you own"), dir, (long)geteuid());
	}
	if (!valid_fqdn(c->cfg->hostname) || !strchr(c->cfg->hostname, '.'))
		return stage_refuse(c, EXIT_CONFIG, _("hostname \"%s\" is not a fully qualified domain name; "
				    "set hostname = mail.%s in %s"), c->cfg->hostname ? c->cfg->hostname : "",
				    c->cfg->domain ? c->cfg->domain : "example.com", c->cfg->path ? c->cfg->path :
				    _("the configuration"));
	if (statvfs(dir, &vfs) == 0) {
		unsigned long long freemb = (unsigned long long)vfs.f_bavail * vfs.f_frsize / (1024 * 1024);
		if (freemb < MIN_FREE_MB)
			return stage_refuse(c, EXIT_IOERR, _("only %llu MB free on %s; mailstage needs %d MB for "
					    "packages and backups: free some space and run again"), freemb, dir,
					    MIN_FREE_MB);
	}
	/* Ed25519 needs the platform's OpenSSL and OpenDKIM (profile data, RFC 8463) */
	if (config_dkim_ed25519(c->cfg) && !c->prof->dkim_ed25519)
		return stage_refuse(c, EXIT_CONFIG, _("dkim_algorithms names ed25519-sha256, but %s (%s) cannot "
				    "sign with Ed25519: its %s has no Ed25519 and its OpenDKIM cannot use it; set "
				    "dkim_algorithms = rsa-sha256 in %s"), c->prof->description, c->prof->name,
				    c->prof->openssl_version ? c->prof->openssl_version : "OpenSSL",
				    c->cfg->path ? c->cfg->path : _("the configuration"));
	r = firewall_services_known(c, &why);
	if (r < 0) {
		r = stage_refuse(c, EXIT_CONFIG, "%s", why);
		free(why);
		return r;
	}
	/* the Sakura VPS API keys: refused here, before anything changes (77/78) */
	if ((r = provider_preflight(c)) < 0)
		return r;
	if (!c->root->is_host)
		return 0;
	if ((r = check_port25(c)) < 0)
		return r;
	check_selinux(c);
	if ((r = check_firewalld(c)) < 0)
		return r;
	check_dns(c);
	check_outbound(c);
	return 0;
}

const struct stage stage_preflight = {
	.name = "preflight",
	.summary = N_("refuse early: root, FQDN hostname, 200 MB free, firewall service names, no other MTA "
		   "on port 25; report DNS, SELinux, outbound port 25, firewalld"),
	.check = check,
};
STAGE_REGISTER(stage_preflight);
