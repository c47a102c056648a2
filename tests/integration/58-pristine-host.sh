#!/bin/bash
# 58-pristine-host.sh - `mailstage apply` alone on a pristine Debian 12 host:
# the systemd-nspawn test host of tests/hosts/ (systemd as PID 1, firewalld
# running, apt's sources naming only the local repository /srv/repo), whose
# package lists were never fetched and which has no mail package and no
# /etc/postfix/main.cf.  The test writes only mailstage.conf; nothing else
# (no apt-get update, no debconf answers) is done for mailstage.
#
# Proves, for the debian12 profile:
#  - case 1, nothing installed: plan says the lists will be refreshed; apply
#    refreshes them, preseeds postfix (Internet Site, mailname = the
#    configured hostname), installs, configures and starts everything
#    (exit 0); postfix answers "220" on port 25, opendkim and saslauthd run;
#    a second apply changes nothing.  Lists older than the bound (apt's
#    update stamp, which the refresh wrote, and the lists' directory) are
#    refreshed again before an install (plan says how old), recent ones not;
#  - case 2, postfix preinstalled with "No configuration" (no main.cf, only
#    /usr/share/postfix/main.cf.debian), /etc/aliases removed, the lists
#    removed again: apply creates main.cf from the template and /etc/aliases
#    (postmaster and the DMARC alias, database built), installs the rest and
#    converges (exit 0); services run, port 25 answers; a second apply
#    changes nothing;
#  - case 3, recent lists that are wrong: apt does not know a package (the
#    repository gained it since the lists were fetched) -> refreshed once and
#    installed; the lists name a file the repository no longer has (moved:
#    apt's "File not found", the file: repository's 404) -> refreshed once and
#    installed; the undo still purges every package the run installed.
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_BIN" ] || die "no $MAILSTAGE_BIN: run make"
ct_image

PKGS="postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx"
UNITS="saslauthd.service opendkim.service postfix.service"
# The stages an apply runs: provider only runs with the Sakura API keys.
NSTAGES=$("$MAILSTAGE_BIN" stages | grep -vc " provider ")

cp "$MAILSTAGE_SRC/payload/mailstage.conf" "$T/ms.conf"
printf 'rbl =\n' >>"$T/ms.conf"	# nothing leaves the test

cms() { ct_in /opt/mailstage/mailstage "$@"; }
installed() {	# the wanted packages dpkg has installed, one line
	ct_in dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null | awk '$2 == "ii" { print $1 }' |
		sort | tr '\n' ' '
}
lists() { ct_in find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' | grep -c . || true; }
actives() { ct_in systemctl is-active $UNITS | tr '\n' ' '; }
# The first line postfix sends on port 25, from inside the container.
banner25() {
	ct_in python3 -c 'import socket
s = socket.create_connection(("127.0.0.1", 25), timeout=10)
print(s.makefile("rb").readline().decode().strip())'
}
# Boot a pristine instance and give it mailstage.conf: the only set-up mailstage gets.
boot() {
	ct_start "$@"
	ct_in mkdir -p /etc/mailstage
	ct_in sh -c 'cat >/etc/mailstage/mailstage.conf' <"$T/ms.conf"
}
converged() {	# LABEL: a second apply changes nothing
	expect_rc 0 cms apply >"$T/again" 2>&1 || { cat "$T/again"; die "$1: second apply failed"; }
	grep -q "apply: 0 of $NSTAGES stages changed, 0 changes" "$T/again" ||
		die "$1: second apply changed something: $(cat "$T/again")"
}
serving() {	# LABEL: units active, port 25 answers
	local b
	[ "$(actives)" = "active active active " ] || die "$1: units after apply: $(actives)"
	b=$(banner25) || die "$1: nothing answers on port 25"
	case $b in "220 mail.example.com ESMTP"*) ;; *) die "$1: port 25 said '$b'" ;; esac
	echo "$b"
}

# ======== case 1: nothing installed, no package lists ========
boot
[ "$(lists)" = 0 ] || die "the image has package lists: $(ct_in ls /var/lib/apt/lists)"
[ -z "$(installed)" ] || die "the image has mail packages: $(installed)"
ct_in test ! -e /etc/postfix/main.cf || die "the image has /etc/postfix/main.cf"
ct_in grep -qx 'deb \[trusted=yes\] file:/srv/repo ./' /etc/apt/sources.list || die "the image's apt source is not /srv/repo"
expect_rc 2 cms plan >"$T/plan1" 2>&1
grep -q "install postfix opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx with apt-get, after refreshing the package lists (there are none yet)" "$T/plan1" ||
	die "plan does not say the lists are refreshed: $(cat "$T/plan1")"
rc=0; cms apply >"$T/apply1" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$T/apply1"; die "apply on a pristine host exited $rc"; }
grep -q "refreshing the package lists (apt-get update)" "$T/apply1" || die "apply did not say it refreshed the lists"
[ "$(lists)" -ge 1 ] || die "no package lists after apply"
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages after apply: $(installed)"
# The install was Debian's "Internet Site" with the configured hostname, asked nothing.
ct_in debconf-show postfix >"$T/debconf1"
grep -qx '\* postfix/main_mailer_type: Internet Site' "$T/debconf1" &&
	grep -qx '\* postfix/mailname: mail.example.com' "$T/debconf1" || die "postfix's debconf answers: $(cat "$T/debconf1")"
[ "$(ct_in cat /etc/mailname)" = mail.example.com ] || die "/etc/mailname: $(ct_in cat /etc/mailname)"
# Submission needs the SASL mechanisms it offers: libsasl2-modules (PLAIN, LOGIN) is only a
# Recommends of libsasl2-2, so a minimal host lacks it and smtpd stops at AUTH ("no SASL
# authentication mechanisms": found on a fresh machine).
ct_in saslpluginviewer -s >"$T/sasl1" 2>&1 || true
grep -q 'Plugin "plain"' "$T/sasl1" && grep -q 'Plugin "login"' "$T/sasl1" ||
	die "SASL PLAIN/LOGIN are not installed: $(cat "$T/sasl1")"
b=$(serving "case 1")
ok "pristine host, mailstage.conf only: plan says the lists are refreshed; apply refreshed, preseeded (Internet Site, mailname mail.example.com), installed $(installed)and converged: $(grep -o 'apply: .* changes' "$T/apply1"); units active; port 25: $b"
converged "case 1"
ok "case 1: second apply: $(grep -o 'apply: 0 of.*' "$T/again")"

# Lists older than the bound are refreshed before an install; recent ones are not.
ct_in apt-get purge -q -y bsd-mailx >/dev/null 2>&1
ct_in test -f /var/lib/apt/periodic/update-success-stamp || die "no apt update stamp after mailstage's refresh"
ct_in touch -d "3 days ago" /var/lib/apt/lists /var/lib/apt/periodic/update-success-stamp
expect_rc 2 cms plan >"$T/plan-old" 2>&1
grep -q "install bsd-mailx with apt-get, after refreshing the package lists (they are 72 hours old)" "$T/plan-old" ||
	die "plan with 3-day-old lists: $(grep install "$T/plan-old")"
expect_rc 0 cms apply >"$T/apply-old" 2>&1 || { cat "$T/apply-old"; die "apply with old lists failed"; }
grep -q "refreshing the package lists" "$T/apply-old" || die "3-day-old lists were not refreshed: $(cat "$T/apply-old")"
ct_in apt-get purge -q -y bsd-mailx >/dev/null 2>&1
expect_rc 2 cms plan >"$T/plan-new" 2>&1
grep -qx "  install bsd-mailx with apt-get" "$T/plan-new" || die "plan with recent lists: $(grep install "$T/plan-new")"
expect_rc 0 cms apply >"$T/apply-new" 2>&1 || { cat "$T/apply-new"; die "apply with recent lists failed"; }
grep -q "refreshing the package lists" "$T/apply-new" && die "recent lists were refreshed: $(cat "$T/apply-new")"
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages: $(installed)"
ok "lists 72 hours old: plan and apply refresh them before installing; lists just fetched: not refreshed"
ct_stop

# ======== case 2: postfix installed with "No configuration", no main.cf, no /etc/aliases ========
boot
echo "postfix postfix/main_mailer_type select No configuration" | ct_in debconf-set-selections
ct_in apt-get update -q >/dev/null 2>&1 || die "set-up: apt-get update failed"
ct_in env DEBIAN_FRONTEND=noninteractive apt-get install -q -y postfix >"$T/setup2" 2>&1 ||
	{ cat "$T/setup2"; die "set-up: installing postfix failed"; }
grep -q "cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf" "$T/setup2" ||
	die "set-up: postfix's postinst did not say it was not set up: $(tail -20 "$T/setup2")"
ct_in sh -c 'rm -rf /var/lib/apt/lists/* && rm /etc/aliases'
[ "$(lists)" = 0 ] || die "set-up: package lists left"
ct_in test ! -e /etc/postfix/main.cf || die "set-up: postfix made a main.cf"
ct_in test -f /usr/share/postfix/main.cf.debian || die "set-up: no main.cf.debian"
ct_in test ! -e /etc/aliases || die "set-up: /etc/aliases still there"
[ "$(installed)" = "postfix " ] || die "set-up: packages: $(installed)"
expect_rc 2 cms plan >"$T/plan2" 2>&1
grep -qx "  create /etc/postfix/main.cf (0644 root:root, [0-9]* lines)" "$T/plan2" &&
	grep -q "^    +myhostname = mail.example.com$" "$T/plan2" &&
	grep -q "^    +smtpd_banner = \$myhostname ESMTP \$mail_name (Debian/GNU)$" "$T/plan2" &&
	grep -q "main.cf does not exist (package postfix installed without a configuration): it is made from the package's template /usr/share/postfix/main.cf.debian" "$T/plan2" ||
	die "plan does not create main.cf from the template: $(cat "$T/plan2")"
grep -qx "  create /etc/aliases (0644 root:root, 3 lines)" "$T/plan2" || die "plan does not create /etc/aliases: $(cat "$T/plan2")"
grep -q "install opendkim opendkim-tools sasl2-bin libsasl2-modules bsd-mailx with apt-get, after refreshing the package lists (there are none yet)" "$T/plan2" ||
	die "plan does not install the rest after a refresh: $(cat "$T/plan2")"
rc=0; cms apply >"$T/apply2" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$T/apply2"; die "apply on a 'No configuration' postfix exited $rc"; }
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages after apply: $(installed)"
[ "$(ct_in postconf -h myhostname)" = mail.example.com ] && [ "$(ct_in postconf -h smtpd_milters)" = inet:127.0.0.1:8891 ] ||
	die "main.cf is not mailstage's: $(ct_in postconf -n)"
ct_in grep -q '^readme_directory = no$' /etc/postfix/main.cf || die "main.cf was not made from main.cf.debian"
[ "$(ct_in postalias -q postmaster hash:/etc/aliases)" = root ] && [ "$(ct_in postalias -q dmarc hash:/etc/aliases)" = root ] ||
	die "/etc/aliases(.db): $(ct_in cat /etc/aliases)"
b=$(serving "case 2")
ok "postfix with 'No configuration', no main.cf, no /etc/aliases, no lists: apply made main.cf from main.cf.debian and /etc/aliases (postmaster, dmarc; database built), installed the rest: $(grep -o 'apply: .* changes' "$T/apply2"); units active; port 25: $b"
converged "case 2"
ok "case 2: second apply: $(grep -o 'apply: 0 of.*' "$T/again")"
ct_stop

# ======== case 3: recent lists that are wrong ========
# A repository of the test's own at /srv/repo-m: symlinks to the image's
# .debs (bound at the same path, so they resolve inside too).
mkdir -p "$T/repo-m"
# Packages.gz only: apt then keeps a copy in its lists (an uncompressed
# index of a file: repository is only symlinked, so it could not be stale).
index() { (cd "$T/repo-m" && dpkg-scanpackages -m . /dev/null 2>/dev/null | gzip -9n >Packages.gz); }
for d in "$CT_IMAGE"/repo/*.deb; do
	case $(basename "$d") in bsd-mailx_*) ;; *) ln -s "$d" "$T/repo-m/" ;; esac
done
index
boot --bind-ro="$T/repo-m:/srv/repo-m" --bind-ro="$CT_IMAGE/repo:$CT_IMAGE/repo"
ct_in sh -c 'echo "deb [trusted=yes] file:/srv/repo-m ./" >/etc/apt/sources.list'
ct_in apt-get update -q >/dev/null 2>&1 || die "set-up: apt-get update failed"
ct_in find /var/lib/apt/lists -name '_srv_repo-m_*Packages*' -type f | grep -q . || die "set-up: the list is not a copy"
# The repository gains bsd-mailx after the lists were fetched (they are minutes old).
ln -s "$CT_IMAGE"/repo/bsd-mailx_*.deb "$T/repo-m/"
index
rc=0; cms --only packages apply >"$T/apply3" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$T/apply3"; die "apply with lists that lack a package exited $rc"; }
grep -q "apt does not know every package: refreshing the package lists once" "$T/apply3" ||
	die "no refresh for the unknown package: $(cat "$T/apply3")"
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages: $(installed)"
ok "recent lists without bsd-mailx: apt did not know it, the lists were refreshed once, everything installed"
expect_rc 0 cms rollback >"$T/rb3" 2>&1 || { cat "$T/rb3"; die "rollback failed"; }
[ -z "$(installed)" ] || die "rollback left packages: $(installed)"
# The lists name ./bsd-mailx_*.deb; the repository moves it (and nothing is in apt's cache).
ct_in apt-get clean
mkdir "$T/repo-m/moved"
mv "$T"/repo-m/bsd-mailx_*.deb "$T/repo-m/moved/"
index
zgrep -q '^Filename: ./moved/bsd-mailx_' "$T/repo-m/Packages.gz" || die "set-up: the index does not name the moved file"
rc=0; cms --only packages apply >"$T/apply4" 2>&1 || rc=$?
[ $rc = 0 ] || { cat "$T/apply4"; die "apply with lists naming a moved file exited $rc"; }
grep -q "the mirror no longer has a package the lists name (404): refreshing the package lists once" "$T/apply4" ||
	die "no refresh for the missing file: $(cat "$T/apply4")"
[ "$(installed)" = "bsd-mailx libsasl2-modules opendkim opendkim-tools postfix sasl2-bin " ] || die "packages: $(installed)"
# The undo was taken after the refresh: it purges every package the run installed.
expect_rc 0 cms rollback >"$T/rb4" 2>&1 || { cat "$T/rb4"; die "rollback failed"; }
[ -z "$(installed)" ] || die "rollback left packages: $(installed)"
ct_in dpkg -l | awk '$1 != "ii" && /^[a-z][a-z] / { print }' | grep . && die "packages left half-removed"
ok "lists naming a file the repository moved (File not found = 404): refreshed once, installed; rollback purged all of it"
ct_stop
