#!/bin/bash
# The mail configuration stages on EL scratch roots.  CentOS 7's Postfix 2.10
# cannot run here, so for el7 the test checks the exact main.cf content
# instead: every managed parameter once, with the 2.10-safe protocol list
# (a token 2.10 does not know, even TLSv1.3 or >=TLSv1.2, makes it log
# "disabling TLS support"), and none of the parameters Postfix 2.10 does
# not know (compatibility_level and the other 3.x-only ones below: 2.10
# warns "unused parameter" and ignores them at best).  Postfix 3.7's
# postconf still parses the el7 files (nearest real check: syntax, one
# smtp inet entry, submission/smtps options).  el8/el9 (Postfix 3.5) get
# compatibility_level when their file has none.  On all: a second apply
# changes nothing, saslauthd's sysconfig is MECH=pam, Cyrus smtpd.conf uses
# saslauthd, opendkim signs with the tables.
. "$(dirname "$0")/lib.sh"
# Only the mail stages and the two whose files they name (the repos stage
# wants a real /etc/yum.repos.d, which these scratch roots do not have).
ONLY=(--only tls,dkim-keys,opendkim,sasl,postfix-main,postfix-master)
for profile in el7 el8 el9; do
	R=$T/$profile
	mkroot "$R" "$profile"
	cp "$R/etc/postfix/main.cf" "$T/main.cf.orig"
	ms "${ONLY[@]}" --root "$R" -q apply 2>/dev/null
	M=$R/etc/postfix/main.cf
	# every managed parameter defined exactly once, with its value
	while IFS= read -r line; do
		n=$(grep -cxF "$line" "$M" || true)
		[ "$n" -eq 1 ] || die "$profile: \"$line\" appears $n times in main.cf"
	done <<'EOF'
myhostname = mail.example.com
mydomain = example.com
myorigin = $mydomain
inet_interfaces = all
inet_protocols = ipv4
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_tls_cert_file = /etc/pki/tls/certs/mail.example.com.crt
smtpd_tls_key_file = /etc/pki/tls/private/mail.example.com.key
smtpd_tls_security_level = may
smtpd_tls_protocols = !SSLv2, !SSLv3
smtpd_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = no
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = yes
disable_vrfy_command = yes
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_unknown_sender_domain, reject_unknown_recipient_domain, reject_rbl_client zen.spamhaus.org
smtpd_client_connection_rate_limit = 10
smtpd_client_message_rate_limit = 30
message_size_limit = 10240000
mailbox_size_limit = 51200000
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
smtpd_milters = inet:127.0.0.1:8891
non_smtpd_milters = $smtpd_milters
milter_default_action = accept
EOF
	for name in $(postconf -c "$R/etc/postfix" -n 2>/dev/null | cut -d' ' -f1 | grep -vx config_directory); do
		[ "$(grep -c "^$name *=" "$M")" -eq 1 ] || die "$profile: $name defined more than once"
	done
	# 3.x-only parameters and protocol tokens 2.10 does not know
	threex='compatibility_level|smtputf8_enable|smtpd_tls_chain_files|tls_ssl_options|smtpd_forbid_bare_newline|meta_directory|shlib_directory'
	if [ "$profile" = el7 ]; then
		if grep -Eq "^($threex) *=" "$M"; then die "el7: a parameter Postfix 2.10 does not know was written"; fi
		if grep -Eq '^[^#]*(TLSv1\.[23]|>=)' "$M"; then die "el7: a TLS protocol token 2.10 does not know"; fi
	else
		grep -qx 'compatibility_level = 2' "$M" || die "$profile: compatibility_level not set on Postfix 3.x"
	fi
	# the package's other lines are untouched: without the managed parameters'
	# lines (and their disabled copies), the file is the packaged one
	managed='myhostname|mydomain|myorigin|inet_interfaces|inet_protocols|mydestination|mynetworks|compatibility_level'
	managed+='|smtpd_tls_[a-z_]+|smtp_tls_security_level|smtp_tls_loglevel|smtpd_sasl_[a-z_]+|broken_sasl_auth_clients|disable_vrfy_command'
	managed+='|smtpd_relay_restrictions|smtpd_recipient_restrictions|smtpd_client_[a-z_]+_limit|initial_destination_concurrency'
	managed+='|default_destination_[a-z_]+|message_size_limit|mailbox_size_limit|[a-z_]*queue_lifetime|[a-z_]*milters|milter_default_action'
	diff <(grep -vE "^(#mailstage: )?($managed) *=" "$T/main.cf.orig") <(grep -vE "^(#mailstage: )?($managed) *=" "$M") ||
		die "$profile: lines outside the managed parameters changed"
	# master.cf as Postfix 3.7's postconf reads it
	[ "$(postconf -c "$R/etc/postfix" -M smtp/inet 2>/dev/null | grep -c .)" = 1 ] || die "$profile: smtp inet count"
	[ "$(postconf -c "$R/etc/postfix" -Fh submission/inet/chroot 2>/dev/null)" = n ] ||
		die "$profile: submission not copied from EL's unchrooted smtp"
	[ "$(postconf -c "$R/etc/postfix" -Ph smtps/inet/smtpd_tls_wrappermode 2>/dev/null)" = yes ] || die "$profile: smtps"
	# SASL only on submission and smtps (main.cf says no: no AUTH on 25)
	for s in submission smtps; do
		[ "$(postconf -c "$R/etc/postfix" -Ph "$s/inet/smtpd_sasl_auth_enable" 2>/dev/null)" = yes ] ||
			die "$profile: SASL not enabled on $s"
	done
	[ -z "$(postconf -c "$R/etc/postfix" -Ph smtp/inet/smtpd_sasl_auth_enable 2>/dev/null)" ] ||
		die "$profile: smtp inet (port 25) overrides smtpd_sasl_auth_enable"
	if grep -q -- '-o {' "$R/etc/postfix/master.cf"; then die "$profile: { } option syntax (3.0+) in master.cf"; fi
	# SASL and OpenDKIM
	grep -qx 'MECH=pam' "$R/etc/sysconfig/saslauthd" || die "$profile: MECH"
	grep -qx 'pwcheck_method: saslauthd' "$R/etc/sasl2/smtpd.conf" || die "$profile: smtpd.conf"
	grep -qx 'mech_list: plain login' "$R/etc/sasl2/smtpd.conf" || die "$profile: mech_list"
	grep -qx 'Mode	sv' "$R/etc/opendkim.conf" || die "$profile: Mode sv"
	grep -qx 'UserID	opendkim:opendkim' "$R/etc/opendkim.conf" || die "$profile: UserID"
	grep -qx '#mailstage: KeyFile	/etc/opendkim/keys/default.private' "$R/etc/opendkim.conf" ||
		die "$profile: EPEL's KeyFile (a key that does not exist) left active"
	# EPEL 7's packaged text (opendkim 2.11.0-0.1.el7, tests/data/el7/opendkim.conf):
	# its examples are written "# KeyTable<TAB>..." (hash, space); each table line
	# goes right after its example, once; the package's other active lines
	# (SendReports, SoftwareHeader, MinimumKeyBits, OversignHeaders) and its
	# "##" comments and DEPRECATED block stay as they are.
	D=$R/etc/opendkim.conf
	for k in KeyTable SigningTable InternalHosts ExternalIgnoreList; do
		[ "$(grep -c "^$k	" "$D")" = 1 ] || die "$profile: $k is not set exactly once"
		grep -A1 "^# $k	" "$D" | tail -n 1 | grep -q "^$k	" || die "$profile: $k not next to its \"# $k\" example"
	done
	for l in 'SendReports	yes' 'SoftwareHeader	yes' 'MinimumKeyBits	1024' 'OversignHeaders	From' 'Canonicalization	relaxed/relaxed'; do
		[ "$(grep -cx "$l" "$D")" = 1 ] || die "$profile: \"$l\" is not there exactly once"
	done
	dk='Mode|Selector|KeyFile|KeyTable|SigningTable|InternalHosts|ExternalIgnoreList|Socket|UserID|Canonicalization|OversignHeaders'
	diff <(grep -vE "^(#mailstage: )?($dk)	" "$MAILSTAGE_SRC/tests/data/el7/opendkim.conf") <(grep -vE "^(#mailstage: )?($dk)	" "$D") ||
		die "$profile: opendkim.conf lines outside the managed options changed"
	gid=$(awk -F: '$1 == "opendkim" {print $3}' "$R/etc/group")	# the target's, not this host's
	[ "$(stat -c '%a %u:%g' "$R/etc/opendkim/KeyTable")" = "640 0:$gid" ] || die "$profile: KeyTable not root:opendkim 0640"
	[ "$(postalias -c "$R/etc/postfix" -q dmarc "hash:$R/etc/aliases")" = root ] || die "$profile: dmarc alias"
	ms "${ONLY[@]}" --root "$R" apply 2>"$T/err" >/dev/null
	grep -Eq "apply: 0 of [0-9]+ stages changed" "$T/err" || { cat "$T/err"; die "$profile: second apply changed something"; }
	ok "$profile: main.cf exact for Postfix $( [ "$profile" = el7 ] && echo 2.10 || echo 3.5 ), master.cf, SASL, OpenDKIM; idempotent"
done
