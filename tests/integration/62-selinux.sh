#!/bin/bash
# Stage selinux against a copy of a real policy store (Debian's
# selinux-policy-default, refpolicy) placed in a --root target: the boolean is
# set persistently through libsemanage, read back with an independent reader
# (`semanage boolean -l -C`, run in a private mount namespace with the copies
# bind-mounted over /etc/selinux and /var/lib/selinux), the labels of the
# written files are the policy's (cross-checked with matchpathcon), and a
# rollback restores the old boolean value and labels.
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
grep -q "label $key system_u:object_r:dkim_milter_private_key_t:s0" "$T/plan" || die "plan: key label"

ms --root "$R" --only selinux apply
se_local >"$T/local1"
cat "$T/local1"
grep -Eq '^httpd_can_sendmail +\(on +, +on\)' "$T/local1" || die "semanage does not read httpd_can_sendmail on"
ok "boolean set persistently: semanage boolean -l -C reads httpd_can_sendmail (on, on)"

[ "$(label $key)" = system_u:object_r:dkim_milter_private_key_t:s0 ] || die "key label: $(label $key)"
[ "$(label /etc/postfix/main.cf)" = system_u:object_r:postfix_etc_t:s0 ] || die "main.cf label: $(label /etc/postfix/main.cf)"
for f in $key /etc/postfix/main.cf /etc/opendkim/keys /etc/ssl/private/mail.example.com.key; do
	want=$(matchpathcon -f "$fc" "$f" | awk '{print $2}')
	[ "$(label "$f")" = "$want" ] || die "$f: label $(label "$f"), matchpathcon says $want"
done
ok "labels: key dkim_milter_private_key_t, main.cf postfix_etc_t, all as matchpathcon computes"

expect_rc 0 ms --root "$R" --only selinux plan
ok "second plan: converged"

ms --root "$R" rollback
se_local >"$T/local2"
grep -q httpd_can_sendmail "$T/local2" && die "rollback left the httpd_can_sendmail customisation"
[ -z "$(label $key)" ] || die "rollback: key still labelled $(label $key)"
snapshot "$R/etc" | grep -v '^/selinux/' >"$T/etc-after" || true
diff -u "$T/etc-before" "$T/etc-after" || die "rollback: files or labels differ"
ok "rollback: no customisation left (boolean back to the policy's off), labels as before"

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
