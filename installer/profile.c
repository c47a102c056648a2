/*
 * profile.c - the platform profiles, as data, and os-release detection.
 */
#include "i18n.h"
#include "profile.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const pkgs_el7[] = {
	"postfix", "mailx", "cyrus-sasl", "cyrus-sasl-plain", "epel-release", "opendkim", NULL
};
static const char *const pkgs_el8[] = {
	"postfix", "mailx", "cyrus-sasl", "cyrus-sasl-plain", "epel-release", "opendkim", NULL
};
static const char *const pkgs_el9[] = {
	"postfix", "s-nail", "cyrus-sasl", "cyrus-sasl-plain", "epel-release", "opendkim",
	"opendkim-tools", NULL
};
static const char *const pkgs_debian12[] = {
	"postfix", "opendkim", "opendkim-tools", "sasl2-bin", "libsasl2-modules", "bsd-mailx", NULL
};

/* postfix's debconf questions (its templates file): the answers an "Internet Site" install needs */
static const struct pkg_preseed preseed_debian12[] = {
	{ "postfix", "postfix/main_mailer_type", "select", "Internet Site" },
	{ "postfix", "postfix/mailname", "string", PRESEED_HOSTNAME },
	{ NULL, NULL, NULL, NULL },
};

#define EL_COMMON \
	.postfix_dir = "/etc/postfix", \
	.aliases = "/etc/aliases", \
	.mail_spool = "/var/spool/mail", \
	.opendkim_conf = "/etc/opendkim.conf", \
	.opendkim_dir = "/etc/opendkim", \
	.opendkim_keydir = "/etc/opendkim/keys", \
	.tls_cert_dir = "/etc/pki/tls/certs", \
	.tls_key_dir = "/etc/pki/tls/private", \
	.sasl_smtpd_conf = "/etc/sasl2/smtpd.conf", \
	.saslauthd_defaults = "/etc/sysconfig/saslauthd", \
	.postfix_chroot = NULL, \
	.saslauthd_mech_var = "MECH", \
	.sasl_package = "cyrus-sasl", \
	.opendkim_userid = "opendkim:opendkim", \
	.opendkim_user = "opendkim", \
	.opendkim_group = "opendkim", \
	.tls_key_group = "root", \
	.svc_postfix = "postfix", \
	.svc_opendkim = "opendkim", \
	.svc_sasl = "saslauthd"

static const struct profile el7 = {
	.name = "el7", .description = "CentOS 7 / RHEL 7",
	.pkg_tool = PKG_YUM, .packages = pkgs_el7, .postfix_version = 210,
	EL_COMMON,
	/* RHEL 7's libsemanage 2.5 keeps the store in /etc/selinux/TYPE/active */
	.selinux_store_root = "/etc/selinux",
	.repo_dir = "/etc/yum.repos.d", .repo_releasever = "7",
	.repo_eol_file = "/etc/yum.repos.d/CentOS-Base.repo",
	/* https: the vault answers plain http with a 301 to https at times, and EL7's yum fails on it */
	.repo_eol_baseurl = "https://vault.centos.org/7.9.2009",
	.repo_eol_altarch = "https://vault.centos.org/altarch/7.9.2009",
	.epel_file = "/etc/yum.repos.d/epel.repo",
	.epel_baseurl = "https://dl.fedoraproject.org/pub/archive/epel/7",
	.epel_gpgkey = "https://dl.fedoraproject.org/pub/archive/epel/RPM-GPG-KEY-EPEL-7",
	.epel_version = "7",
	/* OpenSSL 1.0.2k: no Ed25519 (it came in 1.1.1), so EPEL 7's OpenDKIM cannot sign with it */
	.dkim_ed25519 = 0, .openssl_version = "OpenSSL 1.0.2k",
};
static const struct profile el8 = {
	.name = "el8", .description = "AlmaLinux / Rocky / RHEL 8",
	.pkg_tool = PKG_DNF, .packages = pkgs_el8, .postfix_version = 305,
	EL_COMMON,
	.selinux_store_root = "/var/lib/selinux",
	.repo_dir = "/etc/yum.repos.d", .repo_releasever = "8",
	.epel_file = "/etc/yum.repos.d/epel.repo",
	.epel_metalink = "https://mirrors.fedoraproject.org/metalink?repo=epel-8&arch=$basearch",
	.epel_gpgkey = "https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-8",
	.epel_version = "8",
	.dkim_ed25519 = 1, .openssl_version = "OpenSSL 1.1.1",	/* EPEL's OpenDKIM 2.11 */
};
static const struct profile el9 = {
	.name = "el9", .description = "AlmaLinux / Rocky / RHEL 9",
	.pkg_tool = PKG_DNF, .packages = pkgs_el9, .postfix_version = 305,
	EL_COMMON,
	.selinux_store_root = "/var/lib/selinux",
	.repo_dir = "/etc/yum.repos.d", .repo_releasever = "9",
	.epel_file = "/etc/yum.repos.d/epel.repo",
	.epel_metalink = "https://mirrors.fedoraproject.org/metalink?repo=epel-9&arch=$basearch",
	.epel_gpgkey = "https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-9",
	.epel_version = "9",
	.dkim_ed25519 = 1, .openssl_version = "OpenSSL 3.0",	/* EPEL's OpenDKIM 2.11 */
	.repo_enable_crb = 1,
};
#define DEBIAN12_COMMON \
	.name = "debian12", .description = "Debian 12 (bookworm)", \
	.pkg_tool = PKG_APT, .packages = pkgs_debian12, .postfix_version = 307, \
	.preseed = preseed_debian12, \
	.postfix_dir = "/etc/postfix", \
	.postfix_main_template = "/usr/share/postfix/main.cf.debian", \
	.aliases = "/etc/aliases", \
	.mail_spool = "/var/mail", \
	.opendkim_conf = "/etc/opendkim.conf", \
	.opendkim_dir = "/etc/opendkim", \
	.opendkim_keydir = "/etc/opendkim/keys", \
	.tls_cert_dir = "/etc/ssl/certs", \
	.tls_key_dir = "/etc/ssl/private", \
	.sasl_smtpd_conf = "/etc/postfix/sasl/smtpd.conf", \
	.saslauthd_defaults = "/etc/default/saslauthd", \
	.postfix_chroot = "/var/spool/postfix", \
	.saslauthd_mech_var = "MECHANISMS", \
	.saslauthd_start_var = "START", \
	.sasl_package = "sasl2-bin", \
	.sasl_group = "sasl", \
	.opendkim_userid = "opendkim", \
	.opendkim_defaults = "/etc/default/opendkim", \
	.opendkim_unit_override = "/etc/systemd/system/opendkim.service.d/override.conf", \
	.opendkim_user = "opendkim", \
	.opendkim_group = "opendkim", \
	.tls_key_group = "root", \
	.selinux_store_root = "/var/lib/selinux", \
	.svc_postfix = "postfix", \
	.svc_opendkim = "opendkim", \
	.svc_sasl = "saslauthd", \
	/* OpenDKIM 2.11.0~beta2 on OpenSSL 3.0 lists ed25519-sha256 (opendkim -V) */ \
	.dkim_ed25519 = 1, .openssl_version = "OpenSSL 3.0",

static const struct profile debian12_selinux;
static const struct profile debian12 = {
	DEBIAN12_COMMON
	/* smtpd runs chrooted in /var/spool/postfix: the socket must be inside it */
	.saslauthd_options = "-c -m /var/spool/postfix/var/run/saslauthd",
	.selinux_variant = &debian12_selinux,
};
/*
 * Debian 12 where SELinux is on: the reference policy lets saslauthd_t
 * create its socket only in saslauthd_runtime_t (/run/saslauthd), and not
 * even search var_spool_t, so the socket inside Postfix's chroot cannot be
 * made (the VM: `denied { search } ... saslauthd_t ... var_spool_t`).  The
 * socket stays at the package's /var/run/saslauthd, and submission and
 * smtps, the only services with AUTH, run unchrooted to reach it
 * (postfix_smtpd_t may connect to saslauthd_t there), as on EL.  Without
 * -c: the credential cache is a file saslauthd maps, and the policy grants
 * saslauthd_t no `map` on its runtime files (the VM: denied { map } on
 * /run/saslauthd/cache.mmap, and saslauthd died).
 */
static const struct profile debian12_selinux = {
	DEBIAN12_COMMON
	.saslauthd_options = "-m /var/run/saslauthd",
	.sasl_unchrooted = 1,
	.variant = "selinux",
};

static const struct profile *const all[] = { &el7, &el8, &el9, &debian12, NULL };

const struct profile *const *profile_all(void)
{
	return all;
}

const struct profile *profile_for_selinux(const struct profile *p, int selinux_on)
{
	return selinux_on && p && p->selinux_variant ? p->selinux_variant : p;
}

const struct profile *profile_by_name(const char *name)
{
	size_t i;
	for (i = 0; all[i]; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

/* Value of KEY= in os-release text, unquoted; NULL when absent. */
static char *osr_get(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t vl = ll - kl - 1;
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
				v++, vl -= 2;
			return xstrndup(v, vl);
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static int word_in(const char *list, const char *word)
{
	const char *p = list;
	size_t wl = strlen(word);
	while (p && *p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, word, wl) == 0 && (p[wl] == ' ' || p[wl] == 0))
			return 1;
		p = strchr(p, ' ');
	}
	return 0;
}

int profile_detect(const char *os_release, const struct profile **out, char **why)
{
	char *id = osr_get(os_release, "ID");
	char *like = osr_get(os_release, "ID_LIKE");
	char *ver = osr_get(os_release, "VERSION_ID");
	char *pretty = osr_get(os_release, "PRETTY_NAME");
	const struct profile *p = NULL;
	int major = ver ? atoi(ver) : 0, r = 0;

	if (id && strcmp(id, "debian") == 0 && major == 12)
		p = &debian12;
	else if (id && (strcmp(id, "rhel") == 0 || strcmp(id, "centos") == 0 ||
			strcmp(id, "almalinux") == 0 || strcmp(id, "rocky") == 0 ||
			(like && (word_in(like, "rhel") || word_in(like, "centos"))))) {
		if (major == 7)
			p = &el7;
		else if (major == 8)
			p = &el8;
		else if (major == 9)
			p = &el9;
	}
	if (!p) {
		*why = xasprintf(_("unsupported OS: %s (ID=%s VERSION_ID=%s); supported: CentOS/RHEL 7, "
				 "AlmaLinux/Rocky/RHEL 8 and 9, Debian 12 (use --profile NAME to override)"),
				 pretty ? pretty : "unknown", id ? id : "?", ver ? ver : "?");
		r = -ENOTSUP;
		goto out;
	}
	*out = p;
out:
	free(id);
	free(like);
	free(ver);
	free(pretty);
	return r;
}
