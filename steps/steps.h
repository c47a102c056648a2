/*
 * steps.h - the stages, and the few facts one stage needs from another
 * (where the TLS files and the DKIM key live, what the DKIM record says).
 */
#ifndef MAILSTAGE_STEPS_H
#define MAILSTAGE_STEPS_H

#include "stage.h"

#include <time.h>

extern const struct stage stage_tls;
extern const struct stage stage_dkim_keys;
extern const struct stage stage_opendkim;
extern const struct stage stage_sasl;
extern const struct stage stage_postfix_main;
extern const struct stage stage_postfix_master;
extern const struct stage stage_packages;
extern const struct stage stage_services;
extern const struct action_type action_packages;
extern const struct action_type action_service;
/* packages.c: the package manager's argv (yum/dnf -y [--installroot=DIR] VERB WORDS; apt-get
 * non-interactive), NULL-terminated, caller frees each string and the vector. */
char **packages_command(enum pkg_tool t, const char *root_dir, const char *verb, const char *words);
/* services.c: value of KEY= in a block of `systemctl show` output ("" when absent). */
char *services_show_value(const char *block, size_t len, const char *key);
/* repos.c: yum's $basearch of an ELF header (x86_64, aarch64, ppc64le, ...), or NULL. */
const char *repos_elf_basearch(const unsigned char *h, size_t len);
/* selinux.c: store-root= of a semanage.conf text (outside [NAME]...[end] blocks), or NULL. */
char *selinux_conf_store_root(const char *text);
/* The newest transaction ID in `yum history list` / `dnf history list` output (0: none). */
unsigned long packages_history_last(const char *text);
/* Age in seconds of apt's package lists in root_dir ("" = "/"): the newest of the lists, their
 * directory and apt's update stamp; -1 when there are no lists at all. */
long packages_apt_lists_age(const char *root_dir, time_t now);
/* debconf-set-selections input: the profile's answers for those of `words` (space-separated
 * package names) that have some, the hostname in place of PRESEED_HOSTNAME ("" when none). */
char *packages_preseed_text(const struct profile *p, const char *hostname, const char *words);
/* The names a transaction installed, from `yum|dnf history info ID` ("Packages Altered":
 * Install, yum's Dep-Install), appended to out. */
void packages_history_installed(const char *info, struct strv *out);
/* What a `yum|dnf history undo ID --assumeno` output would remove or refuses for, that is not
 * in ours (packages installed since that depend on ours: yum's "Removing for dependencies",
 * dnf's "problem with installed package"), appended to out by name. */
void packages_undo_others(const char *text, const struct strv *ours, struct strv *out);
/* Is pkg installed in the root? 1 yes, 0 no, negative when the package database cannot be read. */
int packages_installed(const struct profile *p, const struct root *root, const char *pkg);
extern const struct stage stage_preflight;
extern const struct stage stage_firewall;
extern const struct action_type action_firewalld_service;
extern const struct action_type action_acme_window_open;
extern const struct action_type action_acme_window_close;
extern const struct stage stage_dns;
extern const struct stage stage_selinux;
extern const struct stage stage_repos;
extern const struct action_type action_selinux_boolean;
extern const struct action_type action_selinux_port;
extern const struct action_type action_selinux_context;
extern const struct stage stage_provider;
extern const struct action_type action_sakura_ptr;
extern const struct action_type action_sakura_filter;
/* provider.c: are the Sakura VPS API keys set; preflight's check of them (refuses 77/78). */
int provider_enabled(const struct config *cfg);
int provider_preflight(struct ctx *c);
/* The API's outbound port 25 limitation: 1 blocked, 0 not, negative unknown (*why). */
struct sakura;
int provider_port25_blocked(struct sakura *s, char **why);
/* Are the domain's NS Sakura's own DNS (ns1/ns2.dns.ne.jp)?  And what to do there with a TXT record
 * longer than 255 characters (English and Japanese). */
struct dnsq;
int provider_sakura_dns(struct dnsq *q, const char *domain);
extern const char *const provider_sakura_dns_advice;

/* preflight.c: LISTEN sockets on PORT in /proc/net/tcp{,6} text (their inodes); a bounded connect. */
int preflight_listen_inodes(const char *text, unsigned port, unsigned long *inodes, size_t max);
int preflight_probe(const char *hostport, int timeout_ms, char **why);
/* firewall.c: is firewalld installed in the target; are the configured service names known to it? */
int firewalld_installed(struct ctx *c);
/* The pid of a running firewalld (read from /proc), or 0. */
long firewalld_pid(void);
/* Exit 78 (stage_refuse) when enforcing SELinux forbids the running firewalld to answer us; else 0. */
int firewalld_unanswerable(struct ctx *c);
int firewall_services_known(struct ctx *c, char **why);
/* firewall.c: the zone the firewall stage opens services in (DefaultZone= of firewalld.conf, else "public"). */
char *firewalld_zone(struct ctx *c);
/*
 * A runtime list of the zone, what = "services" or "ports" ("80/tcp"), as
 * words in *words; *running = 0 when firewalld is not running; -errno with
 * *why when it does not answer within reply_ms.
 */
int firewalld_query(const char *zone, const char *what, int reply_ms, int *running, char **words, char **why);
/* Is w one of the words of list? */
int firewalld_word_in(const char *list, const char *w);
/* Does a port list ("80/tcp 8000-8100/tcp 53/udp") open port/proto? */
int firewalld_port_in(const char *ports, unsigned port, const char *proto);
/* Add (with a timeout in seconds, 0: none) or remove a service at runtime only; firewalld not running is 0. */
int firewalld_runtime_service(const char *zone, const char *service, int add, unsigned timeout_s, char **why);
/* A firewalld zone or service name (never an option). */
int firewalld_name_ok(const char *s);

/* TLS certificate and key paths: configured, or the profile's default for the hostname. */
char *tls_cert_path(const struct config *cfg, const struct profile *p);
char *tls_key_path(const struct config *cfg, const struct profile *p);

/* /etc/opendkim/keys/DOMAIN, .../SELECTOR.private and .../SELECTOR.txt */
char *dkim_key_dir(const struct config *cfg, const struct profile *p);
char *dkim_key_path(const struct config *cfg, const struct profile *p);
char *dkim_record_path(const struct config *cfg, const struct profile *p);
/* "v=DKIM1; k=rsa; p=..." for a public key (base64 SubjectPublicKeyInfo). */
char *dkim_txt_value(const char *p_b64);
/* The zone-file record, strings split at most 255 bytes, as opendkim-genkey writes SELECTOR.txt. */
char *dkim_record_text(const char *selector, const char *domain, const char *p_b64);
/* The same for a key type k= ("rsa", "ed25519": p= is then the raw 32-byte key, RFC 8463). */
char *dkim_txt_value_k(const char *k, const char *p_b64);
char *dkim_record_text_k(const char *selector, const char *domain, const char *k, const char *p_b64);
/* dkim_algorithms with ed25519-sha256: the Ed25519 key's selector, SELECTOR-ed25519. */
char *dkim_ed25519_selector(const char *selector);
/* .../SELECTOR.private and .../SELECTOR.txt of any selector of the domain */
char *dkim_sel_key_path(const struct config *cfg, const struct profile *p, const char *selector);
char *dkim_sel_record_path(const struct config *cfg, const struct profile *p, const char *selector);

/*
 * DKIM key rotation (dkim_rotate_days), a state machine carried by apply runs
 * (dkim_keys.c), one per algorithm of dkim_algorithms: each key rotates
 * under the same rules, its own next selector, DNS gate and retirement, so
 * RSA and Ed25519 may switch in different runs.  Its state is the file
 * DKIM_ROTATION_FILE in the key directory, one line per key:
 *     active SELECTOR EPOCH     signs now; EPOCH: when it became the key
 *     next SELECTOR EPOCH       made at EPOCH, waiting for its record in DNS
 *     retiring SELECTOR EPOCH   stopped signing at EPOCH; its record stays
 *                               published dkim_retire_days, then is removed
 * for the RSA key, and the same words prefixed "ed25519-" (ed25519-active,
 * ...) for the Ed25519 key, whose lines appear once it rotates.  '#' lines
 * are comments.  Untrusted input: parsed strictly (at most one line of each
 * kind, an active line for each algorithm named, selectors DNS labels, no
 * selector twice (the keys are files named after them), EPOCH digits).
 */
#define DKIM_ROTATION_FILE "rotation.state"
enum { DKIM_RSA, DKIM_ED25519, DKIM_NALG };
/* "rsa-sha256", "ed25519-sha256" */
const char *dkim_alg_name(int alg);
struct dkim_keyrot {
	int present;			/* the file has this algorithm's lines */
	char active[64], next[64], retiring[64];	/* "" when none */
	long long active_at, next_at, retiring_at;
};
struct dkim_rotation {
	int present;			/* the file exists */
	struct dkim_keyrot k[DKIM_NALG];
};
/* 0, or -EINVAL with *why (caller frees). */
int dkim_rotation_parse(const char *text, size_t len, struct dkim_rotation *st, char **why);
char *dkim_rotation_format(const struct dkim_rotation *st);
/* The selector of a key made at t: "sYYYYMMDD" (UTC). */
void dkim_rotation_selector(long long t, char out[16]);
/* The same for algorithm alg: sYYYYMMDD, sYYYYMMDD-ed25519 (dkim_ed25519_selector). */
void dkim_rotation_selector_alg(int alg, long long t, char out[64]);
/*
 * The state in the root; absent (or an algorithm without lines): active =
 * cfg's selector (SELECTOR-ed25519 for Ed25519).  0, or -errno/-EINVAL with *why.
 */
int dkim_rotation_load(struct root *root, const struct config *cfg, const struct profile *p,
		       struct dkim_rotation *st, char **why);
/* The selector algorithm alg signs with now (the rotation's active key, else the configured one); caller frees. */
char *dkim_active_selector(struct root *root, const struct config *cfg, const struct profile *p, int alg);
/* Now, for the rotation (the test build honours MAILSTAGE_TEST_NOW, seconds since the epoch). */
long long dkim_now(void);

/*
 * One apply's step of one algorithm's rotation, the pure part of the stage:
 * from st, the clock and what live DNS serves, the state *want and what to
 * do (DKIM_STEP_* flags).  live(arg, SEL, key) says whether DNS serves SEL's
 * record: 1 served (with the p= of SEL's key on disk when key, any record
 * else), 0 no such record, -1 another key or no answer (never "gone"),
 * -2 (key) the key cannot be read yet (it is made in this run).
 *   1. retiring past retire_days: its record gone (0): DELETE its key, else TO_REMOVE;
 *   2. a next key: served with its key and nothing retiring: SWITCH (next is
 *      active, the old one retiring); served but a key still retiring: HELD;
 *      not served: WAIT; its key not readable yet: NOKEY;
 *   3. no next, nothing retiring, the active key rotate_days old (counted from
 *      when the rotation first saw it): NEW, want->next under the date's selector.
 */
#define DKIM_STEP_DELETE	0x01
#define DKIM_STEP_TO_REMOVE	0x02
#define DKIM_STEP_SWITCH	0x04
#define DKIM_STEP_HELD		0x08
#define DKIM_STEP_WAIT		0x10
#define DKIM_STEP_NOKEY		0x20
#define DKIM_STEP_NEW		0x40
typedef int (*dkim_live_fn)(void *arg, const char *sel, int key);
int dkim_rotation_step(int alg, const struct dkim_keyrot *st, long long now, long rotate_days, long retire_days,
		       dkim_live_fn live, void *arg, struct dkim_keyrot *want);

/* opendkim.c: the second OpenDKIM that signs with Ed25519 (dkim_algorithms), its unit and milter. */
#define OPENDKIM_ED25519_UNIT "opendkim-ed25519.service"
/* The OpenDKIM milters' TCP ports: opendkim.conf's Socket, Postfix's smtpd_milters and the SELinux port label. */
#define OPENDKIM_PORT "8891"
#define OPENDKIM_ED25519_PORT "8892"
#define OPENDKIM_ED25519_MILTER "inet:127.0.0.1:" OPENDKIM_ED25519_PORT
char *opendkim_ed25519_conf_path(const struct profile *p);
char *opendkim_ed25519_conf(const struct profile *p);
char *opendkim_ed25519_unit(const struct profile *p);
/* The TCP ports the OpenDKIM milters listen on (8891, and 8892 with Ed25519): how many. */
size_t opendkim_milter_ports(const struct config *cfg, int ports[2]);

#endif
