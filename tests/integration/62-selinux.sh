#!/bin/bash
# Stage selinux against a copy of a real policy store (Debian's
# selinux-policy-default, refpolicy) placed in a --root target: the boolean is
# set persistently through libsemanage, read back with an independent reader
# (`semanage boolean -l -C`, run in a private mount namespace with the copies
# bind-mounted over /etc/selinux and /var/lib/selinux), the labels of the
# written files are the policy's (cross-checked with matchpathcon), and a
# rollback restores the old boolean value and labels.  OpenDKIM's milter port
# 8891/tcp: refpolicy declares milter_port_t with no port (8891 is
# unreserved_port_t, which dkim_milter_t may not bind: opendkim fails to start
# under enforcing, seen in the VM tier), so the stage adds the local port
# record, read back with `semanage port -l -C`, and the rollback removes it.
# NOT covered here: this machine's kernel has no SELinux, so the runtime half
# (semanage_bool_set_active, selinux_restorecon) cannot run; the stage reports
# it and sets the persistent value only.  The optional qemu tier covers it.
. "$(dirname "$0")/lib.sh"
for p in semanage matchpathcon getfattr; do
	command -v $p >/dev/null || die "$p missing (apt-get install selinux-policy-default policycoreutils-python-utils selinux-utils attr)"
done
[ -d /var/lib/selinux/default ] || die "no selinux-policy-default store (apt-get install selinux-policy-default)"
R=$T/r
mkroot "$R" debian12
mkdir -p "$R/var/lib"
cp -a /etc/selinux "$R/etc/selinux"
cp -a /var/lib/selinux "$R/var/lib/selinux"
printf 'SELINUX=permissive\nSELINUXTYPE=default\n' >"$R/etc/selinux/config"
# A packaged main.cf, as the postfix stages leave it.
printf 'myhostname = mail.example.com\n' >"$R/etc/postfix/main.cf"
fc=$R/etc/selinux/default/contexts/files/file_contexts
key=/etc/opendkim/keys/example.com/default.private

# The boolean as an independent reader sees it in the copied store.
se_local() {	# local customisations of the copied store
	unshare -m --propagation private bash -c 'mount --bind "$1/etc/selinux" /etc/selinux &&
		mount --bind "$1/var/lib/selinux" /var/lib/selinux && semanage boolean -l -C' -- "$R"
}
se_ports() {	# local port customisations of the copied store
	unshare -m --propagation private bash -c 'mount --bind "$1/etc/selinux" /etc/selinux &&
		mount --bind "$1/var/lib/selinux" /var/lib/selinux && semanage port -l -C' -- "$R"
}
label() { getfattr --only-values -n security.selinux "$R$1" 2>/dev/null | tr -d '\0'; }

se_local >"$T/local0"
grep -q httpd_can_sendmail "$T/local0" && die "the copied store already customises httpd_can_sendmail"

ms --root "$R" --only tls,dkim-keys apply >/dev/null
snapshot "$R/etc" | grep -v '^/selinux/' >"$T/etc-before" || true
rc=0; ms --root "$R" --only selinux plan >"$T/plan" 2>&1 || rc=$?
cat "$T/plan"
[ $rc -eq 2 ] || die "plan exited $rc, expected 2"
grep -q "set SELinux boolean httpd_can_sendmail on (persistent; now off)" "$T/plan" || die "plan: boolean"
grep -q "SELinux is not active on the --root target" "$T/plan" || die "plan: no note about the runtime part"
# The wanted label is what the policy's file_contexts says (Debian's refpolicy:
# dkim_milter_private_key_t; EL's policy has no such path, see the el7 part).
keywant=$(matchpathcon -f "$fc" $key | awk '{print $2}')
echo "Debian refpolicy: $key -> $keywant"
grep -q "label $key $keywant" "$T/plan" || die "plan: key label (matchpathcon: $keywant)"
grep -q "label TCP port 8891 milter_port_t, persistently (now unreserved_port_t)" "$T/plan" || die "plan: milter port"
grep -q "port 8892" "$T/plan" && die "plan: port 8892 without Ed25519"
se_ports | grep -q 8891 && die "the copied store already customises port 8891"

ms --root "$R" --only selinux apply
se_local >"$T/local1"
cat "$T/local1"
grep -Eq '^httpd_can_sendmail +\(on +, +on\)' "$T/local1" || die "semanage does not read httpd_can_sendmail on"
ok "boolean set persistently: semanage boolean -l -C reads httpd_can_sendmail (on, on)"
se_ports >"$T/ports1"
cat "$T/ports1"
grep -Eq '^milter_port_t +tcp +8891$' "$T/ports1" || die "semanage port -l -C does not list milter_port_t tcp 8891"
ok "milter port: semanage port -l -C lists milter_port_t tcp 8891 (refpolicy gives it no port)"

[ "$(label $key)" = "$keywant" ] || die "key label: $(label $key), matchpathcon says $keywant"
for f in $key /etc/postfix/main.cf /etc/opendkim/keys /etc/ssl/private/mail.example.com.key; do
	want=$(matchpathcon -f "$fc" "$f" | awk '{print $2}')
	[ "$(label "$f")" = "$want" ] || die "$f: label $(label "$f"), matchpathcon says $want"
done
ok "labels: key, main.cf, key directory and TLS key all as matchpathcon computes from Debian's file_contexts"

expect_rc 0 ms --root "$R" --only selinux plan
ok "second plan: converged"

ms --root "$R" rollback
se_local >"$T/local2"
grep -q httpd_can_sendmail "$T/local2" && die "rollback left the httpd_can_sendmail customisation"
se_ports | grep -q 8891 && die "rollback left the port 8891 customisation"
[ -z "$(label $key)" ] || die "rollback: key still labelled $(label $key)"
snapshot "$R/etc" | grep -v '^/selinux/' >"$T/etc-after" || true
diff -u "$T/etc-before" "$T/etc-after" || die "rollback: files or labels differ"
ok "rollback: no customisation left (boolean back to the policy's off, port 8891 back to unreserved_port_t), labels as before"

# A boolean the policy does not have is a configuration error found by check.
printf 'selinux_booleans = no_such_boolean=on\n' >>"$R/etc/mailstage/mailstage.conf"
rc=0; ms --root "$R" --only selinux plan >"$T/bad" 2>&1 || rc=$?
[ $rc -eq 78 ] || { cat "$T/bad"; die "unknown boolean: exit $rc, expected 78"; }
grep -q 'no boolean "no_such_boolean"' "$T/bad" || die "unknown boolean: message"
ok "unknown boolean: exit 78"

# SELinux disabled in the target: reported and skipped, not an error.
printf 'SELINUX=disabled\nSELINUXTYPE=default\n' >"$R/etc/selinux/config"
ms --root "$R" --only selinux plan >"$T/off" 2>&1 || die "disabled SELinux made plan fail"
grep -q "SELINUX=disabled.*skipped" "$T/off" || { cat "$T/off"; die "disabled SELinux not reported"; }
ok "SELINUX=disabled: reported and skipped"

# ---- EL7: the policy store where EL7 keeps it (E1), EL's file contexts (E6) ----
# RHEL 7 patches libsemanage 2.5 to keep the store at /etc/selinux/TYPE/active
# (upstream 2.4+, Debian and EL8+: /var/lib/selinux/TYPE).  CentOS 7 and its
# policy cannot run here: the EL7-shaped root holds a copy of Debian's
# refpolicy store at /etc/selinux/targeted/active (no /var/lib/selinux at
# all), and its semanage.conf says store-root = /etc/selinux so that this
# machine's libsemanage 3.4 uses it: that is what EL7's patched default
# amounts to.  The boolean is then really set there, read back by semanage.
R7=$T/el7
mkroot "$R7" el7
mkdir -p "$R7/etc/selinux/targeted"
cp -a /etc/selinux/default/. "$R7/etc/selinux/targeted/"
cp -a /var/lib/selinux/default/active "$R7/etc/selinux/targeted/active"
cp /etc/selinux/semanage.conf "$R7/etc/selinux/semanage.conf"
printf '\nstore-root = /etc/selinux\n' >>"$R7/etc/selinux/semanage.conf"
printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$R7/etc/selinux/config"
printf 'myhostname = mail.example.com\n' >"$R7/etc/postfix/main.cf"
[ ! -e "$R7/var/lib/selinux" ] || die "test setup: the el7 root has /var/lib/selinux"
se_local7() {	# semanage reads R7's semanage.conf (store-root) and config (targeted)
	unshare -m --propagation private bash -c 'mount --bind "$1/etc/selinux" /etc/selinux && semanage boolean -l -C' -- "$R7"
}
se_local7 >"$T/l7-0"
grep -q httpd_can_sendmail "$T/l7-0" && die "the el7 store already customises httpd_can_sendmail"
ms --root "$R7" --only tls,dkim-keys apply >/dev/null
rc=0; ms --root "$R7" --only selinux plan >"$T/plan7" 2>&1 || rc=$?
cat "$T/plan7"
[ $rc -eq 2 ] || die "el7 plan exited $rc, expected 2"
grep -q "skipped" "$T/plan7" && die "el7: the selinux stage is skipped"
grep -q "set SELinux boolean httpd_can_sendmail on (persistent; now off)" "$T/plan7" || die "el7 plan: boolean"
ms --root "$R7" --only selinux apply >/dev/null
se_local7 >"$T/l7-1"
grep -Eq '^httpd_can_sendmail +\(on +, +on\)' "$T/l7-1" || { cat "$T/l7-1"; die "el7: semanage does not read httpd_can_sendmail on"; }
[ -d "$R7/etc/selinux/targeted/active" ] && [ ! -e "$R7/var/lib/selinux" ] || die "el7: the store moved"
expect_rc 0 ms --root "$R7" --only selinux plan
ok "el7: store at /etc/selinux/targeted/active: httpd_can_sendmail set persistently (semanage reads it), converged"
ms --root "$R7" rollback >/dev/null
se_local7 | grep -q httpd_can_sendmail && die "el7 rollback left the customisation"
ok "el7 rollback: no customisation left"

# Without store-root in semanage.conf the profile's default decides: el7 looks
# in /etc/selinux/TYPE/active, debian12 in /var/lib/selinux/TYPE/active.
sed -i '/^store-root/d' "$R7/etc/selinux/semanage.conf"
mv "$R7/etc/selinux/targeted/active" "$T/active7"
ms --root "$R7" --only selinux plan >"$T/nostore7" 2>&1 || true
grep -q "no policy store $R7/etc/selinux/targeted/active (the el7 default; .*sets no store-root).*skipped" "$T/nostore7" ||
	{ cat "$T/nostore7"; die "el7 default store-root is not /etc/selinux"; }
RD=$T/deb-etcstore
mkroot "$RD" debian12
mkdir -p "$RD/etc/selinux/targeted"
cp /etc/selinux/semanage.conf "$RD/etc/selinux/"
printf 'SELINUX=enforcing\nSELINUXTYPE=targeted\n' >"$RD/etc/selinux/config"
mv "$T/active7" "$RD/etc/selinux/targeted/active"
ms --root "$RD" --only selinux plan >"$T/nostored" 2>&1 || true
grep -q "no policy store $RD/var/lib/selinux/targeted/active (the debian12 default" "$T/nostored" ||
	{ cat "$T/nostored"; die "debian12 default store-root is not /var/lib/selinux"; }
ok "no store-root: el7 looks in /etc/selinux/TYPE/active, debian12 in /var/lib/selinux/TYPE/active"

# E6: EL's file_contexts (tests/data/el7/file_contexts, the entries of EL7's
# targeted policy for these paths) has no dkim_milter_private_key_t path: the
# key and its directory are etc_t there, and that is what is set.
mv "$RD/etc/selinux/targeted/active" "$R7/etc/selinux/targeted/active"
printf '\nstore-root = /etc/selinux\n' >>"$R7/etc/selinux/semanage.conf"
fc7=$MAILSTAGE_SRC/tests/data/el7/file_contexts
grep -q dkim_milter_private_key_t "$fc7" && die "test setup: the EL fixture has dkim_milter_private_key_t"
rc=0; MAILSTAGE_SELINUX_FCONTEXTS=$fc7 ms --root "$R7" --only selinux plan >"$T/plan7fc" 2>&1 || rc=$?
cat "$T/plan7fc"
[ $rc -eq 2 ] || die "el7 file contexts: plan exited $rc"
grep -q dkim_milter_private_key_t "$T/plan7fc" && die "el7: dkim_milter_private_key_t expected although the policy has no such path"
grep -q "label $key system_u:object_r:etc_t:s0" "$T/plan7fc" || die "el7: key label etc_t"
MAILSTAGE_SELINUX_FCONTEXTS=$fc7 ms --root "$R7" --only selinux apply >/dev/null
label7() { getfattr --only-values -n security.selinux "$R7$1" 2>/dev/null | tr -d '\0'; }
for f in $key /etc/opendkim/keys /etc/postfix/main.cf /etc/pki/tls/private/mail.example.com.key; do
	want=$(matchpathcon -f "$fc7" "$f" | awk '{print $2}')
	[ "$(label7 "$f")" = "$want" ] || die "el7 $f: label $(label7 "$f"), matchpathcon says $want"
done
[ "$(label7 $key)" = system_u:object_r:etc_t:s0 ] || die "el7 key: $(label7 $key)"
ok "el7 file_contexts: key and key directory etc_t, TLS key cert_t, main.cf postfix_etc_t (as selabel/matchpathcon say)"
