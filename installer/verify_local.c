/*
 * verify_local.c - the checks of `mailstage verify` on the server itself:
 * services, `postfix check`, the ports, the milter, the TLS certificate
 * (on disk, and as Postfix serves it on 25, 465 and 587), the queue, drift from what mailstage set (through the runner's plan)
 * and the DKIM key.  One function per check, one line in the table at the
 * end (installer/verify_check.h says how).
 */
#include "verify.h"
#include "verify_check.h"
#include "crypto.h"
#include "dkimconf.h"
#include "exec.h"
#include "i18n.h"
#include "lazylib.h"
#include "lazyse.h"
#include "runner.h"
#include "steps.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int systemd_host(void)
{
	return access("/run/systemd/system", F_OK) == 0;
}

static void check_services(struct vctx *vc)
{
	const char *units[] = { vc->prof->svc_postfix, vc->prof->svc_opendkim, vc->prof->svc_sasl };
	char *act[] = { "systemctl", "is-active", (char *)units[0], (char *)units[1], (char *)units[2], NULL };
	char *en[] = { "systemctl", "is-enabled", (char *)units[0], (char *)units[1], (char *)units[2], NULL };
	struct exec_result ra, re;
	size_t i;

	if (!systemd_host()) {
		verify_add(vc, ST_WARN, _("services"), _("postfix, opendkim and the SASL service active and enabled"),
		    _("run verify on the booted server"), _("not a systemd host: service states cannot be read"));
		return;
	}
	if (exec_run(act, NULL, 10000, &ra) < 0 || exec_run(en, NULL, 10000, &re) < 0) {
		verify_add(vc, ST_FAIL, _("services"), _("systemctl"), _("install systemd"), _("systemctl could not run"));
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
			verify_add(vc, good ? ST_OK : ST_FAIL, name, _("active, enabled"), fix, "%s, %s",
			    a ? a : "unknown", e ? e : "unknown");
			free(name);
			free(fix);
		}
	}
	buf_free(&ra.out);
	buf_free(&re.out);
}

static void check_postfix(struct vctx *vc)
{
	char *cdir = xasprintf("%s%s", vc->root->dir, vc->prof->postfix_dir);
	char *argv[] = { "postfix", "-c", cdir, "check", NULL };
	struct exec_result res;
	int rc = exec_run(argv, NULL, 30000, &res);

	if (rc < 0)
		verify_add(vc, ST_FAIL, _("postfix check"), _("no warnings"), _("install postfix (mailstage apply)"),
		    _("postfix is not installed"));
	else if (res.exit_code != 0 || res.out.len)
		verify_add(vc, res.exit_code ? ST_FAIL : ST_WARN, _("postfix check"), _("no warnings"),
		    _("read the messages and run mailstage apply"), _("exit %d: %s"), res.exit_code,
		    res.out.len ? strip(res.out.data) : "(no output)");
	else
		verify_add(vc, ST_OK, _("postfix check"), _("no warnings"), NULL, _("clean"));
	buf_free(&res.out);
	free(cdir);
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

static void check_ports(struct vctx *vc)
{
	static const unsigned ports[] = { 25, 465, 587 };
	static const char *const what[] = { "smtp", N_("smtps (submission over TLS)"), "submission" };
	size_t i;
	for (i = 0; i < 3; i++) {
		char *name = xasprintf(_("port %u listening"), ports[i]);
		int l = port_listening(ports[i]);
		verify_add(vc, l ? ST_OK : ST_FAIL, name, _(what[i]), _("run mailstage apply, then systemctl restart postfix"),
		    "%s", l ? _("listening") : _("nothing listens"));
		free(name);
	}
}

/* Speak the first milter step (option negotiation) to the OpenDKIM socket. */
static void check_milter(struct vctx *vc)
{
	char *conf = NULL, *err = NULL, *why = NULL, *host = xasprintf("%s%s", vc->root->dir, vc->prof->opendkim_conf);
	struct dkimconf *dc = NULL;
	const char *sock;
	char port[16] = "8891", addr[256] = "127.0.0.1";
	int fd = -1;

	if (read_whole_file(host, &conf, NULL) < 0 || dkimconf_parse(conf, strlen(conf), &dc, &err) < 0) {
		verify_add(vc, ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"), _("run mailstage apply"),
		    _("cannot read %s"), vc->prof->opendkim_conf);
		goto out;
	}
	sock = dkimconf_get(dc, "Socket");
	if (!sock || sscanf(sock, "inet:%15[0-9]@%255s", port, addr) < 1) {
		verify_add(vc, ST_WARN, _("milter"), _("inet:PORT@HOST socket"), _("run mailstage apply"),
		    _("socket \"%s\" is not an inet socket; not probed"), sock ? sock : "(unset)");
		goto out;
	}
	if (strcmp(addr, "localhost") == 0)
		strcpy(addr, "127.0.0.1");
	fd = verify_connect_host(addr, port, 3000, &why);
	if (fd < 0) {
		verify_add(vc, ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"), _("systemctl restart opendkim"),
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
			verify_add(vc, ST_OK, _("milter"), _("OpenDKIM answering on its socket"), NULL,
			    _("milter negotiation answered on %s:%s"), addr, port);
		else
			verify_add(vc, ST_FAIL, _("milter"), _("OpenDKIM answering on its socket"),
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
int verify_target_file(struct vctx *vc, const char *path, char **host, char **data, size_t *len, char **why)
{
	int rc = root_resolve(vc->root, path, host, why);
	if (rc < 0)
		return rc;
	rc = read_regular_file(*host, CHECKED_FILE_MAX, data, len);
	if (rc < 0)
		*why = xasprintf(rc == -EINVAL ? _("%s is not a regular file") : _("cannot read %s: %s"), path,
				 strerror(-rc));
	return rc;
}

static void check_dkim_key(struct vctx *vc)
{
	char *kp = dkim_key_path(vc->cfg, vc->prof), *rp_ = dkim_record_path(vc->cfg, vc->prof);
	char *kh = NULL, *rh = NULL;
	char *key = NULL, *rec = NULL, *why = NULL, *rec_p = NULL, *u = NULL, *g = NULL;
	size_t kl = 0;
	struct stat sb;
	int bits;

	if (verify_target_file(vc, kp, &kh, &key, &kl, &why) < 0 || stat(kh, &sb) < 0 ||
	    crypto_key_info(key, kl, &bits, &why) < 0) {
		verify_add(vc, ST_FAIL, _("DKIM key"), _("a readable RSA key"), _("run mailstage apply"), "%s: %s", kp,
		    why ? why : "missing or unreadable");
		goto out;
	}
	u = root_user_name(vc->root, sb.st_uid);
	g = root_group_name(vc->root, sb.st_gid);
	if ((sb.st_mode & 007) || ((sb.st_mode & 070) && strcmp(g, vc->prof->opendkim_group) != 0) ||
	    (strcmp(u, vc->prof->opendkim_user) != 0 && strcmp(u, "root") != 0))
		verify_add(vc, ST_FAIL, _("DKIM key permissions"), _("readable by opendkim only (opendkim 0600)"),
		    _("run mailstage apply"), _("%s is %04o %s:%s"), kp, (unsigned)(sb.st_mode & 07777), u, g);
	else
		verify_add(vc, ST_OK, _("DKIM key permissions"), _("readable by opendkim only"), NULL, _("%04o %s:%s, %d bits"),
		    (unsigned)(sb.st_mode & 07777), u, g, bits);
	crypto_dkim_public(key, kl, &vc->dkim_pub);
	free(why);
	why = NULL;
	if (verify_target_file(vc, rp_, &rh, &rec, NULL, &why) == 0)
		rec_p = dkim_p_of(rec);
	if (vc->dkim_pub && rec_p && strcmp(vc->dkim_pub, rec_p) == 0)
		verify_add(vc, ST_OK, _("DKIM key matches record"), _("SELECTOR.txt holds this key"), NULL, "%s", rp_);
	else
		verify_add(vc, ST_FAIL, _("DKIM key matches record"), _("SELECTOR.txt holds this key"), _("run mailstage apply"),
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

static void check_tls(struct vctx *vc)
{
	char *cp = tls_cert_path(vc->cfg, vc->prof), *kp = tls_key_path(vc->cfg, vc->prof);
	char *ch = NULL, *kh = NULL;
	char *cert = NULL, *key = NULL, *why = NULL;
	size_t cl = 0, kl = 0;
	time_t na = 0;

	int readable = verify_target_file(vc, cp, &ch, &cert, &cl, &why) == 0;

	if (readable) {
		free(why);
		why = NULL;
		readable = verify_target_file(vc, kp, &kh, &key, &kl, &why) == 0;
	}
	if (!readable) {
		verify_add(vc, ST_FAIL, _("TLS certificate"), _("certificate and key for the hostname"), _("run mailstage apply"),
		    _("%s or %s cannot be read"), cp, kp);
	} else if (crypto_cert_check(cert, cl, key, kl, vc->cfg->hostname, &na, &why) < 0) {
		verify_add(vc, ST_FAIL, _("TLS certificate"), _("valid for the hostname, matching its key"),
		    _("replace the certificate (or remove tls_cert/tls_key and run mailstage apply)"), "%s: %s", cp, why);
	} else {
		long days = (long)((na - time(NULL)) / 86400);
		struct stat sb;
		verify_add(vc, days < 30 ? ST_WARN : ST_OK, _("TLS certificate"), _("valid for 30 days or more"),
		    _("renew the certificate"), _("%s: valid for %s, expires in %ld days"), cp, vc->cfg->hostname, days);
		if (stat(kh, &sb) == 0 && (sb.st_mode & 027))
			verify_add(vc, ST_FAIL, _("TLS key permissions"), _("readable by its owner and group only"),
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

/*
 * The certificate as clients see it: libcurl connects to the local
 * listener on 25 and 587 (STARTTLS) and 465 (TLS) under the hostname
 * (CURLOPT_RESOLVE to the loopback address), and verifies the chain and the
 * name the way a mail client does.  Trusted: the certificate file itself
 * when mailstage made it self-signed (the check is then that Postfix
 * serves that very certificate; clients will warn about it, which the
 * finding says), else the system's trust store.  Where libcurl gives the
 * served chain (CURLINFO_CERTINFO), the served leaf is compared with the
 * file, so a Postfix still serving an old certificate after a renewal is
 * found (it needs `systemctl reload postfix`).
 */
static char *pem_body(const char *pem)
{
	const char *b = strstr(pem, "-----BEGIN CERTIFICATE-----"), *e;
	struct buf out = { 0 };
	if (!b)
		return NULL;
	b += strlen("-----BEGIN CERTIFICATE-----");
	if (!(e = strstr(b, "-----END CERTIFICATE-----")))
		return NULL;
	for (; b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t')
			buf_append(&out, b, 1);
	return buf_steal(&out);
}

/* The served leaf's PEM body from libcurl's certinfo, or NULL when libcurl does not give it. */
static char *served_leaf(CURL *c)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *l;
	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return NULL;
	for (l = ci->certinfo[0]; l; l = l->next)
		if (strncmp(l->data, "Cert:", 5) == 0)
			return pem_body(l->data + 5);
	return NULL;
}

/* One connection to the local listener on port under the hostname; the served leaf in *leaf when libcurl gives it. */
static CURLcode tls_connect(struct vctx *vc, unsigned port, const char *cafile, int verify, char **leaf)
{
	char *url = xasprintf("%s://%s:%u/", port == 465 ? "smtps" : "smtp", vc->cfg->hostname, port);
	const char *addrs[] = { "127.0.0.1", "::1" };
	CURLcode cr = CURLE_COULDNT_CONNECT;
	size_t a;

	*leaf = NULL;
	for (a = 0; a < 2 && (cr == CURLE_COULDNT_CONNECT || cr == CURLE_OPERATION_TIMEDOUT); a++) {
		CURL *c = curl_easy_init();
		char *res = xasprintf("%s:%u:%s", vc->cfg->hostname, port, addrs[a]);
		struct curl_slist *rl = curl_slist_append(NULL, res);
		free(res);
		if (!c || !rl) {
			if (c)
				curl_easy_cleanup(c);
			curl_slist_free_all(rl);
			cr = CURLE_OUT_OF_MEMORY;
			break;
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_RESOLVE, rl);
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
		if (cafile)
			curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
		curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(vc->opts->timeout_s > 0 ? vc->opts->timeout_s : 5));
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cr = curl_easy_perform(c);
		if (cr == CURLE_OK)
			*leaf = served_leaf(c);
		curl_easy_cleanup(c);
		curl_slist_free_all(rl);
	}
	free(url);
	return cr;
}

/* Whom a served chain must verify against: the file itself (self-signed), the system store, or acme_ca_file. */
enum anchor { ANCHOR_SELF, ANCHOR_STORE, ANCHOR_ACME_CA };

static void tls_served_one(struct vctx *vc, unsigned port, enum anchor an, const char *cafile, const char *file_body)
{
	char *name = xasprintf(_("TLS served on %u"), port), *leaf = NULL, *other = NULL;
	const char *exp = port == 465 ? _("TLS with a certificate that verifies for the hostname") :
	    _("STARTTLS with a certificate that verifies for the hostname");
	CURLcode cr = tls_connect(vc, port, cafile, 1, &leaf);

	/* Not verified: is it another certificate than the file's (not reloaded after a renewal)? */
	if (cr != CURLE_OK && cr != CURLE_COULDNT_CONNECT && cr != CURLE_OPERATION_TIMEDOUT)
		(void)tls_connect(vc, port, NULL, 0, &other);
	if ((leaf && file_body && strcmp(leaf, file_body) != 0) || (other && file_body && strcmp(other, file_body) != 0))
		verify_add(vc, ST_FAIL, name, exp, _("systemctl reload postfix (it still serves an older certificate)"),
		    _("another certificate than the one in the certificate file"));
	else if (cr != CURLE_OK)
		verify_add(vc, ST_FAIL, name, exp, an != ANCHOR_STORE ? _("run mailstage apply, then systemctl reload postfix") :
		    _("install a certificate that chains to a public CA (tls_acme = yes, or tls_cert/tls_key)"),
		    "%s", curl_easy_strerror(cr));
	else if (an == ANCHOR_ACME_CA)
		verify_add(vc, ST_OK, name, exp, NULL, _("verifies for %s against acme_ca_file %s%s"),
		    vc->cfg->hostname, vc->cfg->acme_ca_file, leaf ? "" : _(" (chain and name verified)"));
	else if (an == ANCHOR_SELF)
		verify_add(vc, ST_WARN, name, exp, _("set tls_acme = yes (or tls_cert/tls_key) for a certificate mail "
		    "clients trust"), _("the self-signed certificate for %s%s; mail clients will warn"), vc->cfg->hostname,
		    leaf ? "" : _(" (chain and name verified)"));
	else
		verify_add(vc, ST_OK, name, exp, NULL, _("verifies for %s against the system's trust store%s"),
		    vc->cfg->hostname, leaf ? "" : _(" (chain and name verified)"));
	free(leaf);
	free(other);
	free(name);
}

static void check_tls_served(struct vctx *vc)
{
	static const unsigned ports[] = { 25, 465, 587 };
	char *cp = tls_cert_path(vc->cfg, vc->prof), *ch = NULL, *cert = NULL, *why = NULL, *body = NULL;
	char *lazy_why = NULL, *ca = NULL;
	const char *anchor = NULL;
	enum anchor an;
	size_t cl = 0, i;

	if (lazy_curl(&lazy_why) < 0) {
		verify_add(vc, ST_WARN, _("TLS served"), _("the certificate as clients see it"), _("install libcurl"),
		    "%s", lazy_why);
		goto out;
	}
	if (verify_target_file(vc, cp, &ch, &cert, &cl, &why) == 0)
		body = pem_body(cert);
	/* mailstage's own self-signed one is its own anchor; an ACME chain verifies
	 * against acme_ca_file when one is set (a private CA, pebble), else the store */
	if (vc->cfg->tls_cert)
		an = ANCHOR_STORE;
	else if (!config_tls_acme(vc->cfg))
		an = ANCHOR_SELF, anchor = ch;
	else if (vc->cfg->acme_ca_file) {
		free(why);
		why = NULL;
		if (root_resolve(vc->root, vc->cfg->acme_ca_file, &ca, &why) < 0) {
			verify_add(vc, ST_FAIL, _("TLS served"), _("the certificate as clients see it"),
			    _("set acme_ca_file to the ACME server's CA bundle"), _("acme_ca_file %s: %s"),
			    vc->cfg->acme_ca_file, why);
			goto out;
		}
		an = ANCHOR_ACME_CA, anchor = ca;
	} else
		an = ANCHOR_STORE;
	for (i = 0; i < 3; i++)
		if (port_listening(ports[i]))	/* "ports" reports the others */
			tls_served_one(vc, ports[i], an, anchor, body);
out:
	free(ca);
	free(lazy_why);
	free(cp);
	free(ch);
	free(cert);
	free(why);
	free(body);
}

/* `postqueue -p`: entries, the oldest deferred one, the last deferral reason. */
static void check_queue(struct vctx *vc)
{
	char *argv[] = { "postqueue", "-p", NULL };
	struct exec_result res;
	char *line, *save = NULL, *oldest = NULL, *reason = NULL;
	int n = 0;

	if (exec_run(argv, NULL, 15000, &res) < 0 || res.exit_code != 0) {
		verify_add(vc, ST_WARN, _("mail queue"), _("readable"), _("start postfix"), _("postqueue could not read the queue%s%s"),
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
		verify_add(vc, ST_OK, _("mail queue"), _("empty"), NULL, _("empty"));
	else
		verify_add(vc, ST_WARN, _("mail queue"), _("empty"), _("read the reason; `postqueue -f` retries"),
		    ngettext("%d message, oldest %s%s%s", "%d messages, oldest %s%s%s", n), n, oldest ? oldest : "?", reason ? _(", last reason ") : "",
		    reason ? reason : "");
	free(oldest);
	free(reason);
	buf_free(&res.out);
}

static void check_drift(struct vctx *vc)
{
	struct strv pending = { 0 };
	int rc = run_pending(vc->run, &pending);
	if (pending.n == 0 && rc == 0)
		verify_add(vc, ST_OK, _("managed settings"), _("as mailstage set them"), NULL, _("no drift"));
	else
		verify_add(vc, ST_WARN, _("managed settings"), _("as mailstage set them"),
		    _("run mailstage plan to see the diff, mailstage apply to repair it"), _("%zu pending: %s%s"), pending.n,
		    pending.n ? pending.v[0] : "", pending.n > 1 ? ", ..." : "");
	strv_free(&pending);
}

/*
 * SELinux mode of this host (the kernel's word): enforcing is ok, permissive
 * a warning (denials are only logged: a wrong label would go unnoticed until
 * someone enforces); disabled, or a --root target, is not reported (as the
 * selinux stage skips it).  libselinux is loaded only where a selinuxfs is.
 */
static void check_selinux(struct vctx *vc)
{
	if (!vc->root->is_host || is_selinux_enabled() != 1)
		return;
	if (security_getenforce() == 0)
		verify_add(vc, ST_WARN, _("SELinux"), _("enforcing"),
			   _("setenforce 1, and SELINUX=enforcing in /etc/selinux/config"),
			   _("permissive: denials are logged, not enforced"));
	else
		verify_add(vc, ST_OK, _("SELinux"), _("enforcing"), NULL, _("enforcing"));
}

const struct verify_check verify_local[] = {
	{ "local", "services", check_services, VC_FULL },
	{ "local", "postfix check", check_postfix, VC_FULL },
	{ "local", "SELinux mode", check_selinux, VC_FULL },
	{ "local", "ports", check_ports, VC_FULL },
	{ "local", "milter", check_milter, VC_FULL },
	{ "local", "TLS certificate", check_tls, VC_FULL },
	{ "local", "TLS served", check_tls_served, VC_FULL },
	{ "local", "mail queue", check_queue, VC_FULL },
	{ "local", "managed settings", check_drift, VC_FULL },
	/* dns --check runs it unreported: the DKIM record check needs the key's p= */
	{ "local", "DKIM key", check_dkim_key, VC_KEY },
	{ NULL, NULL, NULL, 0 },
};
