/*
 * verify_net.c - the network checks of `mailstage verify`: outbound port
 * 25 (and, on Sakura VPS, the API's port 25 limitation or the control
 * panel's manual steps) and the blocklists; and the bounded TCP connect
 * the milter check uses too.
 */
#include "verify_check.h"
#include "dnsq.h"
#include "i18n.h"
#include "sakura.h"
#include "steps.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

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

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Resolve and connect, all within timeout_ms (the name's resolution and every address tried). */
int verify_connect_host(const char *host, const char *port, int timeout_ms, char **why)
{
	struct addrinfo *ai = NULL, *a;
	long long end = mono_ms() + timeout_ms;
	int fd = -EHOSTUNREACH, g;

	g = dnsq_getaddrinfo(host, port, SOCK_STREAM, timeout_ms, &ai, why);
	if (g < 0)
		return g;
	for (a = ai; a; a = a->ai_next) {
		long long left = end - mono_ms();
		if (left <= 0) {
			fd = -ETIMEDOUT;
			break;
		}
		fd = connect_bounded(a->ai_addr, a->ai_addrlen, (int)left);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		*why = xasprintf("%s:%s: %s", host, port, fd == -ETIMEDOUT ? "no answer (filtered?)" : strerror(-fd));
	return fd;
}

static void check_port25(struct vctx *vc)
{
	char host[256], *why = NULL;
	const char *colon = strrchr(vc->cfg->port25_probe, ':');
	int fd;

	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - vc->cfg->port25_probe) : 255, vc->cfg->port25_probe);
	fd = verify_connect_host(host, colon ? colon + 1 : "25", vc->q->timeout_s * 1000, &why);
	if (fd >= 0) {
		close(fd);
		verify_add(vc, ST_OK, _("outbound port 25"), _("reachable"), NULL, _("connected to %s"), vc->cfg->port25_probe);
	} else {
		verify_add(vc, ST_WARN, _("outbound port 25"), _("reachable"),
		    _("ask the provider to lift the port 25 block (Sakura VPS: the control panel or the API's "
		    "outbound_port_25_blocking)"), "%s", why);
	}
	free(why);
	/* The other half of reachability, which no probe from inside can see. */
	strv_push(&vc->rp->notes, _("Sakura VPS: when the control panel's packet filter is enabled, it must also "
				    "allow TCP 25, 465 and 587; it is outside the server and this check cannot see it."));
}

static void check_rbl(struct vctx *vc)
{
	size_t i;
	for (i = 0; i < vc->cfg->rbl.n; i++) {
		unsigned char b[4];
		char *name, *why = NULL, *label = xasprintf(_("%s blocklist"), vc->cfg->rbl.v[i]);
		struct strv got = { 0 };
		int rc;
		if (inet_pton(AF_INET, vc->cfg->ipv4, b) != 1) {
			free(label);
			continue;
		}
		name = xasprintf("%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], vc->cfg->rbl.v[i]);
		dnsq_start(vc->q);
		rc = dnsq_lookup(vc->q, name, DNSQ_A, &got, &why);
		if (rc == -ENOENT)
			verify_add(vc, ST_OK, label, _("not listed"), NULL, _("%s not listed"), vc->cfg->ipv4);
		else if (rc < 0)
			verify_add(vc, ST_WARN, label, _("not listed"), _("retry later"), "%s", why ? why : _("lookup failed"));
		else if (str_starts_with(got.v[0], "127.255.255."))
			verify_add(vc, ST_WARN, label, _("not listed"), _("query the blocklist through your own resolver"),
			    _("the blocklist refused the query (%s)"), got.v[0]);
		else
			verify_add(vc, ST_WARN, label, _("not listed"), _("request delisting at the blocklist's web site"),
			    _("%s is listed (%s)"), vc->cfg->ipv4, got.v[0]);
		strv_free(&got);
		free(why);
		free(name);
		free(label);
	}
}

/*
 * Sakura VPS (steps/provider.c, installer/sakura.c): with the API keys the
 * API's outbound port 25 limitation; without them the manual steps in the
 * control panel, in English and in Japanese (both always, untranslated on
 * purpose: the panel is Japanese).
 */
static void check_sakura_api(struct vctx *vc)
{
	const struct config *cfg = vc->cfg;
	char *why = NULL;
	struct sakura s;
	int b = -EINVAL;

	if (!cfg->sakura_api_key_file || !cfg->sakura_server_id) {
		strv_push(&vc->rp->notes, "Sakura VPS without API access (sakura_api_key_file, sakura_server_id): in "
			  "the control panel, set the reverse DNS (PTR) of each address to the hostname (server > "
			  "network > reverse hostname; its A/AAAA record must exist first), and if the packet filter "
			  "is on, add the standard \"mail\" rule (25/110/143/465/587/993/995). The packet filter "
			  "filters IPv4 only and leaves IPv6 open: firewalld is what protects IPv6.");
		strv_push(&vc->rp->notes, "さくらのVPS (API未設定): コントロールパネルで各アドレスの逆引きホスト名(PTR)を"
			  "ホスト名に設定してください(先にA/AAAAレコードが必要です)。パケットフィルターを有効にしている場合"
			  "は、標準の「メール」ルール(25/110/143/465/587/993/995)を追加してください。パケットフィルターは"
			  "IPv4のみが対象で、IPv6の通信はすべて許可されます: IPv6はfirewalldで守ってください。");
		return;
	}
	if (sakura_open(&s, vc->root, cfg->sakura_api_url, cfg->sakura_api_key_file, cfg->sakura_ca_file,
			cfg->sakura_server_id, &why) == 0) {
		b = provider_port25_blocked(&s, &why);
		sakura_close(&s);
	}
	verify_add(vc, b == 0 ? ST_OK : b == 1 ? ST_FAIL : ST_WARN, _("port 25 (Sakura API)"),
		   "outbound_port_25_blocking = disabled",
		   _("lift the outbound port 25 limitation in the Sakura VPS control panel or ask Sakura support"),
		   "%s", b == 0 ? "disabled" : b == 1 ? "enabled" : why ? why : "?");
	free(why);
}

const struct verify_check verify_net[] = {
	{ "network", "Sakura VPS API / manual steps", check_sakura_api, VC_FULL },
	{ "network", "outbound port 25", check_port25, VC_FULL },
	{ "network", "blocklists", check_rbl, VC_FULL },
	{ NULL, NULL, NULL, 0 },
};
