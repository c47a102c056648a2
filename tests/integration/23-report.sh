#!/bin/bash
# 23-report.sh - `mailstage report`: DMARC aggregate reports of every form,
# read from the mailbox the DMARC alias delivers to and from files.
#
# Golden outputs (tests/cases/report/NAME.expected: stdout, "--- stderr",
# stderr, "--- exit N"; UPDATE=1 rewrites them, review the diff):
#   mbox      a Debian root (aliases dmarc: root, the profile's /var/mail):
#             /var/mail/root holds every mail form of tests/data/dmarc among
#             other mail (a cron message, a body line quoted ">From ")
#   maildir   an EL9 root whose main.cf says home_mailbox = Maildir/, the
#             alias chain dmarc -> root -> admin: /home/admin/Maildir/new
#             and cur hold the mail forms and a cron message
#   files     the bare XML, .gz and .zip forms given as FILEs (the mailbox
#             is then not read)
#   hostile   every hostile fixture and a 2 GB sparse attachment as FILEs
#             next to two good reports: one message per bad report, the good
#             ones still counted, exit 1
#   since     --since 1: the fixtures (2026-11) are older: none counted
# Then the --json figures are checked with python3 (messages is the sum of
# the counts, dmarc_pass the sum of the counts with dkim or spf pass, the
# keys exactly the issue's), the 2 GB file is refused without being read
# (peak RSS), the XXE fixture's /etc/passwd is never opened (strace),
# `report` runs without any network (unshare -n), and a no-op command does
# not load libexpat while `report` does (LD_DEBUG).
. "$(dirname "$0")/lib.sh"
cd "$MAILSTAGE_SRC"
D=tests/data/dmarc
CASES=tests/cases/report

golden() {	# NAME ROOT ARGS...
	local name=$1 root=$2 rc=0
	shift 2
	ms --root "$root" report "$@" >"$T/out" 2>"$T/err" || rc=$?
	{ cat "$T/out"; echo "--- stderr"; cat "$T/err"; echo "--- exit $rc"; } |
		sed -e "s|$root|ROOT|g" -e "s|$T|TMP|g" >"$T/got"
	if [ -n "${UPDATE:-}" ]; then
		cp "$T/got" "$CASES/$name.expected"
	elif ! diff -u "$CASES/$name.expected" "$T/got"; then
		die "golden case $name differs (UPDATE=1 to accept after review)"
	fi
	ok "golden $name (exit $rc)"
}

# mbox: messages of the mail forms with "From " separators (LF line ends, as local(8) writes them)
mbox_of() {
	local f
	for f in "$@"; do
		echo "From noreply-dmarc@receiver.example Sat Nov 21 04:10:00 2026"
		tr -d '\r' <"$f"
		echo
	done
}
MAILS=("$D/mail-gzip-base64.eml" "$D/mail-zip-base64.eml" "$D/mail-xml-7bit.eml" "$D/mail-octet-name.eml"
	"$D/mail-single-part.eml")

# ---- Debian root, mbox
R1=$T/deb
mkroot "$R1" debian12
echo "ipv6 = 2001:db8::10" >>"$R1/etc/mailstage/mailstage.conf"
echo "dmarc: root" >>"$R1/etc/aliases"
mkdir -p "$R1/var/mail"
{
	mbox_of "${MAILS[@]:0:2}"
	mbox_of "$D/not-report.eml"
	printf '>From the body of a message, quoted\n\n'
	mbox_of "${MAILS[@]:2}"
} >"$R1/var/mail/root"
golden mbox "$R1"

# ---- EL9 root, Maildir in the alias user's home
R2=$T/el9
mkroot "$R2" el9
echo "ipv6 = 2001:db8::10" >>"$R2/etc/mailstage/mailstage.conf"
printf 'dmarc: root\nroot: admin\n' >>"$R2/etc/aliases"
echo "admin:x:1000:1000::/home/admin:/bin/bash" >>"$R2/etc/passwd"
echo "home_mailbox = Maildir/" >>"$R2/etc/postfix/main.cf"
mkdir -p "$R2/home/admin/Maildir/new" "$R2/home/admin/Maildir/cur" "$R2/home/admin/Maildir/tmp"
i=0
for f in "${MAILS[@]}" "$D/not-report.eml"; do
	i=$((i + 1))
	sub=new flags=
	[ $((i % 2)) -eq 0 ] && sub=cur flags=:2,S	# seen mail moves to cur/ with its flags
	cp "$f" "$R2/home/admin/Maildir/$sub/179560000$i.M${i}P1.mail.example.com$flags"
done
golden maildir "$R2"
# FILEs instead of the mailbox: the bare XML, .gz and .zip forms
golden files "$R2" "$D/report-7489.xml" "$D/report-bis.xml" "$D/report-gz.xml.gz" "$D/report-zip.zip"

# ---- hostile input among good reports
truncate -s 2G "$T/huge.eml"	# sparse: no disk used, 2 GB to whoever reads it
HOSTILE=("$D/report-7489.xml" "$D/bad-xml.xml" "$D/bad-utf8.xml" "$D/billion-laughs.xml" "$D/xxe.xml"
	"$D/zip-bomb.zip" "$D/gzip-bomb.xml.gz" "$D/zip-two.zip" "$D/foreign.xml" "$D/bad-record.xml"
	"$D/not-report.eml" "$T/huge.eml" "$D/mail-zip-base64.eml")
golden hostile "$R1" "${HOSTILE[@]}"
grep -q 'root:x:' "$T/out" "$T/err" && die "the XXE fixture's /etc/passwd appears in the output"
[ "$(grep -c ': rejected: ' "$T/err")" -eq 11 ] || die "expected 11 rejection messages: $(cat "$T/err")"
ok "11 hostile inputs, one message each; the 2 good reports still counted"

golden since "$R1" --since 1

# ---- JSON figures
# the Maildir's 5 reports, then the 4 file forms
rc=0
ms --root "$R2" --json report >"$T/json" 2>"$T/json.err" || rc=$?
[ $rc -eq 0 ] || die "report --json exited $rc: $(cat "$T/json.err")"
ms --root "$R2" --json report "$D/report-7489.xml" "$D/report-bis.xml" "$D/report-gz.xml.gz" "$D/report-zip.zip" \
	>>"$T/json" 2>"$T/json.err" || rc=$?
[ $rc -eq 0 ] || die "report --json FILE... exited $rc: $(cat "$T/json.err")"
python3 - "$T/json" <<'PY' || die "the --json figures are wrong (above)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
reps = [json.loads(l) for l in lines]
assert len(reps) == 9, len(reps)          # 5 in the Maildir, then 4 files
keys = {"org", "report_id", "domain", "begin", "end", "messages", "dmarc_pass", "records"}
for r in reps:
    assert set(r) == keys, set(r)
    assert all(set(x) == {"source_ip", "count", "disposition", "dkim", "spf"} for x in r["records"])
    assert r["messages"] == sum(x["count"] for x in r["records"]), r
    assert r["dmarc_pass"] == sum(x["count"] for x in r["records"] if "pass" in (x["dkim"], x["spf"])), r
    assert isinstance(r["begin"], int) and r["end"] - r["begin"] == 86399, r
    assert r["domain"] == "example.com"
by = {r["report_id"]: r for r in reps}
assert by["r1-20261120"]["messages"] == 50 and by["r1-20261120"]["dmarc_pass"] == 40
assert by["bis-77"]["records"][0]["disposition"] == "pass"       # DMARCbis
assert by["gz-3001"]["begin"] == 1795305600
assert by["m2-666"]["records"][0]["source_ip"] == "2001:db8::10"
assert sum(r["messages"] for r in reps) == 159 and sum(r["dmarc_pass"] for r in reps) == 138
print("json: %d reports, %d messages, %d passed" % (len(reps), sum(r["messages"] for r in reps),
                                                     sum(r["dmarc_pass"] for r in reps)))
PY
ok "--json: keys, sums and figures"

if [ "${VALGRIND:-0}" != 1 ]; then
	# the 2 GB file is refused from its size: peak RSS stays small
	rss=$(/usr/bin/time -f %M "$MAILSTAGE_BIN" --root "$R1" report "$T/huge.eml" 2>&1 >/dev/null | tail -1)
	[ "$rss" -lt 30000 ] || die "peak RSS ${rss} KiB reading a 2 GB sparse file: it was read"
	ok "2 GB attachment refused unread (peak RSS ${rss} KiB)"
	# no external entity is ever opened
	# LeakSanitizer cannot run under ptrace (sanitize-integration tier): no leak check for this one run.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -e trace=open,openat -o "$T/strace" "$MAILSTAGE_BIN" --root "$R1" report "$D/xxe.xml" >/dev/null 2>&1 || true
	grep -q '"/etc/passwd"' "$T/strace" && grep '"/etc/passwd"' "$T/strace" | grep -qv "$R1" &&
		die "the host's /etc/passwd was opened while reading xxe.xml"
	ok "XXE: the entity's file is never opened"
	# no network needed: a namespace with none
	rc=0
	unshare -n "$MAILSTAGE_BIN" --root "$R1" report >/dev/null 2>&1 || rc=$?
	[ $rc -eq 0 ] || die "report in a network namespace without network exited $rc"
	ok "report runs without network"
	# expat is loaded only by the commands that parse XML
	LD_DEBUG=libs "$MAILSTAGE_BIN" --root "$R1" stages 2>"$T/ld" >/dev/null
	grep -q 'libexpat' "$T/ld" && die "mailstage stages loads libexpat"
	LD_DEBUG=libs "$MAILSTAGE_BIN" --root "$R1" report "$D/report-7489.xml" 2>"$T/ld" >/dev/null
	grep -q 'libexpat.so.1' "$T/ld" || die "mailstage report did not load libexpat.so.1 (LD_DEBUG)"
	ok "libexpat loaded by report only"
fi

# the converge timer's digest: one English line (the journal's MESSAGE), over --since (default 1 day)
rc=0
ms --root "$R2" --json report --digest --since 36500 >"$T/digest" 2>"$T/digest.err" || rc=$?
[ $rc -eq 0 ] || die "report --digest exited $rc: $(cat "$T/digest.err")"
want='DMARC digest: 5 reports, 61 messages, 93.4% passed DMARC; failing sources: 203.0.113.80 (4)'
[ "$(cat "$T/digest")" = "$want" ] || die "digest: got [$(cat "$T/digest")], expected [$want]"
rc=0
ms --root "$R1" report --digest "$D/report-7489.xml" "$D/bad-xml.xml" >"$T/digest" 2>/dev/null || rc=$?
[ $rc -eq 1 ] && [ "$(cat "$T/digest")" = "DMARC digest: no reports in the last 1 days; 1 reports rejected" ] ||
	die "digest of old reports: exit $rc, [$(cat "$T/digest")]"
# the unit runs it before the apply, its failure ignored ("-")
unit=payload/units/mailstage-converge.service
grep -A1 -x 'ExecStart=-/usr/sbin/mailstage --json report --digest' "$unit" |
	grep -qx 'ExecStart=/usr/sbin/mailstage apply --json' || die "$unit does not run the digest before apply"
if command -v systemd-analyze >/dev/null; then
	cp "$unit" "$T/mailstage-converge.service"
	sed -i "s|/usr/sbin/mailstage|$MAILSTAGE_BIN|" "$T/mailstage-converge.service"
	systemd-analyze verify "$T/mailstage-converge.service" 2>&1 | grep -i 'exec' && die "systemd-analyze: ExecStart lines rejected"
fi
ok "digest line (MAILSTAGE_ACTION=dmarc-digest in the journal), run by mailstage-converge.service"

# no mailbox yet, and a rua elsewhere
rm -f "$R1/var/mail/root"
expect_rc 0 ms --root "$R1" report >"$T/out" 2>"$T/err"
grep -q 'no reports yet: the DMARC mailbox /var/mail/root does not exist' "$T/err" || die "no mailbox: $(cat "$T/err")"
echo "dmarc_rua = reports@dmarc-service.example" >>"$R1/etc/mailstage/mailstage.conf"
expect_rc 1 ms --root "$R1" report >"$T/out" 2>"$T/err"
grep -q 'not delivered on this server' "$T/err" || die "rua elsewhere: $(cat "$T/err")"
ok "no mailbox yet (exit 0), rua elsewhere (exit 1)"
expect_rc 64 ms --root "$R1" report --since 0
expect_rc 64 ms --root "$R1" plan --since 3
ok "usage errors"
