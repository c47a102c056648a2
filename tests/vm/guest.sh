#!/bin/bash
# tests/vm/guest.sh - the check-vm test, run INSIDE the SELinux virtual
# machine (tests/vm/run puts it on the data disk, /mnt/ms; the image's
# ms-guest-boot runs it at each boot: `guest.sh N`, N the boot's number).
# Results are lines "ok: ..." / "FAIL: ..." on stdout (boot-N.log on the data
# disk, read back by tests/vm/run), everything else is evidence for the log.
#
# The kernel boots permissive (enforcing=0: the image's base packages have
# denials at boot that are not ours); before anything of mailstage's, this
# script moves to the domain of a root login (unconfined_u:unconfined_r:
# unconfined_t, as an administrator running mailstage from a shell) and
# switches the kernel to enforcing with `setenforce 1`.
#
# Boot 1: `mailstage apply` (all stages, fresh host: the packages stage
#   installs postfix, opendkim, sasl2-bin, ... from the image's local repository
#   /srv/repo), then from the kernel's own word: booleans (getsebool, semanage
#   boolean -l -C), labels (restorecon -R -n -v prints nothing over the trees
#   mailstage wrote; ls -Z), domains (ps -eZ), mail submitted on 587 with
#   STARTTLS + AUTH and through sendmail leaves DKIM-signed and verifies against
#   the record `mailstage dns` prints, no AVC denial from postfix, opendkim,
#   saslauthd or mailstage.  Then reboot.
# Boot 2: the booleans are still on, the daemons confined again; a label made
#   wrong (chcon -t tmp_t on the DKIM key) is drift for plan and apply repairs
#   it; with a boolean turned off by hand in the same run, `mailstage rollback`
#   restores both (boolean persistently and at runtime, the key's previous
#   label); permissive mode is a warning in preflight and verify; no AVC.
#
# Debian's reference policy vs EL's targeted policy (named where they meet):
#   - the DKIM key: Debian dkim_milter_private_key_t; EL etc_t (no key path in
#     its milter module); the milter's domain: dkim_milter_t on both;
#   - a root shell is unconfined_t on both; Debian's policy is MCS like EL's.
#   - unconfined_r may not enter system_mail_t in Debian's (postfix's postinst
#     then fails: newaliases, exit 126): mailstage runs itself again as a
#     system service (system_r, initrc_t here; installer/sysrole.c);
#   - firewalld_t may send D-Bus replies to sysadm_t and a few daemons only in
#     Debian's, neither to unconfined_t nor to initrc_t: preflight refuses the
#     firewall services (exit 78, nothing changed), and the rest of the test
#     runs with firewall_services empty (63-firewall covers firewalld);
#   - milter_port_t: EL's policy labels 8891/tcp so; Debian's declares the
#     type with no port (8891 is unreserved_port_t, which dkim_milter_t may not
#     bind): the selinux stage adds the port record, as semanage port -a does.
set -u
boot=$1
D=/mnt/ms
O=$D/out
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
MS=/usr/sbin/mailstage
UNCONFINED=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023

# ---- the domain of a root login, then enforcing ----
if [ "$(id -Z | cut -d: -f3)" != unconfined_t ]; then
	echo "started in $(id -Z); moving to $UNCONFINED"
	exec runcon "$UNCONFINED" bash "$0" "$@"
fi

# Our output through a pipe that this shell (unconfined_t) makes, and cat
# copies to the log: the programs the test runs itself (semanage_t, setsebool,
# ...) may use a root shell's descriptors, but not the log that ms-guest-boot
# opened in initrc_t (the second real run: semanage_t was denied `use` of it).
# (cat starts with the old stdout, the log, before the shell's moves.)
exec > >(exec cat) 2>&1
OUTPIPE=$!

# What the machine is doing, every 20 s, for a run that seems stuck
# (tests/vm/run prints it when a boot did not finish).
( while sleep 20; do { date; ps -eo pid,etime,time,label,args --sort=start_time | tail -n 25; } >$O/ps-$boot.txt; sync; done ) &
HEARTBEAT=$!
trap 'kill $HEARTBEAT 2>/dev/null; exec >&- 2>&-; wait $OUTPIPE' EXIT

nok=0 nfail=0
pass() { echo "ok: $*"; nok=$((nok + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
now() { date +%s.%N | cut -c1-14; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
section() { echo; echo "==== $*"; }
KEY=/etc/opendkim/keys/example.com/default.private
BOOL=httpd_can_sendmail
RX=192.0.2.25

# AVC denials logged after line $1 of the audit log (all of them)
avc_since() {
	if [ -s /var/log/audit/audit.log ]; then
		tail -n +"$(($1 + 1))" /var/log/audit/audit.log | grep -E 'type=(AVC|USER_AVC|SELINUX_ERR)' || true
	else
		dmesg | grep 'avc: *denied' || true
	fi
}
avc_mark() { [ -f /var/log/audit/audit.log ] && wc -l </var/log/audit/audit.log || echo 0; }
# ours: a denial of a postfix, opendkim, saslauthd or mailstage process
# (by its domain or its command name)
# A SELINUX_ERR (a transition the policy refuses: an invalid context) into
# one of their domains, or of their programs, counts too: postfix's postinst
# running newaliases from a root login's role (unconfined_r may not enter
# system_mail_t in Debian's policy) fails with EACCES and logs only that.
OURS='scontext=[^ ]*:(postfix_[a-z_]*|dkim_milter_t|saslauthd_t):|invalid_context="[^"]*:(system_mail_t|postfix_[a-z_]*|dkim_milter_t|saslauthd_t):|tcontext=[^ ]*:(sendmail_exec_t|postfix_[a-z_]*_exec_t|dkim_milter_exec_t|saslauthd_exec_t):[^ ]* tclass=process|comm="(mailstage|master|smtpd|smtp|qmgr|pickup|cleanup|local|trivial-rewrite|bounce|tlsmgr|anvil|postdrop|sendmail|postfix|postqueue|postsuper|postmap|postalias|postconf|postlog|proxymap|opendkim|opendkim-genkey|saslauthd|saslpasswd2)"'
# Debian's packaging, named and not counted: postfix's debconf script touches
# the flag file /var/spool/postfix/restart while apt runs, outside the policy's
# rules (var_spool_t), and the postinst's start of postfix runs
# postfix-script, whose `ls -d $queue_directory/*` is then refused getattr in
# postfix_master_t; once, inside the packages stage, before the selinux stage
# gives the spool its labels (labels_check covers /var/spool/postfix after).
# EL's rpm scriptlets start no daemon, so there is no such moment there.
PACKAGING='comm="ls" path="/var/spool/postfix/restart" .*scontext=system_u:system_r:postfix_master_t:s0 tcontext=system_u:object_r:var_spool_t:s0 tclass=file'
avc_check() {	# avc_check MARK WHAT: print every denial since MARK; ours fail
	local all ours pk
	all=$(avc_since "$1")
	pk=$(grep -E "$PACKAGING" <<<"$all" || true)
	[ -z "$pk" ] || echo "Debian packaging (postfix's debconf flag file, before the selinux stage; not counted): $(grep -c . <<<"$pk")"
	ours=$(grep -E "$OURS" <<<"$all" | grep -vE "$PACKAGING" || true)
	if [ -n "$all" ]; then
		echo "AVC denials and SELinux errors since $2 (all; only postfix/opendkim/saslauthd/mailstage ones fail):"
		echo "$all"
	fi
	if [ -z "$ours" ]; then
		pass "no AVC denial for postfix, opendkim, saslauthd or mailstage during $2 ($(grep -c . <<<"$all" || true) unrelated)"
	else
		fail "AVC denials for postfix/opendkim/saslauthd/mailstage during $2: $(grep -c . <<<"$ours")"
	fi
}

dkim_verify() {	# dkim_verify FILE: the DKIM signature against the record mailstage dns prints
	$MS dns --format json >/root/dns.json
	python3 - "$1" /root/dns.json <<'EOF'
import json, sys, dkim
msg = open(sys.argv[1], 'rb').read()
recs = json.load(open(sys.argv[2]))['records']
txt = {r['name'].lower(): ''.join(r.get('strings') or [r['value']]) for r in recs if r['type'] == 'TXT'}
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    v = txt.get(n.lower()) or txt.get(n.lower() + '.')
    return v.encode() if v else None
sig = [l for l in msg.split(b'\n') if l.lower().startswith(b'dkim-signature:')]
if not sig:
    print('no DKIM-Signature header'); sys.exit(1)
print(sig[0].decode(errors='replace')[:120])
ok = dkim.verify(msg, dnsfunc=dnsfunc)
print('dkim.verify:', ok)
sys.exit(0 if ok else 1)
EOF
}

# wait_rx N: until the receiver holds N messages (300 s: TCG on a busy host is slow)
wait_rx() {
	local i
	for i in $(seq 1 600); do
		[ "$(ls /root/rx/*.eml 2>/dev/null | wc -l)" -ge "$1" ] && return 0
		sleep 0.5
	done
	return 1
}

# A receiver outside this host's Postfix: network namespace ms-g-rx, a veth
# from 192.0.2.10 (this host, mailstage's ipv4) to 192.0.2.25 (the receiver,
# tests/lib/mn-smtp.py sink on port 25); mail to rcpt@[192.0.2.25] goes there.
rx_start() {
	ip netns add ms-g-rx
	ip link add ms-g-tx type veth peer name ms-g-rxif netns ms-g-rx
	ip addr add 192.0.2.10/24 dev ms-g-tx
	ip link set ms-g-tx up
	ip -n ms-g-rx addr add $RX/24 dev ms-g-rxif
	ip -n ms-g-rx link set ms-g-rxif up
	ip -n ms-g-rx link set lo up
	mkdir -p /root/rx
	ip netns exec ms-g-rx python3 $D/mn-smtp.py sink $RX 25 /root/rx >/root/rx.log 2>&1 &
	RX_PID=$!
	for i in $(seq 1 120); do
		ip netns exec ms-g-rx ss -Hltn "sport = :25" | grep -q . && return 0
		sleep 0.5
	done
	fail "the test receiver did not start: $(cat /root/rx.log)"
}

labels_check() {	# restorecon -R -n -v over every tree mailstage wrote: prints nothing
	local trees=() t out
	for t in /etc/postfix /etc/opendkim /etc/opendkim.conf /etc/default/opendkim /etc/default/saslauthd \
		/etc/aliases /etc/aliases.db /etc/mailname /etc/ssl/certs/mail.example.com.crt /etc/ssl/private \
		/etc/mailstage /var/lib/mailstage /run/saslauthd /usr/sbin/mailstage; do
		[ -e "$t" ] && trees+=("$t")
	done
	# Postfix's queue directory and its entries, one level, as the selinux stage
	# relabels them; not deeper: Debian's postfix start copies /etc/resolv.conf,
	# /etc/ssl/certs, ... into the chroot's etc/ each time, and they come out
	# etc_runtime_t where the file contexts say etc_t (Debian's chroot and
	# refpolicy; Postfix reads them unrefused, and mailstage writes none).
	out=$(restorecon -R -n -v "${trees[@]}" 2>&1; restorecon -n -v /var/spool/postfix /var/spool/postfix/* 2>&1)
	echo "restorecon -R -n -v ${trees[*]}; restorecon -n -v /var/spool/postfix /var/spool/postfix/*:"
	echo "${out:-(nothing)}"
	if [ -z "$out" ]; then pass "$1: restorecon -R -n -v over ${#trees[@]} trees mailstage wrote (and Postfix's spool, one level) prints nothing"
	else fail "$1: restorecon would relabel: $(grep -c . <<<"$out") paths"; fi
}

domains_check() {	# postfix, opendkim, saslauthd in their confined domains
	local ps w d n
	ps=$(ps -e -o label,pid,comm)
	echo "ps -eZ (mail daemons):"
	ps -eZ | grep -E ' (master|qmgr|pickup|tlsmgr|opendkim|saslauthd)$' 
	for w in master:postfix_master_t qmgr:postfix_qmgr_t pickup:postfix_pickup_t opendkim:dkim_milter_t saslauthd:saslauthd_t; do
		n=${w%%:*} d=${w#*:}
		if grep -E " $n\$" <<<"$ps" | grep -q ":$d:"; then
			[ -z "$(grep -E " $n\$" <<<"$ps" | grep -v ":$d:")" ] && continue
		fi
		fail "$1: $n is not (only) in $d: $(grep -E " $n\$" <<<"$ps" | awk '{print $1}' | sort -u | paste -sd' ')"
		return
	done
	pass "$1: master postfix_master_t, qmgr postfix_qmgr_t, pickup postfix_pickup_t, opendkim dkim_milter_t, saslauthd saslauthd_t (ps -eZ)"
}

bool_check() {	# bool_check WHAT on|off: runtime and persistent
	local g l
	g=$(getsebool $BOOL)
	l=$(semanage boolean -l -C | grep "^$BOOL " || true)
	echo "getsebool: $g"
	echo "semanage boolean -l -C: ${l:-(no local customisation)}"
	[ "$g" = "$BOOL --> $2" ] && pass "$1: getsebool: $g" || fail "$1: getsebool says '$g', expected $2"
	grep -Eq "^$BOOL +\($2 +, +$2\)" <<<"$l" && pass "$1: semanage boolean -l -C: $(tr -s ' ' <<<"$l")" ||
		fail "$1: semanage boolean -l -C: '${l:-none}', expected ($2, $2)"
}

port_check() {	# the milter port as the policy sees it: milter_port_t, a local customisation
	local l
	l=$(semanage port -l -C | grep -E '^milter_port_t +tcp' || true)
	echo "semanage port -l -C: ${l:-(no local milter port)}"
	grep -Eq '^milter_port_t +tcp +8891$' <<<"$l" &&
		pass "$1: semanage port -l -C: milter_port_t tcp 8891 (Debian's policy gives the type no port)" ||
		fail "$1: semanage port -l -C does not list milter_port_t tcp 8891: '${l:-none}'"
}

echo "boot $boot: kernel $(uname -r); $(cat /proc/cmdline)"
echo "TIMING boot $boot: kernel start to the test $(cut -d' ' -f1 /proc/uptime) s"
echo "slowest units: $(systemd-analyze blame --no-pager 2>/dev/null | head -n 6 | tr -s ' ' | paste -sd',')"
echo "domain: $(id -Z); getenforce at boot: $(getenforce); policy $(sestatus | sed -n 's/^Loaded policy name: *//p')"
boot_avcs=$(avc_since 0 | grep -c . || true)
echo "AVC denials logged while booting (permissive, base packages; not ours to judge): $boot_avcs"
avc_since 0 | grep -E "$OURS" && echo "(of which the above name our programs)"
setenforce 1
if [ "$(getenforce)" = Enforcing ]; then pass "boot $boot: setenforce 1: the kernel is Enforcing, in $(id -Z | cut -d: -f1-3)"
else fail "boot $boot: getenforce says $(getenforce) after setenforce 1"; fi

case $boot in
1)
	section "boot 1: install mailstage"
	install -m 0755 $D/mailstage $MS
	restorecon $MS
	mkdir -p /etc/mailstage
	install -m 0640 $D/mailstage.conf /etc/mailstage/mailstage.conf
	restorecon -R /etc/mailstage
	rx_start
	section "boot 1: the firewall services, which firewalld may not answer here"
	rc=0
	$MS apply >$O/apply0.log 2>&1 || rc=$?
	cat $O/apply0.log
	if [ $rc = 78 ] && grep -q 'firewalld (.*firewalld_t.*) may not answer this process' $O/apply0.log &&
		! dpkg -s postfix >/dev/null 2>&1; then
		pass "preflight refuses firewall_services where the policy refuses firewalld's replies (exit 78, nothing installed)"
	else
		fail "apply with firewall_services exited $rc (expected 78 from preflight, nothing changed)"
	fi
	# The firewall stage asks the kernel too, for a run that skips preflight.
	t0=$(now)
	rc=0
	$MS --only firewall apply >$O/apply0f.log 2>&1 || rc=$?
	cat $O/apply0f.log
	if [ $rc = 78 ] && grep -q 'may not answer this process' $O/apply0f.log; then
		pass "the firewall stage alone (--only firewall) refuses too: exit 78 in $(since "$t0") s, no 60 s NoReply"
	else
		fail "apply --only firewall exited $rc after $(since "$t0") s (expected 78 at once)"
	fi
	sed -i 's/^firewall_services *=.*//' /etc/mailstage/mailstage.conf
	echo 'firewall_services =' >>/etc/mailstage/mailstage.conf

	section "boot 1: mailstage apply of all stages, enforcing (firewall_services empty)"
	mark=$(avc_mark)
	t0=$(now)
	rc=0
	$MS apply >$O/apply1.log 2>&1 || rc=$?
	cat $O/apply1.log
	echo "TIMING apply $(since "$t0") s"
	[ $rc = 0 ] && pass "mailstage apply of all stages in enforcing mode exited 0 ($(since "$t0") s): $(grep -o 'apply: .*' $O/apply1.log | tail -1)" ||
		fail "mailstage apply exited $rc in enforcing mode"
	avc_check "$mark" "the apply"
	# A root login's role (unconfined_r) may not enter system_mail_t in Debian's
	# policy, so mailstage ran itself again as a transient service (sysrole.c);
	# PID 1's journal names it.
	units=$(journalctl -q --no-pager _PID=1 | grep -c 'mailstage (as a system service' || true)
	[ "$units" -ge 1 ] && pass "apply ran again as a system service in system_r (systemd-run; PID 1 started $units such unit(s))" ||
		fail "apply did not run as a system service: PID 1's journal has no 'mailstage (as a system service' unit"

	section "boot 1: booleans, labels, domains"
	bool_check "after apply" on
	port_check "after apply"
	labels_check "after apply"
	echo "ls -Z:"
	ls -Z $KEY /etc/opendkim/keys/example.com /etc/postfix/main.cf /etc/postfix/master.cf /etc/opendkim.conf \
		/etc/opendkim/* /etc/ssl/certs/mail.example.com.crt /etc/ssl/private/mail.example.com.key \
		/etc/postfix/sasl/smtpd.conf /etc/default/saslauthd 2>&1
	domains_check "after apply"

	section "boot 1: mail flow, enforcing"
	mark=$(avc_mark)
	t0=$(now)
	useradd -m alice && echo 'alice:Secret-123' | chpasswd
	sent=0
	python3 $D/mn-smtp.py send --port 587 --starttls --auth alice:Secret-123 --subject submission 127.0.0.1 \
		alice@example.com "rcpt@[$RX]" && sent=1 && pass "submission on 587: STARTTLS + AUTH as alice accepted" ||
		fail "submission on 587 (STARTTLS + AUTH) failed"
	if [ $sent = 0 ]; then
		fail "no 587 message to judge"
	elif wait_rx 1; then
		m=$(ls /root/rx/*.eml | head -1)
		cp "$m" $O/submission.eml
		dkim_verify "$m" && pass "the 587 message reached the receiver DKIM-signed; the signature verifies against the record of mailstage dns" ||
			fail "the 587 message's DKIM signature does not verify: $(head -c 2000 "$m")"
	else
		fail "the 587 message never reached the receiver (queue: $(postqueue -p | tail -3))"
	fi
	printf 'From: bob@example.com\nTo: rcpt@[%s]\nSubject: sendmail\n\nthrough sendmail\n' $RX |
		sendmail -f bob@example.com "rcpt@[$RX]" >&- 2>&- && pass "sendmail accepted a message" ||
		fail "sendmail failed; the mail log: $(journalctl -q -n 5 -u postfix@- --no-pager 2>&1 | tail -5)"
	# (its stdout and stderr closed: sendmail runs in user_mail_t, which may
	# use neither the log on the data disk, opened by ms-guest-boot in
	# initrc_t, nor a file under /root (admin_home_t: denied in the first
	# real run); and postdrop may not use this shell's /dev/null descriptor
	# (the second run).  Postfix opens /dev/null on closed stdio itself, in
	# its own domain.)
	if ! systemctl -q is-active postfix; then
		fail "postfix is not running: the sendmail message cannot leave"
	elif wait_rx $((sent + 1)); then
		m=$(ls -t /root/rx/*.eml | head -1)
		cp "$m" $O/sendmail.eml
		dkim_verify "$m" && pass "the sendmail message reached the receiver DKIM-signed; the signature verifies" ||
			fail "the sendmail message's DKIM signature does not verify"
	else
		fail "the sendmail message never reached the receiver (queue: $(postqueue -p | tail -3))"
	fi
	echo "TIMING mail flow $(since "$t0") s"
	journalctl -q --no-pager -t postfix/cleanup -t postfix/smtp -t opendkim -t postfix/submission/smtpd 2>/dev/null | tail -n 12
	avc_check "$mark" "the mail flow"
	kill $RX_PID 2>/dev/null
	echo reboot >$O/next
	;;
2)
	section "boot 2: after the reboot"
	bool_check "after the reboot" on
	port_check "after the reboot"
	domains_check "after the reboot"
	mark=$(avc_mark)
	expect_plan() { local rc=0; $MS plan >$O/$1 2>&1 || rc=$?; cat $O/$1; return $rc; }
	rc=0; expect_plan plan-converged || rc=$?
	[ $rc = 0 ] && pass "after the reboot, plan: converged (exit 0)" || fail "after the reboot, plan exited $rc"

	section "boot 2: a wrong label is drift; rollback restores boolean and labels"
	want=$(matchpathcon -n $KEY)
	chcon -t tmp_t $KEY
	setsebool -P $BOOL off
	ls -Z $KEY
	bool_check "turned off by hand (setsebool -P)" off
	rc=0; expect_plan plan-drift || rc=$?
	if [ $rc = 2 ] && grep -q "label $KEY $want (now system_u:object_r:tmp_t:s0)" $O/plan-drift &&
		grep -q "set SELinux boolean $BOOL on (persistent and runtime; now off)" $O/plan-drift; then
		pass "plan reports the drift: label $KEY $want (now tmp_t), boolean $BOOL on (now off)"
	else
		fail "plan (exit $rc) does not report the tmp_t label and the boolean as drift"
	fi
	rc=0; $MS apply >$O/apply2.log 2>&1 || rc=$?
	cat $O/apply2.log
	[ $rc = 0 ] && [ "$(matchpathcon -V $KEY | grep -c verified)" = 1 ] && [ "$(stat -c %C $KEY)" = "$want" ] &&
		pass "apply repaired the label as restorecon would: $(ls -Z $KEY | awk '{print $1}') (matchpathcon -V: verified)" ||
		fail "apply (exit $rc) left $KEY as $(stat -c %C $KEY), matchpathcon says $want"
	bool_check "after the repair" on
	labels_check "after the repair"
	rc=0; $MS rollback >$O/rollback.log 2>&1 || rc=$?
	cat $O/rollback.log
	[ $rc = 0 ] && pass "mailstage rollback of the repair run exited 0" || fail "mailstage rollback exited $rc"
	bool_check "after rollback (previous value)" off
	[ "$(stat -c %C $KEY)" = system_u:object_r:tmp_t:s0 ] && pass "after rollback: $KEY has its previous label tmp_t again" ||
		fail "after rollback: $KEY is $(stat -c %C $KEY), previous label was tmp_t"
	rc=0; $MS apply >$O/apply3.log 2>&1 || rc=$?
	[ $rc = 0 ] && [ "$(stat -c %C $KEY)" = "$want" ] && pass "apply again: converged back (key $want, $BOOL on)" ||
		fail "apply after rollback exited $rc"
	avc_check "$mark" "plan, repair, rollback"

	section "boot 2: permissive is a warning, disabled is skipped"
	setenforce 0
	rc=0; $MS --only preflight plan >$O/preflight-permissive.log 2>&1 || rc=$?
	cat $O/preflight-permissive.log
	grep -qi 'warning.*permissive' $O/preflight-permissive.log && pass "permissive: preflight warns" ||
		fail "permissive: preflight gives no warning"
	rc=0; $MS verify >$O/verify-permissive.log 2>&1 || rc=$?
	grep -i selinux $O/verify-permissive.log
	grep -Eqi '^ *WARN.*selinux.*permissive' $O/verify-permissive.log && pass "permissive: verify reports a warning" ||
		fail "permissive: verify has no SELinux permissive warning"
	setenforce 1
	;;
esac
echo
echo "boot $boot done: $nok ok, $nfail failed"
