/*
 * verify.c - `mailstage verify` and `mailstage dns --check`: the guide's
 * last chapter (services up, logs, a test mail, SPF/DKIM/DMARC in DNS) as a
 * report a program can judge.  Every probe is bounded in time; a timeout is
 * a warning with its reason, never a hang.
 */
#include "verify.h"
#include "i18n.h"
#include "crypto.h"
#include "dkimconf.h"
#include "dnsq.h"
#include "exec.h"
#include "lazylib.h"
#include "msg.h"
#include "steps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <selinux/selinux.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum status { ST_OK, ST_WARN, ST_FAIL };
static const char *const status_name[] = { "ok", "warn", "fail" };

struct check {
	const char *group;
	char *name, *seen, *expected, *fix;
	enum status st;
};

struct report {
	struct check *v;
	size_t n;
	struct strv notes;
};

static void add(struct report *rp, const char *group, enum status st, const char *name, const char *expected,
		const char *fix, const char *fmt, ...) ATTR_PRINTF(7, 8);
static void add(struct report *rp, const char *group, enum status st, const char *name, const char *expected,
		const char *fix, const char *fmt, ...)
{
	va_list ap;
	struct check *c;
	rp->v = xrealloc(rp->v, (rp->n + 1) * sizeof(*rp->v));
	c = &rp->v[rp->n++];
	c->group = group;
	c->st = st;
	c->name = xstrdup(name);
	c->expected = xstrdup(expected ? expected : "");
	c->fix = xstrdup(st == ST_OK || !fix ? "" : fix);
	va_start(ap, fmt);
	c->seen = xvasprintf(fmt, ap);
	va_end(ap);
	{	/* one line per check */
		char *p;
		strip(c->seen);
		for (p = c->seen; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
}

static void report_free(struct report *rp)
{
	size_t i;
	for (i = 0; i < rp->n; i++) {
		free(rp->v[i].name);
		free(rp->v[i].seen);
		free(rp->v[i].expected);
		free(rp->v[i].fix);
	}
	free(rp->v);
	strv_free(&rp->notes);
}

static char *strv_join(const struct strv *s, const char *sep)
{
	struct buf b = { 0 };
	size_t i;
	for (i = 0; i < s->n; i++) {
		if (i)
			buf_puts(&b, sep);
		buf_puts(&b, s->v[i]);
	}
	return buf_steal(&b);
}

/* ---- SPF and DKIM record helpers (unit-tested) ---- */

static int cidr_match(const char *spec, const char *addr)
{
	unsigned char a[16], b[16];
	char net[64];
	const char *slash = strchr(spec, '/');
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET, bits, i;
	size_t nl = slash ? (size_t)(slash - spec) : strlen(spec);

	if (nl >= sizeof(net))
		return 0;
	memcpy(net, spec, nl);
	net[nl] = 0;
	if (inet_pton(fam, net, a) != 1 || inet_pton(fam, addr, b) != 1)
		return 0;
	bits = slash ? atoi(slash + 1) : (fam == AF_INET ? 32 : 128);
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		if ((a[i] & m) != (b[i] & m))
			return 0;
	}
	return 1;
}

int spf_authorises(const char *record, const char *addr, const char *const *a_addrs, char **why)
{
	char *copy = xstrdup(record), *save = NULL, *t;
	int v6 = strchr(addr, ':') != NULL, r = 0, unsure = 0;

	*why = NULL;
	for (t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char q = '+';
		if (strchr("+-~?", *t))
			q = *t++;
		if (q != '+')
			continue;	/* only pass qualifiers authorise */
		if ((!v6 && strncasecmp(t, "ip4:", 4) == 0) || (v6 && strncasecmp(t, "ip6:", 4) == 0)) {
			if (cidr_match(t + 4, addr)) {
				r = 1;
				break;
			}
		} else if (strcasecmp(t, "a") == 0 || strcasecmp(t, "mx") == 0) {
			size_t i;
			for (i = 0; a_addrs && a_addrs[i]; i++)
				if (strcasecmp(a_addrs[i], addr) == 0)
					r = 1;
			if (r)
				break;
		} else if (strncasecmp(t, "include:", 8) == 0 || strncasecmp(t, "redirect=", 9) == 0 ||
			   strncasecmp(t, "a:", 2) == 0 || strncasecmp(t, "mx:", 3) == 0 ||
			   strncasecmp(t, "exists:", 7) == 0) {
			unsure = 1;
			if (!*why)
				*why = xasprintf(_("\"%s\" is not followed by this check"), t);
		}
	}
	free(copy);
	return r ? 1 : unsure ? -1 : 0;
}

char *dkim_p_of(const char *text)
{
	struct buf joined = { 0 };
	const char *p;
	char *v = NULL, *e;
	int inq = 0, any_quote = strchr(text, '"') != NULL;

	/* Join the quoted character-strings of a zone-file record; plain TXT data is taken as is. */
	for (p = text; *p; p++) {
		if (any_quote) {
			if (*p == '"')
				inq = !inq;
			else if (inq)
				buf_append(&joined, p, 1);
		} else {
			buf_append(&joined, p, 1);
		}
	}
	if (!joined.data)
		return NULL;
	for (p = joined.data; (p = strstr(p, "p=")) != NULL; p += 2) {
		if (p == joined.data || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t') {
			v = xstrdup(p + 2);
			break;
		}
	}
	buf_free(&joined);
	if (!v)
		return NULL;
	if ((e = strchr(v, ';')) != NULL)
		*e = 0;
	{	/* drop blanks inside the base64 */
		char *w = v, *r2;
		for (r2 = v; *r2; r2++)
			if (*r2 != ' ' && *r2 != '\t')
				*w++ = *r2;
		*w = 0;
	}
	return v;
}

/* ---- local checks ---- */

static int systemd_host(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static void check_services(struct run *r, struct report *rp)
{
	const char *units[] = { r->prof->svc_postfix, r->prof->svc_opendkim, r->prof->svc_sasl };
	char *act[] = { "systemctl", "is-active", (char *)units[0], (char *)units[1], (char *)units[2], NULL };
	char *en[] = { "systemctl", "is-enabled", (char *)units[0], (char *)units[1], (char *)units[2], NULL };
	struct exec_result ra, re;
	size_t i;

	if (!systemd_host()) {
		add(rp, "local", ST_WARN, _("services"), _("postfix, opendkim and the SASL service active and enabled"),
		    _("run verify on the booted server"), _("not a systemd host: service states cannot be read"));
		return;
	}
	if (exec_run(act, NULL, 10000, &ra) < 0 || exec_run(en, NULL, 10000, &re) < 0) {
		add(rp, "local", ST_FAIL, _("services"), _("systemctl"), _("install systemd"), _("systemctl could not run"));
		return;
	}
	{
		char *as = ra.out.data, *es = re.out.data, *sa = NULL, *se = NULL;
		for (i = 0; i < 3; i++) {
			char *a = strtok_r(i ? NULL : as, "\n", &sa), *e = strtok_r(i ? NULL : es, "\n", &se);
			char *name = xasprintf(_("service %s"), units[i]), *fix = xasprintf(_("systemctl enable --now %s"),
											     units[i]);
			int good = a && e && strcmp(a, "active") == 0 &&
			    (strcmp(e, "enabled") == 0 || strcmp(e, "static") == 0);
			add(rp, "local", good ? ST_OK : ST_FAIL, name, _("active, enabled"), fix, "%s, %s",
			    a ? a : "unknown", e ? e : "unknown");
			free(name);
			free(fix);
		}
	}
	buf_free(&ra.out);
	buf_free(&re.out);
}

static void check_postfix(struct run *r, struct report *rp)
{
	char *cdir = xasprintf("%s%s", r->root.dir, r->prof->postfix_dir);
	char *argv[] = { "postfix", "-c", cdir, "check", NULL };
	struct exec_result res;
	int rc = exec_run(argv, NULL, 30000, &res);

	if (rc < 0)
		add(rp, "local", ST_FAIL, _("postfix check"), _("no warnings"), _("install postfix (mailstage apply)"),
		    _("postfix is not installed"));
	else if (res.exit_code != 0 || res.out.len)
		add(rp, "local", res.exit_code ? ST_FAIL : ST_WARN, _("postfix check"), _("no warnings"),
		    _("read the messages and run mailstage apply"), _("exit %d: %s"), res.exit_code,
		    res.out.len ? strip(res.out.data) : "(no output)");
	else
		add(rp, "local", ST_OK, _("postfix check"), _("no warnings"), NULL, _("clean"));
	buf_free(&res.out);
	free(cdir);
}

/*
 * SELinux mode of this host (the kernel's word): enforcing is ok, permissive
 * a warning (denials are only logged: a wrong label would go unnoticed until
 * someone enforces); disabled, or a --root target, is not reported (as the
 * selinux stage skips it).
 */
static void check_selinux(struct run *r, struct report *rp)
{
	if (!r->root.is_host || is_selinux_enabled() != 1)
		return;
	if (security_getenforce() == 0)
		add(rp, "local", ST_WARN, _("SELinux"), _("enforcing"), _("setenforce 1, and SELINUX=enforcing in /etc/selinux/config"),
		    _("permissive: denials are logged, not enforced"));
	else
		add(rp, "local", ST_OK, _("SELinux"), _("enforcing"), NULL, _("enforcing"));
}

/* Listening TCP ports from /proc/net/tcp and tcp6. */
static int port_listening(unsigned port)
{
	const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	size_t f;
	for (f = 0; f < 2; f++) {
		char *text = NULL, *line, *save = NULL;
		if (read_whole_file(files[f], &text, NULL) < 0)
			continue;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char local[128], st[8];
			unsigned p;
			char *colon;
			if (sscanf(line, "%*s %127s %*s %7s", local, st) != 2 || strcmp(st, "0A") != 0)
				continue;
			colon = strrchr(local, ':');
			if (colon && sscanf(colon + 1, "%x", &p) == 1 && p == port) {
				free(text);
				return 1;
			}
		}
		free(text);
	}
	return 0;
}

static void check_ports(struct report *rp)
{
	static const unsigned ports[] = { 25, 465, 587 };
	static const char *const what[] = { "smtp", N_("smtps (submission over TLS)"), "submission" };
	size_t i;
	for (i = 0; i < 3; i++) {
		char *name = xasprintf(_("port %u listening"), ports[i]);
		int l = port_listening(ports[i]);
		add(rp, "local", l ? ST_OK : ST_FAIL, name, _(what[i]), _("run mailstage apply, then systemctl restart postfix"),
		    "%s", l ? _("listening") : _("nothing listens"));
		free(name);
	}
}

/* Connect with a deadline; returns the fd or -errno. */
static int connect_bounded(const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	socklen_t el = sizeof(err);
	struct pollfd pf;

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) == 0)
		goto done;
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	pf.fd = fd;
	pf.events = POLLOUT;
	if (poll(&pf, 1, timeout_ms) <= 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		close(fd);
		return -(err ? err : EIO);
	}
done:
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static int connect_host(const char *host, const char *port, int timeout_ms, char **why)
{
	struct addrinfo hints, *ai = NULL, *a;
	int fd = -EHOSTUNREACH, g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0) {
		*why = xasprintf(_("cannot resolve %s: %s"), host, gai_strerror(g));
		return -ENOENT;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = connect_bounded(a->ai_addr, a->ai_addrlen, timeout_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		*why = xasprintf("%s:%s: %s", host, port, fd == -ETIMEDOUT ? "no answer (filtered?)" : strerror(-fd));
	return fd;
}

/* Speak the first milter step (option negotiation) to the OpenDKIM socket. */
static void check_milter(struct run *r, struct report *rp)
{
	char *conf = NULL, *err = NULL, *why = NULL, *host = xasprintf("%s%s", r->root.dir, r->prof->opendkim_conf);
	struct dkimconf *dc = NULL;
	const char *sock;
	char port[16] = "8891", addr[256] = "127.0.0.1";
	int fd = -1;

	if (read_whole_file(host, &conf, NULL) < 0 || dkimconf_parse(conf, strlen(conf), &dc, &err) < 0) {
		add(rp, "local", ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"), _("run mailstage apply"),
		    _("cannot read %s"), r->prof->opendkim_conf);
		goto out;
	}
	sock = dkimconf_get(dc, "Socket");
	if (!sock || sscanf(sock, "inet:%15[0-9]@%255s", port, addr) < 1) {
		add(rp, "local", ST_WARN, _("milter"), _("inet:PORT@HOST socket"), _("run mailstage apply"),
		    _("socket \"%s\" is not an inet socket; not probed"), sock ? sock : "(unset)");
		goto out;
	}
	if (strcmp(addr, "localhost") == 0)
		strcpy(addr, "127.0.0.1");
	fd = connect_host(addr, port, 3000, &why);
	if (fd < 0) {
		add(rp, "local", ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"), _("systemctl restart opendkim"),
		    "%s", why);
		goto out;
	}
	{
		/* SMFIC_OPTNEG: length 13, 'O', version 6, actions 0x1ff, protocol 0 */
		unsigned char pkt[17] = { 0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0, 0, 0 };
		unsigned char resp[5];
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n = 0;
		if (write_all(fd, pkt, sizeof(pkt)) == 0 && poll(&pf, 1, 3000) > 0)
			n = read(fd, resp, sizeof(resp));
		if (n == 5 && resp[4] == 'O')
			add(rp, "local", ST_OK, _("milter"), _("OpenDKIM answering on its socket"), NULL,
			    _("milter negotiation answered on %s:%s"), addr, port);
		else
			add(rp, "local", ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"),
			    _("systemctl restart opendkim and read its log"), _("%s:%s accepts connections but does not speak "
			    "the milter protocol"), addr, port);
	}
out:
	if (fd >= 0)
		close(fd);
	if (dc)
		dkimconf_free(dc);
	free(conf);
	free(err);
	free(why);
	free(host);
}

/*
 * A file of the target a check reads: inside the root only (a symlink is
 * followed inside it, never out), a regular file of at most 1 MiB (a FIFO
 * never blocks).  *host is where it resolved, for stat().
 */
#define CHECKED_FILE_MAX (1u << 20)
static int target_file(struct run *r, const char *path, char **host, char **data, size_t *len, char **why)
{
	int rc = root_resolve(&r->root, path, host, why);
	if (rc < 0)
		return rc;
	rc = read_regular_file(*host, CHECKED_FILE_MAX, data, len);
	if (rc < 0)
		*why = xasprintf(rc == -EINVAL ? _("%s is not a regular file") : _("cannot read %s: %s"), path,
				 strerror(-rc));
	return rc;
}

static void check_dkim_key(struct run *r, struct report *rp, char **pub)
{
	char *kp = dkim_key_path(&r->cfg, r->prof), *rp_ = dkim_record_path(&r->cfg, r->prof);
	char *kh = NULL, *rh = NULL;
	char *key = NULL, *rec = NULL, *why = NULL, *rec_p = NULL, *u = NULL, *g = NULL;
	size_t kl = 0;
	struct stat sb;
	int bits;

	*pub = NULL;
	if (target_file(r, kp, &kh, &key, &kl, &why) < 0 || stat(kh, &sb) < 0 ||
	    crypto_key_info(key, kl, &bits, &why) < 0) {
		add(rp, "local", ST_FAIL, _("DKIM key"), _("a readable RSA key"), _("run mailstage apply"), "%s: %s", kp,
		    why ? why : "missing or unreadable");
		goto out;
	}
	u = root_user_name(&r->root, sb.st_uid);
	g = root_group_name(&r->root, sb.st_gid);
	if ((sb.st_mode & 007) || ((sb.st_mode & 070) && strcmp(g, r->prof->opendkim_group) != 0) ||
	    (strcmp(u, r->prof->opendkim_user) != 0 && strcmp(u, "root") != 0))
		add(rp, "local", ST_FAIL, _("DKIM key permissions"), _("readable by opendkim only (opendkim 0600)"),
		    _("run mailstage apply"), _("%s is %04o %s:%s"), kp, (unsigned)(sb.st_mode & 07777), u, g);
	else
		add(rp, "local", ST_OK, _("DKIM key permissions"), _("readable by opendkim only"), NULL, _("%04o %s:%s, %d bits"),
		    (unsigned)(sb.st_mode & 07777), u, g, bits);
	crypto_dkim_public(key, kl, pub);
	free(why);
	why = NULL;
	if (target_file(r, rp_, &rh, &rec, NULL, &why) == 0)
		rec_p = dkim_p_of(rec);
	if (*pub && rec_p && strcmp(*pub, rec_p) == 0)
		add(rp, "local", ST_OK, _("DKIM key matches record"), _("SELECTOR.txt holds this key"), NULL, "%s", rp_);
	else
		add(rp, "local", ST_FAIL, _("DKIM key matches record"), _("SELECTOR.txt holds this key"), _("run mailstage apply"),
		    "%s %s", rp_, rec ? "holds another key" : "is missing");
out:
	if (key)
		crypto_free_secret(key, kl);
	free(kp);
	free(rp_);
	free(kh);
	free(rh);
	free(rec);
	free(why);
	free(rec_p);
	free(u);
	free(g);
}

static void check_tls(struct run *r, struct report *rp)
{
	char *cp = tls_cert_path(&r->cfg, r->prof), *kp = tls_key_path(&r->cfg, r->prof);
	char *ch = NULL, *kh = NULL;
	char *cert = NULL, *key = NULL, *why = NULL;
	size_t cl = 0, kl = 0;
	time_t na = 0;

	int readable = target_file(r, cp, &ch, &cert, &cl, &why) == 0;

	if (readable) {
		free(why);
		why = NULL;
		readable = target_file(r, kp, &kh, &key, &kl, &why) == 0;
	}
	if (!readable) {
		add(rp, "local", ST_FAIL, _("TLS certificate"), _("certificate and key for the hostname"), _("run mailstage apply"),
		    _("%s or %s cannot be read"), cp, kp);
	} else if (crypto_cert_check(cert, cl, key, kl, r->cfg.hostname, &na, &why) < 0) {
		add(rp, "local", ST_FAIL, _("TLS certificate"), _("valid for the hostname, matching its key"),
		    _("replace the certificate (or remove tls_cert/tls_key and run mailstage apply)"), "%s: %s", cp, why);
	} else {
		long days = (long)((na - time(NULL)) / 86400);
		struct stat sb;
		add(rp, "local", days < 30 ? ST_WARN : ST_OK, _("TLS certificate"), _("valid for 30 days or more"),
		    _("renew the certificate"), _("%s: valid for %s, expires in %ld days"), cp, r->cfg.hostname, days);
		if (stat(kh, &sb) == 0 && (sb.st_mode & 027))
			add(rp, "local", ST_FAIL, _("TLS key permissions"), _("readable by its owner and group only"),
			    _("run mailstage apply"), _("%s is %04o"), kp, (unsigned)(sb.st_mode & 07777));
	}
	if (key)
		crypto_free_secret(key, kl);
	free(cert);
	free(why);
	free(cp);
	free(kp);
	free(ch);
	free(kh);
}

/* `postqueue -p`: entries, the oldest deferred one, the last deferral reason. */
static void check_queue(struct report *rp)
{
	char *argv[] = { "postqueue", "-p", NULL };
	struct exec_result res;
	char *line, *save = NULL, *oldest = NULL, *reason = NULL;
	int n = 0;

	if (exec_run(argv, NULL, 15000, &res) < 0 || res.exit_code != 0) {
		add(rp, "local", ST_WARN, _("mail queue"), _("readable"), _("start postfix"), _("postqueue could not read the queue%s%s"),
		    res.out.data ? ": " : "", res.out.data ? strip(res.out.data) : "");
		buf_free(&res.out);
		return;
	}
	for (line = strtok_r(res.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char id[64], dow[8], mon[8], day[8], tm[16];
		if (line[0] == '(') {
			free(reason);
			reason = xstrdup(strip(line));
		} else if (sscanf(line, "%63s %*s %7s %7s %7s %15s", id, dow, mon, day, tm) == 5 &&
			   strchr("0123456789ABCDEF", id[0]) && strcmp(id, "-Queue") != 0) {
			n++;
			if (!oldest)	/* postqueue lists oldest first within a queue */
				oldest = xasprintf("%s %s %s %s (%s)", dow, mon, day, tm, id);
		}
	}
	if (n == 0)
		add(rp, "local", ST_OK, _("mail queue"), _("empty"), NULL, _("empty"));
	else
		add(rp, "local", ST_WARN, _("mail queue"), _("empty"), _("read the reason; `postqueue -f` retries"),
		    ngettext("%d message, oldest %s%s%s", "%d messages, oldest %s%s%s", n), n, oldest ? oldest : "?", reason ? _(", last reason ") : "",
		    reason ? reason : "");
	free(oldest);
	free(reason);
	buf_free(&res.out);
}

static void check_drift(struct run *r, struct report *rp)
{
	struct strv pending = { 0 };
	int rc = run_pending(r, &pending);
	if (pending.n == 0 && rc == 0)
		add(rp, "local", ST_OK, _("managed settings"), _("as mailstage set them"), NULL, _("no drift"));
	else
		add(rp, "local", ST_WARN, _("managed settings"), _("as mailstage set them"),
		    _("run mailstage plan to see the diff, mailstage apply to repair it"), _("%zu pending: %s%s"), pending.n,
		    pending.n ? pending.v[0] : "", pending.n > 1 ? ", ..." : "");
	strv_free(&pending);
}

/* ---- DNS ---- */

static void dns_fail(struct report *rp, const char *name, const char *expected, const char *fix, int rc,
		     const char *why)
{
	add(rp, "dns", rc == -ETIMEDOUT ? ST_WARN : ST_FAIL, name, expected, fix, "%s",
	    rc == -ENOENT ? _("no such record") : why ? why : "lookup failed");
}

static int has(const struct strv *s, const char *v)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		if (strcasecmp(s->v[i], v) == 0)
			return 1;
	return 0;
}

static void check_addr(struct report *rp, const struct dnsq *q, const char *host, enum dnsq_type t,
		       const char *want)
{
	struct strv got = { 0 };
	char *why = NULL, *name = xasprintf("%s %s", t == DNSQ_A ? "A" : "AAAA", host), *fix;
	int rc = dnsq_lookup(q, host, t, &got, &why);
	fix = xasprintf(_("publish %s %s %s"), host, t == DNSQ_A ? "A" : "AAAA", want);
	if (rc < 0) {
		dns_fail(rp, name, want, fix, rc, why);
	} else {
		char *j = strv_join(&got, ", ");
		add(rp, "dns", has(&got, want) ? ST_OK : ST_FAIL, name, want, fix, "%s", j);
		free(j);
	}
	strv_free(&got);
	free(why);
	free(name);
	free(fix);
}

/* Addresses an "a"/"mx" mechanism of the domain may stand for. */
static void domain_addrs(const struct dnsq *q, const char *domain, struct strv *out)
{
	struct strv mx = { 0 };
	char *why = NULL;
	size_t i;
	dnsq_lookup(q, domain, DNSQ_A, out, &why);
	free(why);
	dnsq_lookup(q, domain, DNSQ_AAAA, out, &why);
	free(why);
	if (dnsq_lookup(q, domain, DNSQ_MX, &mx, &why) == 0)
		for (i = 0; i < mx.n; i++) {
			const char *h = strchr(mx.v[i], ' ');
			char *w2 = NULL;
			if (!h)
				continue;
			dnsq_lookup(q, h + 1, DNSQ_A, out, &w2);
			free(w2);
			w2 = NULL;
			dnsq_lookup(q, h + 1, DNSQ_AAAA, out, &w2);
			free(w2);
		}
	free(why);
	strv_free(&mx);
}

static void check_spf(struct run *r, struct report *rp, const struct dnsq *q)
{
	struct strv txt = { 0 }, spf = { 0 }, addrs = { 0 };
	char *why = NULL, *want = xasprintf("v=spf1 ip4:%s%s%s %s", r->cfg.ipv4, r->cfg.ipv6 ? " ip6:" : "",
					    r->cfg.ipv6 ? r->cfg.ipv6 : "", r->cfg.spf_policy);
	char *fix = xasprintf(_("publish one TXT record for %s: \"%s\""), r->cfg.domain, want);
	const char *ips[2] = { r->cfg.ipv4, r->cfg.ipv6 };
	size_t i;
	int rc = dnsq_lookup(q, r->cfg.domain, DNSQ_TXT, &txt, &why);

	for (i = 0; i < txt.n; i++)
		if (strncasecmp(txt.v[i], "v=spf1", 6) == 0 && (txt.v[i][6] == ' ' || !txt.v[i][6]))
			strv_push(&spf, txt.v[i]);
	if (rc < 0 && rc != -ENOENT) {
		dns_fail(rp, "SPF", want, fix, rc, why);
		goto out;
	}
	if (spf.n != 1) {
		if (spf.n)
			add(rp, "dns", ST_FAIL, _("SPF"), _("exactly one v=spf1 record"), fix, _("%zu SPF records (a receiver "
			    "treats that as a permanent error)"), spf.n);
		else
			add(rp, "dns", ST_FAIL, _("SPF"), _("exactly one v=spf1 record"), fix, _("no SPF record"));
		goto out;
	}
	domain_addrs(q, r->cfg.domain, &addrs);
	for (i = 0; i < 2; i++) {
		char *w2 = NULL, *name;
		int a;
		if (!ips[i])
			continue;
		a = spf_authorises(spf.v[0], ips[i], (const char *const *)addrs.v, &w2);
		name = xasprintf(_("SPF authorises %s"), ips[i]);
		add(rp, "dns", a == 1 ? ST_OK : a == 0 ? ST_FAIL : ST_WARN, name, want,
		    i ? _("add ip6:ADDRESS to the SPF record: Postfix sends over IPv6 to receivers with an IPv6 MX") : fix,
		    "%s%s%s", spf.v[0], w2 ? "; " : "", w2 ? w2 : "");
		free(name);
		free(w2);
	}
out:
	strv_free(&txt);
	strv_free(&spf);
	strv_free(&addrs);
	free(why);
	free(want);
	free(fix);
}

static void check_dkim_dns(struct run *r, struct report *rp, const struct dnsq *q, const char *pub)
{
	struct strv txt = { 0 };
	char *name = xasprintf("%s._domainkey.%s", r->cfg.dkim_selector, r->cfg.domain), *why = NULL, *live = NULL;
	char *fix = xasprintf(_("publish the TXT record from `mailstage dns` (%s)"), name);
	int rc = dnsq_lookup(q, name, DNSQ_TXT, &txt, &why);
	size_t i;

	if (rc < 0) {
		dns_fail(rp, _("DKIM record"), _("the key's record"), fix, rc, why);
		goto out;
	}
	for (i = 0; i < txt.n && !live; i++)
		live = dkim_p_of(txt.v[i]);
	if (!pub)
		add(rp, "dns", ST_WARN, _("DKIM record"), _("the key's record"), _("run mailstage apply"), _("%s present, but there "
		    "is no local key to compare it with"), name);
	else if (live && strcmp(live, pub) == 0)
		add(rp, "dns", ST_OK, _("DKIM record"), _("the key's record"), NULL, _("%s matches the key"), name);
	else
		add(rp, "dns", ST_FAIL, _("DKIM record"), _("the key's record"), fix, "%s %s", name,
		    live ? "holds another key (p= differs)" : "has no p= value");
out:
	strv_free(&txt);
	free(name);
	free(why);
	free(live);
	free(fix);
}

static void check_dmarc(struct run *r, struct report *rp, const struct dnsq *q)
{
	struct strv txt = { 0 };
	char *name = xasprintf("_dmarc.%s", r->cfg.domain), *why = NULL;
	char *fix = xasprintf(_("publish the DMARC TXT record from `mailstage dns` (%s)"), name);
	const char *rec = NULL;
	int rc = dnsq_lookup(q, name, DNSQ_TXT, &txt, &why), n = 0;
	size_t i;

	for (i = 0; i < txt.n; i++)
		if (strncasecmp(txt.v[i], "v=DMARC1", 8) == 0)
			rec = txt.v[i], n++;
	if (rc < 0 && rc != -ENOENT)
		dns_fail(rp, _("DMARC record"), _("v=DMARC1; p=..."), fix, rc, why);
	else if (n != 1)
		add(rp, "dns", ST_FAIL, _("DMARC record"), _("exactly one v=DMARC1 record"), fix, _("%d DMARC records at %s"), n, name);
	else {
		const char *p = strstr(rec, "p=");
		while (p && p > rec && p[-1] != ';' && p[-1] != ' ')
			p = strstr(p + 2, "p=");
		if (!p || !(strncmp(p + 2, "none", 4) == 0 || strncmp(p + 2, "quarantine", 10) == 0 ||
			    strncmp(p + 2, "reject", 6) == 0))
			add(rp, "dns", ST_FAIL, _("DMARC record"), _("p=none|quarantine|reject"), fix, "%s", rec);
		else
			add(rp, "dns", ST_OK, _("DMARC record"), _("v=DMARC1 with a valid p="), NULL, "%s", rec);
	}
	strv_free(&txt);
	free(name);
	free(why);
	free(fix);
}

static void check_mx(struct run *r, struct report *rp, const struct dnsq *q)
{
	struct strv mx = { 0 };
	char *why = NULL, *want = xasprintf("10 %s", r->cfg.hostname);
	char *fix = xasprintf(_("publish %s MX 10 %s"), r->cfg.domain, r->cfg.hostname);
	int rc = dnsq_lookup(q, r->cfg.domain, DNSQ_MX, &mx, &why), found = 0;
	size_t i;

	for (i = 0; i < mx.n; i++) {
		const char *h = strchr(mx.v[i], ' ');
		if (h && strcasecmp(h + 1, r->cfg.hostname) == 0)
			found = 1;
	}
	if (rc < 0)
		dns_fail(rp, "MX", want, fix, rc, why);
	else {
		char *j = strv_join(&mx, ", ");
		add(rp, "dns", found ? ST_OK : ST_WARN, _("MX"), want, fix, "%s", j);
		free(j);
	}
	strv_free(&mx);
	free(why);
	free(want);
	free(fix);
}

static void check_ptr(struct run *r, struct report *rp, const struct dnsq *q, const char *ip)
{
	struct strv ptr = { 0 }, fwd = { 0 };
	char *rev = dnsq_reverse_name(ip), *why = NULL, *name = xasprintf("PTR %s", ip);
	const char *fix = _("set the reverse DNS (PTR) of the address to the hostname in the Sakura VPS control panel "
			    "(the A record must exist first)");
	int rc = rev ? dnsq_lookup(q, rev, DNSQ_PTR, &ptr, &why) : -EINVAL;

	if (rc < 0)
		dns_fail(rp, name, r->cfg.hostname, fix, rc, why);
	else if (!has(&ptr, r->cfg.hostname))
		add(rp, "dns", ST_FAIL, name, r->cfg.hostname, fix, "%s", ptr.v[0]);
	else {
		char *w2 = NULL;
		int fr = dnsq_lookup(q, r->cfg.hostname, strchr(ip, ':') ? DNSQ_AAAA : DNSQ_A, &fwd, &w2);
		add(rp, "dns", fr == 0 && has(&fwd, ip) ? ST_OK : ST_FAIL, name, r->cfg.hostname, fix,
		    "%s%s", r->cfg.hostname, fr == 0 && has(&fwd, ip) ? " (forward-confirmed)" : ", but its address "
		    "does not point back");
		free(w2);
	}
	strv_free(&ptr);
	strv_free(&fwd);
	free(rev);
	free(why);
	free(name);
}

/* ---- network ---- */

static void check_port25(struct run *r, struct report *rp, int timeout_s)
{
	char host[256], *why = NULL;
	const char *colon = strrchr(r->cfg.port25_probe, ':');
	int fd;

	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - r->cfg.port25_probe) : 255, r->cfg.port25_probe);
	fd = connect_host(host, colon ? colon + 1 : "25", timeout_s * 1000, &why);
	if (fd >= 0) {
		close(fd);
		add(rp, "network", ST_OK, _("outbound port 25"), _("reachable"), NULL, _("connected to %s"), r->cfg.port25_probe);
	} else {
		add(rp, "network", ST_WARN, _("outbound port 25"), _("reachable"),
		    _("ask the provider to lift the port 25 block (Sakura VPS: the control panel or the API's "
		    "outbound_port_25_blocking)"), "%s", why);
	}
	free(why);
}

static void check_rbl(struct run *r, struct report *rp, const struct dnsq *q)
{
	size_t i;
	for (i = 0; i < r->cfg.rbl.n; i++) {
		unsigned char b[4];
		char *name, *why = NULL, *label = xasprintf(_("%s blocklist"), r->cfg.rbl.v[i]);
		struct strv got = { 0 };
		int rc;
		if (inet_pton(AF_INET, r->cfg.ipv4, b) != 1) {
			free(label);
			continue;
		}
		name = xasprintf("%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], r->cfg.rbl.v[i]);
		rc = dnsq_lookup(q, name, DNSQ_A, &got, &why);
		if (rc == -ENOENT)
			add(rp, "network", ST_OK, label, _("not listed"), NULL, _("%s not listed"), r->cfg.ipv4);
		else if (rc < 0)
			add(rp, "network", ST_WARN, label, _("not listed"), _("retry later"), "%s", why ? why : _("lookup failed"));
		else if (str_starts_with(got.v[0], "127.255.255."))
			add(rp, "network", ST_WARN, label, _("not listed"), _("query the blocklist through your own resolver"),
			    _("the blocklist refused the query (%s)"), got.v[0]);
		else
			add(rp, "network", ST_WARN, label, _("not listed"), _("request delisting at the blocklist's web site"),
			    _("%s is listed (%s)"), r->cfg.ipv4, got.v[0]);
		strv_free(&got);
		free(why);
		free(name);
		free(label);
	}
}

/* ---- a test message through the local server ---- */

struct smtp_log {
	struct buf in;
};

static int smtp_debug(CURL *c, curl_infotype t, char *data, size_t n, void *arg)
{
	(void)c;
	if (t == CURLINFO_HEADER_IN)
		buf_append(&((struct smtp_log *)arg)->in, data, n);
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t smtp_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;
	memcpy(ptr, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static void send_test(struct run *r, struct report *rp, const struct verify_opts *v)
{
	char *from = xasprintf("postmaster@%s", r->cfg.domain), msgid[64], *msg, *qid = NULL;
	char *user = NULL, *pass = NULL, *lazy_why = NULL;
	unsigned char rnd[8];
	struct smtp_log lg = { { 0 } };
	time_t now = time(NULL);
	char date[64];

	random_bytes(rnd, sizeof(rnd));
	snprintf(msgid, sizeof(msgid), "mailstage-%02x%02x%02x%02x%02x%02x%02x%02x@%s", rnd[0], rnd[1], rnd[2], rnd[3],
		 rnd[4], rnd[5], rnd[6], rnd[7], r->cfg.hostname);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime(&now));
	msg = xasprintf("From: <%s>\r\nTo: <%s>\r\nSubject: mailstage verify test\r\nDate: %s\r\nMessage-ID: <%s>\r\n\r\n"
			"A test message from `mailstage verify --send-test`.\r\n", from, v->send_test, date, msgid);
	if (v->auth_file) {
		char *text = NULL, *save = NULL;
		if (read_whole_file(v->auth_file, &text, NULL) == 0) {
			char *u = strtok_r(text, "\n", &save), *p = strtok_r(NULL, "\n", &save);
			user = u ? xstrdup(strip(u)) : NULL;
			pass = p ? xstrdup(strip(p)) : NULL;
			memset(text, 0, strlen(text));
		}
		free(text);
	}
	if (user && pass && lazy_curl(&lazy_why) < 0) {
		add(rp, "mail", ST_FAIL, _("test message"), _("accepted on 587 with STARTTLS and AUTH"), _("install libcurl"),
		    "%s", lazy_why);
	} else if (user && pass) {
		CURL *c = curl_easy_init();
		struct curl_slist *rcpt = curl_slist_append(NULL, v->send_test);
		struct upload up = { msg, strlen(msg) };
		char *url = xasprintf("smtp://127.0.0.1:587/%s", r->cfg.hostname);
		CURLcode cr;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);	/* the local, maybe self-signed, certificate */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);	/* else libcurl >= 7.34 sends VRFY */
		curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, smtp_debug);
		curl_easy_setopt(c, CURLOPT_DEBUGDATA, &lg);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cr = curl_easy_perform(c);
		if (cr != CURLE_OK) {
			add(rp, "mail", ST_FAIL, _("test message"), _("accepted on 587 with STARTTLS and AUTH"),
			    _("check the SASL service and `journalctl -u postfix`"), "%s", curl_easy_strerror(cr));
		} else {
			const char *q = lg.in.data ? strstr(lg.in.data, "queued as ") : NULL;
			if (q) {
				size_t l = strcspn(q + 10, "\r\n ");
				qid = xstrndup(q + 10, l);
			}
			add(rp, "mail", ST_OK, _("test message"), _("accepted on 587 with STARTTLS and AUTH"), NULL,
			    _("queued as %s"), qid ? qid : "?");
		}
		curl_slist_free_all(rcpt);
		curl_easy_cleanup(c);
		free(url);
	} else {
		char *argv[] = { "sendmail", "-oi", "-f", from, (char *)v->send_test, NULL };
		struct exec_result res;
		if (exec_run(argv, msg, 30000, &res) < 0 || res.exit_code != 0)
			add(rp, "mail", ST_FAIL, _("test message"), _("accepted by sendmail"), _("read `journalctl -u postfix`"),
			    _("sendmail failed%s%s"), res.out.data ? ": " : "", res.out.data ? res.out.data : "");
		else
			add(rp, "mail", ST_OK, _("test message"), _("accepted by sendmail"), NULL, _("submitted, Message-ID <%s>"), msgid);
		buf_free(&res.out);
	}
	/* Did Postfix log the DKIM signature for it?  Ask the journal, then the classic log files. */
	{
		int signed_ = 0, tries;
		for (tries = 0; tries < 10 && !signed_; tries++) {
			char *jargv[] = { "journalctl", "-q", "--no-pager", "-o", "cat", "--since", "-5min", NULL };
			struct exec_result jr;
			const char *logs[] = { "/var/log/mail.log", "/var/log/maillog" };
			size_t i;
			struct buf all = { 0 };
			if (exec_run(jargv, NULL, 10000, &jr) == 0 && jr.out.data)
				buf_puts(&all, jr.out.data);
			buf_free(&jr.out);
			for (i = 0; i < 2; i++) {
				char *t = NULL;
				if (read_whole_file(logs[i], &t, NULL) == 0)
					buf_puts(&all, t);
				free(t);
			}
			if (all.data) {
				/* The queue id of a sendmail submission is found through its Message-ID. */
				if (!qid) {
					const char *m = strstr(all.data, msgid);
					if (m) {
						const char *ls = m;
						while (ls > all.data && ls[-1] != '\n')
							ls--;
						{
							const char *c2 = strstr(ls, ": message-id=");
							const char *b = c2;
							while (b && b > ls && b[-1] != ' ')
								b--;
							if (c2 && b)
								qid = xstrndup(b, (size_t)(c2 - b));
						}
					}
				}
				if (qid) {
					char *needle = xasprintf("%s: DKIM-Signature field added", qid);
					signed_ = strstr(all.data, needle) != NULL;
					free(needle);
				}
			}
			buf_free(&all);
			if (!signed_)
				sleep(1);
		}
		add(rp, "mail", signed_ ? ST_OK : ST_WARN, _("DKIM signature logged"), _("DKIM-Signature field added"),
		    _("check that OpenDKIM runs in Mode sv and that smtpd_milters points at it"), "%s",
		    signed_ ? _("OpenDKIM signed the test message") : qid ? _("no DKIM line in the log for it yet") :
								     _("the queue id was not found in the log"));
	}
	free(qid);
	free(lazy_why);
	free(user);
	if (pass)
		memset(pass, 0, strlen(pass));
	free(pass);
	free(msg);
	free(from);
	buf_free(&lg.in);
}

/* ---- the report ---- */

/* The group headings of the text report, translated (JSON keeps the names). */
static const char *group_title(const char *g)
{
	static const char *const titles[] = { N_("local"), N_("dns"), N_("network"), N_("mail") };
	size_t i;
	for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strcmp(g, titles[i]) == 0)
			return _(titles[i]);
	return g;
}

static void print_report(const struct report *rp, int json, int show_expected)
{
	size_t i, counts[3] = { 0, 0, 0 };
	const char *group = NULL;

	for (i = 0; i < rp->n; i++)
		counts[rp->v[i].st]++;
	if (json) {
		struct buf b = { 0 };
		buf_puts(&b, "{\"checks\":[");
		for (i = 0; i < rp->n; i++) {
			const struct check *c = &rp->v[i];
			char *n = json_str(c->name), *s = json_str(c->seen), *e = json_str(c->expected), *f = json_str(c->fix);
			buf_printf(&b, "%s{\"group\":\"%s\",\"name\":%s,\"status\":\"%s\",\"seen\":%s,\"expected\":%s,\"fix\":%s}",
				   i ? "," : "", c->group, n, status_name[c->st], s, e, f);
			free(n);
			free(s);
			free(e);
			free(f);
		}
		buf_puts(&b, "],\"notes\":[");
		for (i = 0; i < rp->notes.n; i++) {
			char *n = json_str(rp->notes.v[i]);
			buf_printf(&b, "%s%s", i ? "," : "", n);
			free(n);
		}
		buf_printf(&b, "],\"ok\":%zu,\"warn\":%zu,\"fail\":%zu}\n", counts[0], counts[1], counts[2]);
		fputs(b.data, stdout);
		buf_free(&b);
		return;
	}
	for (i = 0; i < rp->n; i++) {
		const struct check *c = &rp->v[i];
		if (!group || strcmp(group, c->group) != 0)
			printf("%s%s\n", group ? "\n" : "", group_title(c->group));
		group = c->group;
		printf("  %-4s  %-28s %s%s\n", c->st == ST_OK ? "ok" : c->st == ST_WARN ? "WARN" : "FAIL", c->name,
		       show_expected ? _("found: ") : "", c->seen);
		if (c->st != ST_OK || show_expected) {
			if (*c->expected)
				printf(_("        %-28s expected: %s\n"), "", c->expected);
			if (*c->fix)
				printf(_("        %-28s fix: %s\n"), "", c->fix);
		}
	}
	for (i = 0; i < rp->notes.n; i++)
		printf(_("%snote: %s\n"), i ? "" : "\n", rp->notes.v[i]);
	printf(_("\n%zu ok, %zu warnings, %zu failed\n"), counts[0], counts[1], counts[2]);
}

int cmd_verify(const struct run_opts *o, const struct verify_opts *v)
{
	struct run r;
	struct report rp = { 0 };
	struct dnsq q = { (char *)v->resolver, (char *)v->doh, v->timeout_s > 0 ? v->timeout_s : 3 };
	char *pub = NULL;
	size_t i;
	int rc = run_setup(&r, o, "verify", 1);

	if (rc != EXIT_OK)
		goto out;
	r.dry = 1;
	if (!v->dns_only) {
		check_services(&r, &rp);
		check_postfix(&r, &rp);
		check_selinux(&r, &rp);
		check_ports(&rp);
		check_milter(&r, &rp);
		check_tls(&r, &rp);
		check_queue(&rp);
		check_drift(&r, &rp);
	}
	if (v->dns_only) {
		struct report scratch = { 0 };	/* only the public key is wanted */
		check_dkim_key(&r, &scratch, &pub);
		report_free(&scratch);
	} else {
		check_dkim_key(&r, &rp, &pub);
	}
	check_addr(&rp, &q, r.cfg.hostname, DNSQ_A, r.cfg.ipv4);
	if (r.cfg.ipv6)
		check_addr(&rp, &q, r.cfg.hostname, DNSQ_AAAA, r.cfg.ipv6);
	check_mx(&r, &rp, &q);
	check_spf(&r, &rp, &q);
	check_dkim_dns(&r, &rp, &q, pub);
	check_dmarc(&r, &rp, &q);
	check_ptr(&r, &rp, &q, r.cfg.ipv4);
	if (r.cfg.ipv6)	/* Postfix sends over IPv6 too: receivers check that PTR as well */
		check_ptr(&r, &rp, &q, r.cfg.ipv6);
	if (!v->dns_only) {
		check_port25(&r, &rp, q.timeout_s);
		check_rbl(&r, &rp, &q);
		strv_push(&rp.notes, _("Sakura VPS: when the control panel's packet filter is enabled, it must also "
				       "allow TCP 25, 465 and 587; it is outside the server and this check cannot see it."));
		if (v->send_test)
			send_test(&r, &rp, v);
	}
	print_report(&rp, o->json, v->dns_only);
	rc = EXIT_OK;
	for (i = 0; i < rp.n; i++)
		if (rp.v[i].st == ST_FAIL)
			rc = EXIT_FAILED;
out:
	free(pub);
	report_free(&rp);
	run_free(&r);
	return rc;
}
