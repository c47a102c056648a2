/*
 * profile.h - platform profiles: what differs between el7, el8, el9 and
 * debian12 is data (package names, paths, users, services, tools), never
 * a fork of the step logic.
 */
#ifndef MAILSTAGE_PROFILE_H
#define MAILSTAGE_PROFILE_H

enum pkg_tool { PKG_YUM, PKG_DNF, PKG_APT };

/*
 * A debconf answer given before the packages are installed, so their
 * maintainer scripts ask nothing and do the same on every host
 * (debconf-set-selections: "package question type value").  The value
 * PRESEED_HOSTNAME stands for the configured hostname.
 */
struct pkg_preseed {
	const char *package;		/* preseeded only when this one is about to be installed */
	const char *question;		/* postfix/main_mailer_type */
	const char *type;		/* select, string, boolean */
	const char *value;
};
#define PRESEED_HOSTNAME "@hostname@"

struct profile {
	const char *name;		/* el7, el8, el9, debian12 */
	const char *description;	/* "CentOS 7 / RHEL 7" */
	enum pkg_tool pkg_tool;
	const char *const *packages;	/* NULL-terminated */
	int postfix_version;		/* major*100+minor of the packaged Postfix: 210, 305, 370 */
	const struct pkg_preseed *preseed;	/* debconf answers, {NULL} terminated; NULL: none (no debconf) */

	/* paths inside the target */
	const char *postfix_dir;	/* /etc/postfix */
	/* the package's template of main.cf, used when main.cf is absent (Debian's postinst leaves
	 * none after "No configuration"); NULL: the package always ships main.cf (EL) */
	const char *postfix_main_template;
	const char *aliases;		/* /etc/aliases */
	/* the packaged Postfix's compiled-in mail_spool_directory, where local(8) delivers a user's
	 * mbox when main.cf sets neither home_mailbox nor mail_spool_directory (`mailstage report`) */
	const char *mail_spool;		/* /var/spool/mail | /var/mail */
	const char *opendkim_conf;	/* /etc/opendkim.conf */
	const char *opendkim_dir;	/* /etc/opendkim */
	const char *opendkim_keydir;	/* /etc/opendkim/keys */
	const char *tls_cert_dir;	/* /etc/pki/tls/certs | /etc/ssl/certs */
	const char *tls_key_dir;	/* /etc/pki/tls/private | /etc/ssl/private */
	const char *sasl_smtpd_conf;	/* /etc/sasl2/smtpd.conf | /etc/postfix/sasl/smtpd.conf */
	const char *saslauthd_defaults;	/* /etc/sysconfig/saslauthd | /etc/default/saslauthd */
	const char *postfix_chroot;	/* /var/spool/postfix when smtpd runs chrooted, else NULL */
	/* saslauthd's defaults file: the variable naming the mechanism (MECH | MECHANISMS), the one
	 * that must say "yes" for the init script to start it (NULL: none), and OPTIONS with the
	 * socket directory Postfix's smtpd can reach (NULL: the package's default is right) */
	const char *saslauthd_mech_var;
	const char *saslauthd_start_var;
	const char *saslauthd_options;
	/* submission and smtps run outside postfix_chroot: the SASL socket is outside it */
	int sasl_unchrooted;
	const char *sasl_package;	/* package of saslauthd: cyrus-sasl | sasl2-bin */
	const char *sasl_group;		/* group that may reach saslauthd's socket (postfix joins it), or NULL */
	const char *opendkim_userid;	/* opendkim.conf UserID: opendkim:opendkim | opendkim */
	const char *opendkim_defaults;	/* legacy /etc/default/opendkim whose SOCKET= overrides the conf, or NULL */
	const char *opendkim_unit_override;	/* generated systemd drop-in that may pass its own -p socket, or NULL */

	/* users and groups (names, resolved in the target's /etc/passwd, /etc/group) */
	const char *opendkim_user;
	const char *opendkim_group;
	const char *tls_key_group;	/* group that may read the TLS key: "root" or "ssl-cert" */

	/* services */
	const char *svc_postfix;
	const char *svc_opendkim;
	const char *svc_sasl;

	/* SELinux policy store root when semanage.conf sets no store-root: libsemanage's default
	 * (/var/lib/selinux from 2.4 upstream; EL7's patched 2.5 keeps /etc/selinux) */
	const char *selinux_store_root;

	/* repositories (stage repos); repo_dir NULL: nothing to do (Debian) */
	const char *repo_dir;		/* /etc/yum.repos.d */
	const char *repo_releasever;	/* $releasever when probing: "7" */
	const char *repo_eol_file;	/* el7: /etc/yum.repos.d/CentOS-Base.repo, moved to the vault when unreachable */
	const char *repo_eol_baseurl;	/* https://vault.centos.org/7.9.2009 (x86_64) */
	const char *repo_eol_altarch;	/* https://vault.centos.org/altarch/7.9.2009 (every other $basearch) */
	const char *epel_file;		/* /etc/yum.repos.d/epel.repo */
	const char *epel_baseurl;	/* el7: the Fedora archive (epel.repo moved there whatever CentOS-Base does) */
	const char *epel_metalink;	/* el8/el9: written when no [epel] repository is enabled */
	const char *epel_gpgkey;
	const char *epel_version;	/* "7", "8", "9" */
	int repo_enable_crb;		/* el9: EPEL needs the CRB repository enabled */
	/* the packaged OpenSSL and OpenDKIM sign with Ed25519 (RFC 8463): dkim_algorithms may name it */
	int dkim_ed25519;
	/* the OpenSSL the packaged OpenDKIM uses, for the message when it cannot ("OpenSSL 1.0.2k") */
	const char *openssl_version;
	/* The same platform where SELinux is on in the target, when its policy needs other facts
	 * (Debian's reference policy: saslauthd may not reach into Postfix's spool), or NULL. */
	const struct profile *selinux_variant;
	/* The name of this variant ("selinux"), NULL for the platform's own profile: with name,
	 * what tells the two apart where facts are remembered (fpcache). */
	const char *variant;
};

const struct profile *profile_by_name(const char *name);
/* P's SELinux variant when selinux_on and P has one, else P. */
const struct profile *profile_for_selinux(const struct profile *p, int selinux_on);
/* All profiles, NULL-terminated. */
const struct profile *const *profile_all(void);

/*
 * Pick the profile from the text of an os-release file.  0 and *out, or
 * -ENOTSUP with *why ("unsupported OS: Ubuntu 22.04 (ID=ubuntu VERSION_ID=22.04)").
 */
int profile_detect(const char *os_release, const struct profile **out, char **why);

#endif
