#!/bin/bash
# 59-ansible.sh - the Ansible collection (payload/ansible) with Debian's
# ansible-core against TWO booted systemd-nspawn hosts at once, reached over
# SSH (a real sshd in each: tests/hosts/build-fleet).  Both containers' veths
# end in one network namespace of this test's own, where ansible-playbook
# runs; nothing touches the host's network.  ansible and ssh read only this
# test's files (ANSIBLE_CONFIG, ssh -F: the system-wide ssh_config is then
# ignored).  The collection is built with `ansible-galaxy collection build`
# and installed into $T.
#
# Proves, with the role installing the test build's binary on both hosts:
#  - ansible-doc shows the module's documentation;
#  - check mode (--check --diff) reports the changes, shows the main.cf diff,
#    and changes nothing (a manifest of /etc, /var/lib/mailstage and dpkg
#    before and after);
#  - apply converges both (`mailstage plan` exits 0 on each afterwards), the
#    DNS records come back as the fact mailstage_dns;
#  - a second run reports changed=0 on both;
#  - drift on one host is repaired on that host only;
#  - a failure on one host (postfix unable to start) fails that host's task
#    with mailstage's message, rolled back (its /etc byte-identical), while
#    the other host converges.
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_BIN" ] || die "no $MAILSTAGE_BIN: run make"
for p in ansible-playbook ansible-galaxy ansible-doc ssh ssh-keygen; do
	command -v $p >/dev/null || die "$p missing: tests/deps test installs ansible-core and openssh-client"
done
CT_IMAGE=$("$MAILSTAGE_SRC/tests/hosts/build-fleet") || die "cannot build the fleet image"

NS=msans$$
ip netns add "$NS"
ip -n "$NS" link set lo up
trap 'ct_stop_all; ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
CT_NS=$NS CT_VETH=1

boot() {	# boot NAME HOST_ADDR CT_ADDR
	CT_MACHINE=msans$$$1 CT_HOST_ADDR=$2 CT_ADDR=$3
	ct_start || die "container $1 did not start"
	ct_in mkdir -p -m 700 /root/.ssh
	ct_in sh -c 'cat >/root/.ssh/authorized_keys' <"$T/id.pub"
	ct_in systemctl is-active -q ssh || die "sshd is not running in $1"
	ct_save "$1"
}
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
boot a 10.231.58.1 10.231.58.2
boot b 10.231.58.5 10.231.58.6
ina() { ct_use a; ct_in "$@"; }
inb() { ct_use b; ct_in "$@"; }

cat >"$T/ssh_config" <<EOF
Host *
	User root
	IdentityFile $T/id
	IdentitiesOnly yes
	StrictHostKeyChecking no
	UserKnownHostsFile $T/known_hosts
	ConnectTimeout 10
EOF
cat >"$T/ansible.cfg" <<EOF
[defaults]
inventory = $T/hosts.yml
collections_path = $T/collections
roles_path = $T/roles
interpreter_python = /usr/bin/python3
forks = 2
host_key_checking = False
retry_files_enabled = False
local_tmp = $T/ansible-local
stdout_callback = default
[ssh_connection]
ssh_args = -F $T/ssh_config
pipelining = True
EOF
conf() {	# conf HOSTNAME DOMAIN HOSTADDR: mailstage_config as YAML (the keys of mailstage.conf)
	cat <<EOF
        mailstage_config:
          hostname: $1
          domain: $2
          ipv4: 192.0.2.10
          port25_probe: "$3:25"
          rbl: ""
EOF
}
{
	echo "all:"
	echo "  children:"
	echo "    fleet:"
	echo "      hosts:"
	echo "        mx-a:"
	echo "          ansible_host: 10.231.58.2"
	conf mail.example.com example.com 10.231.58.1 | sed 's/^/  /'
	echo "        mx-b:"
	echo "          ansible_host: 10.231.58.6"
	conf mail.example.net example.net 10.231.58.5 | sed 's/^/  /'
} >"$T/hosts.yml"
cat >"$T/site.yml" <<EOF
- hosts: fleet
  gather_facts: false
  roles:
    - role: mailstage.mailstage.mailstage
      vars:
        mailstage_install: binary
        mailstage_binary: $MAILSTAGE_BIN
EOF
export LC_ALL=C.UTF-8 ANSIBLE_CONFIG=$T/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 HOME=$T/home
mkdir -p "$T/home" "$T/ansible-local"
an() { ip netns exec "$NS" "$@"; }

# ---- the collection: built, installed, documented
ansible-galaxy collection build "$MAILSTAGE_SRC/payload/ansible" --output-path "$T" >"$T/build.log" 2>&1 ||
	{ cat "$T/build.log"; die "ansible-galaxy collection build failed"; }
tgz=$(ls "$T"/mailstage-mailstage-*.tar.gz)
ansible-galaxy collection install -p "$T/collections" "$tgz" >"$T/inst.log" 2>&1 ||
	{ cat "$T/inst.log"; die "ansible-galaxy collection install failed"; }
ansible-doc mailstage.mailstage.mailstage >"$T/doc" 2>&1 || { cat "$T/doc"; die "ansible-doc failed"; }
grep -q 'Check mode is' "$T/doc" || grep -q 'check mode' "$T/doc" || die "ansible-doc shows no documentation: $(head "$T/doc")"
grep -q 'state' "$T/doc" && grep -q 'converged' "$T/doc" || die "ansible-doc lacks the options"
ok "collection built ($(basename "$tgz")), installed; ansible-doc shows the module"

recap() {	# recap LOG HOST: "changed=N failed=N" of HOST's PLAY RECAP line
	sed -n -E "s/^$2 +: .*changed=([0-9]+) .*failed=([0-9]+) .*/changed=\\1 failed=\\2/p" "$1" | tail -1
}
play() {	# play LOG ARGS...: ansible-playbook in the test's namespace; exit status kept in $prc
	prc=0
	an ansible-playbook "$T/site.yml" "${@:2}" >"$1" 2>&1 || prc=$?
}
manifest() {	# manifest: what check mode must not touch, on the current host
	snapshot "/proc/$CT_LEADER/root/etc"
	[ -d "/proc/$CT_LEADER/root/var/lib/mailstage" ] && snapshot "/proc/$CT_LEADER/root/var/lib/mailstage"
	ct_in dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n'
}

# ---- install only (the binary), then check mode with --diff
play "$T/p0" --tags install
[ $prc -eq 0 ] || { cat "$T/p0"; die "installing the binary failed"; }
ct_use a; manifest >"$T/a0"; ct_use b; manifest >"$T/b0"
play "$T/p1" --check --diff
[ $prc -eq 0 ] || { cat "$T/p1"; die "check mode failed ($prc)"; }
for h in mx-a mx-b; do
	r=$(recap "$T/p1" $h)
	case $r in "changed=0 "*|"") cat "$T/p1"; die "check mode reports no change on $h ($r)" ;; esac
done
# A fresh host has no main.cf yet (postfix is not installed): the diffs are
# those of the files that exist (/etc/group) and the new mailstage.conf.
grep -q '^+sasl:x:45:postfix' "$T/p1" && grep -q '^+hostname = mail.example.net' "$T/p1" ||
	{ cat "$T/p1"; die "--diff shows no /etc/group or mailstage.conf diff"; }
ct_use a; manifest >"$T/a1"; ct_use b; manifest >"$T/b1"
diff "$T/a0" "$T/a1" >"$T/d" && diff "$T/b0" "$T/b1" >>"$T/d" || { cat "$T/d"; die "check mode changed the hosts (above)"; }
ok "check mode on fresh hosts: changes reported on both ($(recap "$T/p1" mx-a)), diffs shown, nothing changed on either host"

# ---- apply: both converge
play "$T/p2" --diff
[ $prc -eq 0 ] || { cat "$T/p2"; die "the play failed ($prc)"; }
for h in a b; do
	expect_rc 0 "in$h" /usr/sbin/mailstage plan >/dev/null 2>&1
done
[ "$(ina postconf -h myhostname)" = mail.example.com ] && [ "$(inb postconf -h myhostname)" = mail.example.net ] ||
	die "the hosts did not get their own configuration"
grep -q '"ansible_facts.mailstage_dns": {' "$T/p2" && grep -q 'v=DKIM1' "$T/p2" || { cat "$T/p2"; die "no DNS records shown"; }
ok "apply converged both (plan exits 0 on each; $(recap "$T/p2" mx-a), $(recap "$T/p2" mx-b)); DNS records shown"

# ---- second run: nothing to do
play "$T/p3"
[ $prc -eq 0 ] || { cat "$T/p3"; die "the second play failed"; }
[ "$(recap "$T/p3" mx-a)" = "changed=0 failed=0" ] && [ "$(recap "$T/p3" mx-b)" = "changed=0 failed=0" ] ||
	{ cat "$T/p3"; die "second run: $(recap "$T/p3" mx-a) / $(recap "$T/p3" mx-b), expected changed=0"; }
ok "second run: changed=0 on both"

# ---- drift on one host only: check mode shows main.cf's diff and changes
# nothing; the run repairs that host only
ina sed -i 's/^smtpd_tls_auth_only = yes$/smtpd_tls_auth_only = no/' /etc/postfix/main.cf
ct_use a; manifest >"$T/a2"
play "$T/p4c" --check --diff
[ $prc -eq 0 ] || { cat "$T/p4c"; die "check mode after drift failed"; }
grep -q '^--- /etc/postfix/main.cf' "$T/p4c" && grep -q '^-smtpd_tls_auth_only = no' "$T/p4c" &&
	grep -q '^+smtpd_tls_auth_only = yes' "$T/p4c" || { cat "$T/p4c"; die "--diff shows no main.cf diff"; }
[ "$(recap "$T/p4c" mx-a)" = "changed=1 failed=0" ] && [ "$(recap "$T/p4c" mx-b)" = "changed=0 failed=0" ] ||
	{ cat "$T/p4c"; die "check after drift: $(recap "$T/p4c" mx-a) / $(recap "$T/p4c" mx-b)"; }
ct_use a; manifest >"$T/a3"
diff "$T/a2" "$T/a3" >"$T/d" || { cat "$T/d"; die "check mode changed mx-a (above)"; }
ok "check mode --diff after drift: main.cf diff shown for mx-a only, nothing changed"
play "$T/p4" --diff
[ $prc -eq 0 ] || { cat "$T/p4"; die "the drift play failed"; }
[ "$(recap "$T/p4" mx-a)" = "changed=1 failed=0" ] && [ "$(recap "$T/p4" mx-b)" = "changed=0 failed=0" ] ||
	{ cat "$T/p4"; die "drift: $(recap "$T/p4" mx-a) / $(recap "$T/p4" mx-b), expected a changed=1, b changed=0"; }
[ "$(ina postconf -h smtpd_tls_auth_only)" = yes ] || die "drift not repaired on mx-a"
grep -q '^+smtpd_tls_auth_only = yes' "$T/p4" || die "the repair's diff is not shown"
ok "drift on mx-a repaired there only (mx-b changed=0)"

# ---- a failure on one host: rolled back there, the other converges
ina sed -i 's/^smtpd_tls_auth_only = yes$/smtpd_tls_auth_only = no/' /etc/postfix/main.cf
inb sed -i 's/^smtpd_tls_auth_only = yes$/smtpd_tls_auth_only = no/' /etc/postfix/main.cf
inb systemctl stop postfix
inb mkdir -p /etc/systemd/system/postfix.service.d
inb sh -c 'printf "[Service]\nExecStartPre=/bin/false\n" >/etc/systemd/system/postfix.service.d/fail.conf'
inb systemctl daemon-reload
ct_use b; snapshot "/proc/$CT_LEADER/root/etc" >"$T/b-etc0"
play "$T/p5"
[ $prc -ne 0 ] || { cat "$T/p5"; die "the play with a failing host succeeded"; }
[ "$(recap "$T/p5" mx-a)" = "changed=1 failed=0" ] || { cat "$T/p5"; die "mx-a: $(recap "$T/p5" mx-a), expected changed=1 failed=0"; }
case $(recap "$T/p5" mx-b) in *"failed=1") ;; *) cat "$T/p5"; die "mx-b did not fail: $(recap "$T/p5" mx-b)" ;; esac
grep -q 'mailstage apply exited 3 (apply failed; the system was restored (rolled back)) in stage services' "$T/p5" ||
	{ cat "$T/p5"; die "the failure does not carry mailstage's message and exit code"; }
grep -q '"rolled_back": true' "$T/p5" || { cat "$T/p5"; die "rolled_back not reported"; }
ct_use b; snapshot "/proc/$CT_LEADER/root/etc" >"$T/b-etc1"
diff "$T/b-etc0" "$T/b-etc1" >"$T/d" || { cat "$T/d"; die "mx-b's /etc differs after the rollback (above)"; }
[ "$(ina postconf -h smtpd_tls_auth_only)" = yes ] || die "mx-a did not converge"
ok "failure on mx-b: task failed with mailstage's message (exit 3, rolled back), its /etc byte-identical; mx-a converged"
