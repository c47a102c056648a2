#!/bin/bash
# The mail configuration stages (opendkim, sasl, postfix-main, postfix-master)
# on a Debian 12 scratch root, judged by the real programs installed here
# (Postfix 3.7, OpenDKIM 2.11, bash for the sourced defaults files):
#  - `postconf -c ROOT/etc/postfix -n` prints exactly the expected parameters
#    (the managed values plus the package's own lines) and no warning;
#  - `postfix check` on that configuration prints no warning.  postfix check
#    needs a queue and data directory it may create and own: the test copies
#    ROOT/etc/postfix to a temporary config_directory whose queue_directory
#    and data_directory point into $T (meta_directory too, with Postfix's
#    package files from tests/lib/pfmeta).  Postfix prints warnings on stderr
#    only when it is a terminal (else only to syslog), so it runs under
#    script(1); a control run first shows that a warning is seen;
#  - `postconf -M`/`-P`/`-F`: one smtp inet, submission and smtps, with the
#    options and the chroot copied from smtp;
#  - `opendkim -n -x` accepts opendkim.conf.  Its table paths are absolute
#    target paths (/etc/opendkim/...), so the check runs on a copy whose
#    paths are rewritten into ROOT (KeyTable too: opendkim opens it);
#  - the DMARC alias resolves through the database postalias built;
#  - the saslauthd and opendkim defaults files, sourced by bash as the init
#    scripts do, say what the daemons need;
#  - the seed guide's literal configuration is corrected the same way, an
#    unparsable master.cf fails with FILE:LINE and leaves the root as it was,
#    a second apply changes nothing, hand-edit drift is repaired while
#    unrelated edits stay.
. "$(dirname "$0")/lib.sh"
for p in postconf postfix postalias opendkim script; do
	command -v "$p" >/dev/null || die "$p is not installed (apt-get install postfix opendkim util-linux)"
done
R=$T/r
mkroot "$R" debian12
ms "${SCRATCH[@]}" --root "$R" -q apply 2>/dev/null

# --- postconf -n: exactly these, and silent on stderr (unknown or unused parameters warn)
postconf -c "$R/etc/postfix" -n 2>"$T/pcerr" | grep -v '^config_directory = ' >"$T/pc"
[ ! -s "$T/pcerr" ] || { cat "$T/pcerr"; die "postconf -n warned"; }
cat >"$T/want" <<'EOF'
alias_database = hash:/etc/aliases
alias_maps = hash:/etc/aliases
append_dot_mydomain = no
biff = no
bounce_queue_lifetime = 1d
broken_sasl_auth_clients = yes
compatibility_level = 3.6
default_destination_concurrency_limit = 5
default_destination_rate_delay = 1s
disable_vrfy_command = yes
inet_interfaces = all
inet_protocols = ipv4
initial_destination_concurrency = 2
mailbox_size_limit = 51200000
maximal_queue_lifetime = 1d
message_size_limit = 10240000
milter_default_action = accept
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mydomain = example.com
myhostname = mail.example.com
mynetworks = 127.0.0.0/8 [::1]/128
myorigin = $mydomain
non_smtpd_milters = $smtpd_milters
readme_directory = no
recipient_delimiter = +
relayhost =
smtp_tls_CApath = /etc/ssl/certs
smtp_tls_loglevel = 1
smtp_tls_security_level = may
smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
smtpd_client_connection_rate_limit = 10
smtpd_client_message_rate_limit = 30
smtpd_milters = inet:127.0.0.1:8891
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_unknown_sender_domain, reject_unknown_recipient_domain, reject_rbl_client zen.spamhaus.org
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_auth_enable = no
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
smtpd_sasl_type = cyrus
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = /etc/ssl/certs/mail.example.com.crt
smtpd_tls_exclude_ciphers = aNULL, eNULL, EXPORT, DES, RC4, MD5, PSK, aECDH, EDH-DSS-DES-CBC3-SHA, EDH-RSA-DES-CBC3-SHA, KRB5-DES, CBC3-SHA
smtpd_tls_key_file = /etc/ssl/private/mail.example.com.key
smtpd_tls_mandatory_ciphers = high
smtpd_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1
smtpd_tls_protocols = !SSLv2, !SSLv3
smtpd_tls_security_level = may
EOF
diff -u "$T/want" "$T/pc" || die "postconf -n differs from the managed values"
ok "postconf -n: exactly the managed values, no warning"

# --- postfix check, in a private config/queue/data directory
pfcheck() {	# pfcheck CONFIGDIR: postfix check's output (empty when clean); fails on a non-zero exit
	local d=$1
	rm -rf "$T/pf"
	mkdir -p "$T/pf/spool" "$T/pf/data"
	cp -a "$d" "$T/pf/etc"
	"$MAILSTAGE_SRC/tests/lib/pfmeta" "$T/pf/etc"	# Postfix's package files, not this machine's /etc/postfix
	postconf -c "$T/pf/etc" -e "queue_directory=$T/pf/spool" "data_directory=$T/pf/data" "meta_directory=$T/pf/etc"
	[ "${2:-}" = control ] || chown postfix "$T/pf/data"
	script -qec "postfix -c $T/pf/etc check" /dev/null | tr -d '\r'
}
out=$(pfcheck "$R/etc/postfix" control)
case $out in *"warning: not owned by postfix"*) ;; *) die "control: postfix check's warning not seen: $out" ;; esac
out=$(pfcheck "$R/etc/postfix") || die "postfix check failed: $out"
[ -z "$out" ] || die "postfix check warned: $out"
ok "postfix check: no warning"

# --- master.cf: one smtp inet, submission and smtps with TLS required and SASL
postconf -c "$R/etc/postfix" -M >"$T/m"
for s in smtp submission smtps; do
	n=$(awk -v s="$s" '$1 == s && $2 == "inet"' "$T/m" | wc -l)
	[ "$n" -eq 1 ] || die "postconf -M shows $n '$s inet' entries"
done
postconf -c "$R/etc/postfix" -P >"$T/P"
for want in smtp/inet/smtpd_client_connection_count_limit=10 smtp/inet/smtpd_client_connection_rate_limit=10 \
	smtp/inet/smtpd_client_message_rate_limit=30 smtp/inet/smtpd_error_sleep_time=1s \
	submission/inet/smtpd_tls_security_level=encrypt submission/inet/smtpd_sasl_auth_enable=yes \
	submission/inet/smtpd_tls_auth_only=yes \
	submission/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject \
	submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject \
	smtps/inet/smtpd_tls_wrappermode=yes smtps/inet/smtpd_sasl_auth_enable=yes \
	smtps/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject; do
	grep -qxF "${want%%=*} = ${want#*=}" "$T/P" || die "postconf -P lacks $want"
done
for s in smtp submission smtps; do
	[ "$(postconf -c "$R/etc/postfix" -Fh "$s/inet/chroot")" = y ] || die "$s inet is not chrooted as Debian's smtp is"
done
# SASL on 587/465 only: port 25 (smtp inet) has no override, so main.cf's no applies there
grep -q '^smtp/inet/smtpd_sasl_auth_enable' "$T/P" && die "smtp inet (port 25) overrides smtpd_sasl_auth_enable"
# TLS required on 587/465 (Postfix then uses smtpd_tls_mandatory_protocols: TLS 1.2+), opportunistic on 25
grep -qxF 'smtps/inet/smtpd_tls_security_level = encrypt' "$T/P" || die "smtps: TLS level not encrypt"
grep -q '^smtp/inet/smtpd_tls_' "$T/P" && die "smtp inet (port 25) overrides a TLS setting"
ok "postconf -M/-P/-F: one smtp inet with the limits; submission and smtps, TLS required, SASL, chroot y; no SASL on 25"

# --- opendkim accepts its configuration (paths rewritten into the root, see the header)
mkdir -p "$T/dk"
sed "s|/etc/opendkim/|$R/etc/opendkim/|g" "$R/etc/opendkim.conf" >"$T/dk/opendkim.conf"
sed "s|/etc/opendkim/|$R/etc/opendkim/|g" "$R/etc/opendkim/KeyTable" >"$R/etc/opendkim/KeyTable.test"
sed -i "s|$R/etc/opendkim/KeyTable\$|$R/etc/opendkim/KeyTable.test|" "$T/dk/opendkim.conf"
opendkim -n -x "$T/dk/opendkim.conf" || die "opendkim -n rejects the generated opendkim.conf"
grep -Eq '^Mode[[:space:]]+sv$' "$R/etc/opendkim.conf" || die "opendkim.conf does not sign (Mode)"
printf 'Mode v\nKeyTable %s/nonexistent\n' "$T" >"$T/dk/bad.conf"
if opendkim -n -x "$T/dk/bad.conf" 2>/dev/null; then die "control: opendkim -n accepted a missing KeyTable"; fi
rm -f "$R/etc/opendkim/KeyTable.test"
ok "opendkim -n accepts opendkim.conf (Mode sv, KeyTable, SigningTable)"

# --- DMARC alias through the database postalias built
[ "$(postalias -c "$R/etc/postfix" -q dmarc "hash:$R/etc/aliases")" = root ] || die "dmarc alias not in $R/etc/aliases.db"
[ "$(postalias -c "$R/etc/postfix" -q postmaster "hash:$R/etc/aliases")" = root ] || die "postmaster alias lost"
ok "DMARC report alias in the alias database"

# --- the defaults files as the init scripts read them
# shellcheck disable=SC1091
( set +u; . "$R/etc/default/saslauthd"
  [ "$START" = yes ] && [ "$MECHANISMS" = pam ] && [ "$OPTIONS" = "-c -m /var/spool/postfix/var/run/saslauthd" ] ) ||
	die "saslauthd defaults wrong"
( set +u; . "$R/etc/default/opendkim"; [ "$SOCKET" = inet:8891@localhost ] ) || die "SOCKET in /etc/default/opendkim"
grep -qx 'sasl:x:45:postfix' "$R/etc/group" || die "postfix not in group sasl"
grep -qx 'sasl:!::postfix' "$R/etc/gshadow" || die "postfix not in group sasl (gshadow)"
grep -qx 'pwcheck_method: saslauthd' "$R/etc/postfix/sasl/smtpd.conf" || die "smtpd.conf"
ok "saslauthd: START, PAM, socket in the chroot; postfix in group sasl; smtpd.conf"

# --- idempotent: a second apply changes nothing
ms "${SCRATCH[@]}" --root "$R" apply 2>"$T/err" >/dev/null
grep -Eq "apply: 0 of [0-9]+ stages changed" "$T/err" || { cat "$T/err"; die "second apply changed something"; }
ok "second apply changes nothing"

# --- drift: managed settings repaired, unrelated edits kept
sed -i 's|^mynetworks = .*|mynetworks = 127.0.0.0/8 192.0.2.0/24|' "$R/etc/postfix/main.cf"
printf 'smtpd_helo_required = yes\n' >>"$R/etc/postfix/main.cf"
sed -i 's|^  -o smtpd_tls_wrappermode=yes$|  -o smtpd_tls_wrappermode=no|' "$R/etc/postfix/master.cf"
expect_rc 2 ms "${SCRATCH[@]}" --root "$R" -q plan
ms "${SCRATCH[@]}" --root "$R" -q apply 2>/dev/null
[ "$(postconf -c "$R/etc/postfix" -h mynetworks)" = "127.0.0.0/8 [::1]/128" ] || die "mynetworks drift not repaired"
[ "$(postconf -c "$R/etc/postfix" -h smtpd_helo_required)" = yes ] || die "unrelated hand edit lost"
[ "$(postconf -c "$R/etc/postfix" -Ph smtps/inet/smtpd_tls_wrappermode)" = yes ] || die "smtps drift not repaired"
ok "drift repaired, unrelated edit kept"

# --- the seed guide's literal configuration as the starting point
G=$T/g
mkdir -p "$G"
tests/cases/plan/013-guide-literal/setup "$G" >/dev/null
postconf -c "$G/etc/postfix" -M smtp/inet 2>/dev/null | grep -c . | grep -qx 2 || die "setup: no duplicate smtp entry"
ms "${SCRATCH[@]}" --root "$G" -q apply 2>/dev/null
[ "$(postconf -c "$G/etc/postfix" -M smtp/inet | grep -c .)" = 1 ] || die "guide: duplicate smtp inet left"
[ "$(postconf -c "$G/etc/postfix" -Fh smtp/inet/chroot)" = y ] || die "guide: the unchrooted duplicate won"
[ "$(postconf -c "$G/etc/postfix" -Ph smtp/inet/smtpd_client_connection_rate_limit)" = 10 ] ||
	die "guide: master.cf's rate limit disagrees with main.cf"
postconf -c "$G/etc/postfix" -n >"$T/gpc" 2>"$T/gerr"
[ ! -s "$T/gerr" ] || { cat "$T/gerr"; die "postconf warned on the corrected guide config"; }
grep -q 'reject_invalid_hostname\|reject_non_fqdn_hostname' "$T/gpc" && die "guide: deprecated restriction names left"
grep -qx 'smtpd_milters = inet:127.0.0.1:8891' "$T/gpc" || die "guide: milter not wired"
grep -qx 'smtpd_tls_protocols = !SSLv2, !SSLv3' "$T/gpc" || die "guide: smtpd_tls_protocols"
grep -qx 'smtpd_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1' "$T/gpc" ||
	die "guide: smtpd_tls_mandatory_protocols (its !SSLv2, !SSLv3 left TLS 1.0 on 587/465)"
# the guide's smtpd_sasl_auth_enable = yes offered AUTH on port 25: now no, yes on 587/465 only
grep -qx 'smtpd_sasl_auth_enable = no' "$T/gpc" || die "guide: smtpd_sasl_auth_enable still enabled globally"
[ "$(grep -c '^smtpd_sasl_auth_enable *=' "$G/etc/postfix/main.cf")" = 1 ] || die "guide: smtpd_sasl_auth_enable defined twice"
[ "$(postconf -c "$G/etc/postfix" -Ph submission/inet/smtpd_sasl_auth_enable)" = yes ] || die "guide: no SASL on 587"
grep -qx 'disable_vrfy_command = yes' "$T/gpc" || die "guide: VRFY not disabled"
out=$(pfcheck "$G/etc/postfix") || die "postfix check failed on the corrected guide config: $out"
[ -z "$out" ] || die "postfix check warned on the corrected guide config: $out"
grep -q '^#mailstage: KeyFile' "$G/etc/opendkim.conf" || die "guide: single-key KeyFile left active"
ok "the guide's literal config corrected: one smtp inet (chroot y), milter, helo names, protocols, SASL off on 25, no VRFY; postfix check clean"

# --- an unparsable master.cf: FILE:LINE, and the root exactly as before
B=$T/b
mkdir -p "$B"
tests/cases/plan/015-bad-mastercf-apply/setup "$B" >/dev/null
snapshot "$B" >"$T/before"
expect_rc 3 ms "${SCRATCH[@]}" --root "$B" apply 2>"$T/err" >/dev/null
grep -Eq 'postfix-master failed: /etc/postfix/master.cf:[0-9]+: service entry has 7 fields' "$T/err" ||
	{ cat "$T/err"; die "no FILE:LINE error for the bad master.cf"; }
snapshot "$B" >"$T/after"
diff -u "$T/before" "$T/after" || die "the root changed after the failed apply"
ok "unparsable master.cf: error names file and line, root unchanged"
