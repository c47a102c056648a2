#!/bin/bash
# Stage firewall against a real firewalld (Debian's 1.3) on a private D-Bus in a
# network namespace (tests/lib/fw-netns): the host's firewall is never touched.
# mailstage runs with --root / inside that namespace (its state directory is a
# private bind mount), only the firewall stage and preflight.
# Not covered here: firewalld 0.6 of EL7 (not installable on Debian); its
# command line and exit codes (0, 101, 252) are the same ones used here.
. "$(dirname "$0")/lib.sh"
if [ -z "${FWNS_DIR:-}" ]; then
	command -v firewalld >/dev/null || die "firewalld is not installed (apt-get install firewalld)"
	# not exec: this shell's EXIT trap (lib.sh) removes $T and fw-netns's work directory in it
	rc=0
	"$MAILSTAGE_SRC/tests/lib/fw-netns" run "$T/fw" "$0" || rc=$?
	exit $rc
fi
fwns() { "$MAILSTAGE_SRC/tests/lib/fw-netns" "$@"; }
words() { tr ' ' '\n' | grep . | sort | tr '\n' ' '; }
rt() { firewall-cmd --list-services | words; }
pm() { firewall-cmd --permanent --list-services | words; }
pm_off() { firewall-offline-cmd --list-services | words; }

conf=$T/ms.conf
cp "$MAILSTAGE_SRC/payload/mailstage.conf" "$conf"
echo "port25_probe = 127.0.0.1:9" >>"$conf"	# never a real host (preflight runs below)
m() { ms --root / -c "$conf" "$@"; }

# Before: the zone's own services, plus smtps opened by hand at runtime only,
# and a permanent rich rule naming smtp (the stage reads the zone file: a
# <service> inside a <rule> is not the zone's service).
firewall-cmd --add-service=smtps >/dev/null
firewall-cmd -q --permanent --add-rich-rule='rule family="ipv4" source address="192.0.2.1" service name="smtp" accept'
grep -q '<service name="smtp"/>' /etc/firewalld/zones/public.xml || die "the rich rule is not in the zone file"
rt0=$(rt) pm0=$(pm)
echo "before: runtime [$rt0] permanent [$pm0]"
case " $rt0 " in *" smtp "*|*" smtp-submission "*) die "namespace firewalld already has smtp open" ;; esac

# plan lists the three services, changes nothing.
rc=0; m --only firewall plan >"$T/plan" 2>&1 || rc=$?
cat "$T/plan"
[ $rc -eq 2 ] || die "plan exited $rc, expected 2"
grep -q "open firewalld service smtp in zone public (runtime and permanent)" "$T/plan" || die "plan: smtp"
grep -q "open firewalld service smtps in zone public (permanent)" "$T/plan" || die "plan: smtps permanent only"
grep -q "packet filter" "$T/plan" || die "plan: no Sakura packet filter reminder"
[ "$(rt)" = "$rt0" ] && [ "$(pm)" = "$pm0" ] || die "plan changed firewalld"
ok "plan lists what is missing, runtime and permanent separately"

# apply opens them, runtime and permanent; nftables really has the ports.
m --only firewall apply
for s in smtp smtps smtp-submission; do
	firewall-cmd --query-service=$s >/dev/null || die "apply: $s not open at runtime"
	firewall-cmd --permanent --query-service=$s >/dev/null || die "apply: $s not permanent"
done
nft list ruleset | grep -q 'tcp dport 587 ' || die "no nftables rule for 587"
ok "apply: smtp smtps smtp-submission open at runtime and permanently (nft has tcp dport 587)"

# A second apply changes nothing.
m --only firewall apply >"$T/out2" 2>&1
grep -q "firewall ... ok" "$T/out2" || { cat "$T/out2"; die "second apply changed something"; }
expect_rc 0 m --only firewall plan
ok "second apply: no change"

# rollback removes only what the run added: smtps stays open at runtime.
m rollback
[ "$(rt)" = "$rt0" ] || die "rollback: runtime [$(rt)], expected [$rt0]"
[ "$(pm)" = "$pm0" ] || die "rollback: permanent [$(pm)], expected [$pm0]"
ok "rollback: runtime and permanent services as before (smtps opened by hand kept)"

# An unknown service name is refused by preflight before anything changes.
cp "$conf" "$T/bad.conf"
echo "firewall_services = smtp submission" >>"$T/bad.conf"
rc=0; ms --root / -c "$T/bad.conf" --only preflight,firewall apply >"$T/bad" 2>&1 || rc=$?
cat "$T/bad"
[ $rc -eq 78 ] || die "unknown service: exit $rc, expected 78"
grep -q 'no service "submission"; did you mean "smtp-submission"' "$T/bad" || die "unknown service: message"
[ "$(rt)" = "$rt0" ] && [ "$(pm)" = "$pm0" ] || die "unknown service: firewalld changed"
ok "unknown service \"submission\": exit 78, nothing changed"

# firewalld installed but stopped: the permanent configuration via firewall-offline-cmd.
fwns stop
pmoff0=$(pm_off)
rc=0; m --only firewall plan >"$T/plan-off" 2>&1 || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan-off"; die "offline plan exited $rc"; }
grep -q "firewall-offline-cmd" "$T/plan-off" || die "offline plan does not use firewall-offline-cmd"
m --only firewall apply
for s in smtp smtps smtp-submission; do
	case " $(pm_off) " in *" $s "*) ;; *) die "offline apply: $s not in the permanent zone" ;; esac
done
expect_rc 0 m --only firewall plan
ok "firewalld stopped: apply wrote the permanent zone with firewall-offline-cmd, converged"
fwns start
for s in smtp smtps smtp-submission; do
	firewall-cmd --query-service=$s >/dev/null || die "after start: $s not loaded from the permanent zone"
done
ok "started firewalld loads the services written offline"
fwns stop
m rollback
[ "$(pm_off)" = "$pmoff0" ] || die "offline rollback: [$(pm_off)], expected [$pmoff0]"
fwns start
[ "$(pm)" = "$pm0" ] || die "after offline rollback and start: permanent [$(pm)]"
ok "offline rollback: permanent zone as before"
