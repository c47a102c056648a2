#!/bin/bash
# 21-dns.sh - `mailstage dns` and the dns stage.
#
# Golden cases, curl-style: tests/cases/dns/NNN-name/ holds `conf` (the
# root's mailstage.conf), `args` (after --root), an empty `key` when the
# root gets the test-only DKIM key tests/data/dkim-test.private (so p= is
# fixed), and `expected` (stdout, "--- stderr", stderr, "--- exit N").
# UPDATE=1 rewrites the expected files: review the diff before committing.
# Every zone the cases print is also checked by the real zone checkers,
# nsd-checkzone and named-checkzone (the records format inside a minimal
# SOA/NS wrapper); every JSON output is parsed.  Then: a 4096-bit key's
# record, read back from named-checkzone's canonical dump, joins to the
# key's own p= with no string over 255 bytes; the stage writes exactly what
# `dns --format zone` prints, a second apply leaves it alone, a new key
# changes it, and rollback removes it.  `dns --check` reads CAA from a real
# nsd (tls_acme = yes): the hostname's own record ok, none a warning, the
# domain's naming another CA a failure with the fix, the hostname's taking
# the place of the domain's, "issue ;" on the hostname a failure.
. "$(dirname "$0")/lib.sh"
cd "$MAILSTAGE_SRC"
command -v nsd-checkzone >/dev/null || PATH=$PATH:/usr/sbin
for p in nsd-checkzone named-checkzone; do
	command -v "$p" >/dev/null || die "$p is not installed (apt-get install nsd bind9-utils)"
done

conf_value() {	# KEY DEFAULT FILE
	local v
	v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\\(.*[^[:space:]]\\)[[:space:]]*\$/\\1/p" "$3" | tail -1)
	echo "${v:-$2}"
}
# check_zone DOMAIN FILE: both real checkers accept it as a zone file.
check_zone() {
	nsd-checkzone "$1" "$2" >"$T/checker.out" 2>&1 || die "nsd-checkzone rejects $2: $(cat "$T/checker.out")"
	named-checkzone -i local -k fail -m fail -M fail -n fail "$1" "$2" >"$T/checker.out" 2>&1 ||
		die "named-checkzone rejects $2: $(cat "$T/checker.out")"
}

n=0
for c in tests/cases/dns/*/; do
	c=${c%/}
	R=$T/root
	rm -rf "$R"
	mkroot "$R" debian12
	cp "$c/conf" "$R/etc/mailstage/mailstage.conf"
	dom=$(conf_value domain example.com "$c/conf")
	sel=$(conf_value dkim_selector default "$c/conf")
	if [ -e "$c/key" ]; then
		mkdir -p "$R/etc/opendkim/keys/$dom"
		cp tests/data/dkim-test.private "$R/etc/opendkim/keys/$dom/$sel.private"
	fi
	read -r -a args <"$c/args"
	rc=0
	ms --root "$R" "${args[@]}" >"$T/out" 2>"$T/err" || rc=$?
	{ cat "$T/out"; echo "--- stderr"; cat "$T/err"; echo "--- exit $rc"; } | sed -e "s|$T/root|ROOT|g" >"$T/got"
	if [ -n "${UPDATE:-}" ]; then
		cp "$T/got" "$c/expected"
	elif ! diff -u "$c/expected" "$T/got"; then
		die "golden case $c differs (UPDATE=1 to accept after review)"
	fi
	if [ $rc -eq 0 ]; then
		case " ${args[*]} " in
		*" zone "*)
			check_zone "$dom" "$T/out" ;;
		*" records "*)
			{ printf '$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 900 1209600 300\n' "$dom"
			  printf '@ IN NS ns.example.org.\n'; cat "$T/out"; } >"$T/wrapped.zone"
			check_zone "$dom" "$T/wrapped.zone" ;;
		*" json "*)
			"${MN_PY:-/usr/bin/python3}" - "$T/out" <<-'EOF' || die "$c: JSON output does not hold"
			import json, sys
			d = json.load(open(sys.argv[1]))
			assert d["records"], "no records"
			for r in d["records"]:
			    if r["type"] == "TXT":
			        assert "".join(r["strings"]) == r["value"], r
			        assert all(len(s.encode()) <= 255 for s in r["strings"]), r
			EOF
			;;
		esac
	fi
	n=$((n + 1))
done
ok "$n golden dns cases; every zone accepted by nsd-checkzone and named-checkzone"

# ---- a 4096-bit key: three strings, joined back by a real parser ----
R=$T/root4096
mkroot "$R" debian12
mkdir -p "$R/etc/opendkim/keys/example.com"
openssl genrsa -out "$R/etc/opendkim/keys/example.com/default.private" 4096 2>/dev/null
want_p=$(openssl rsa -in "$R/etc/opendkim/keys/example.com/default.private" -pubout -outform DER 2>/dev/null | base64 -w0)
ms --root "$R" dns --format zone >"$T/4096.zone"
check_zone example.com "$T/4096.zone"
named-checkzone -D -o "$T/4096.canon" example.com "$T/4096.zone" >/dev/null 2>&1 || die "named-checkzone -D failed"
/usr/bin/python3 - "$T/4096.canon" "$want_p" <<-'EOF' || die "the 4096-bit DKIM record does not read back as the key"
import re, sys
for line in open(sys.argv[1]):
    if "._domainkey." in line and "TXT" in line:
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        assert len(strings) >= 3, strings
        assert all(len(s) <= 255 for s in strings), [len(s) for s in strings]
        value = "".join(strings)
        assert value == "v=DKIM1; k=rsa; p=" + sys.argv[2], value
        print("strings:", [len(s) for s in strings])
        break
else:
    raise SystemExit("no DKIM TXT in the canonical zone")
EOF
ok "4096-bit key: the record splits into strings of at most 255 bytes and joins back to the key's p="

# ---- the stage: same bytes as the command, converges, follows the key, rolls back ----
R=$T/stage
mkroot "$R" debian12
rc=0
ms --root "$R" --only dns plan >"$T/plan.out" 2>&1 || rc=$?
[ $rc -eq 2 ] || die "plan of a fresh root: exit $rc, expected 2: $(cat "$T/plan.out")"
grep -q 'no DKIM record: the DKIM key /etc/opendkim/keys/example.com/default.private does not exist yet' "$T/plan.out" ||
	die "plan before the key exists does not say the DKIM record is missing"
ms "${SCRATCH[@]}" --root "$R" apply >"$T/apply.out" 2>&1 || die "apply failed: $(cat "$T/apply.out")"
zf=$R/var/lib/mailstage/dns/example.com.zone
[ -f "$zf" ] || die "the dns stage did not write $zf"
ms --root "$R" dns --format zone | cmp -s - "$zf" || die "$zf is not what \`mailstage dns --format zone\` prints"
grep -q '^default._domainkey.example.com.*TXT' "$zf" || die "$zf has no DKIM record after apply made the key"
[ "$(stat -c '%a %U:%G' "$zf")" = "644 root:root" ] || die "$zf: $(stat -c '%a %U:%G' "$zf"), expected 644 root:root"
check_zone example.com "$zf"
ms "${SCRATCH[@]}" --root "$R" --only dns plan >"$T/plan2.out" 2>&1 || die "second plan not converged: $(cat "$T/plan2.out")"
cp "$zf" "$T/zone.before"
echo '; hand edit' >>"$zf"
expect_rc 2 ms --root "$R" --only dns plan >/dev/null 2>&1
ms --root "$R" --only dns apply >/dev/null 2>&1 || die "apply did not repair the hand-edited zone"
cmp -s "$zf" "$T/zone.before" || die "the repaired zone differs from the one before the hand edit"
# a new key: the record, the serial and the file follow
rm "$R/etc/opendkim/keys/example.com/default.private"
ms "${SCRATCH[@]}" --root "$R" apply >/dev/null 2>&1 || die "apply with a new key failed"
cmp -s "$zf" "$T/zone.before" && die "a new DKIM key did not change the zone"
[ "$(grep -c 'IN	SOA' "$zf")" = 1 ] && ! diff <(grep 'IN	SOA' "$zf") <(grep 'IN	SOA' "$T/zone.before") >/dev/null ||
	die "the SOA serial did not change with the records"
# rollback of the first run removes the zone and its directory
for i in 1 2 3 4 5; do
	ms --root "$R" rollback >"$T/rb.out" 2>&1 || die "rollback failed: $(cat "$T/rb.out")"
	grep -q '^nothing to roll back' "$T/rb.out" && break
done
grep -q '^nothing to roll back' "$T/rb.out" || die "rollback did not come to an end after 5 runs"
[ ! -e "$zf" ] && [ ! -e "$R/var/lib/mailstage/dns" ] || die "rollback left $zf behind"
ok "dns stage: the file is the command's zone, converges, repairs a hand edit, follows a new key, rolls back"

# ---- dns --check: CAA against a real authoritative server ----
# nsd on 127.0.0.1 (a free port) serves the zone `dns --format zone` prints,
# with the CAA records of each case instead of mailstage's; `dns --check
# --resolver` reads them (type 257, RDATA parsed by installer/dnsq.c).
. "$MAILSTAGE_SRC/tests/lib/mailnet.sh"	# mn_nsd_conf only: no namespaces here
R=$T/caa
mkroot "$R" debian12
printf 'hostname = mail.example.com\ndomain = example.com\nipv4 = 192.0.2.10\ntls_acme = yes\nacme_email = postmaster@example.com\n' \
	>"$R/etc/mailstage/mailstage.conf"
ms --root "$R" dns --format zone | grep -v '	CAA	' >"$T/caa-base.zone"
grep -q 'mail.example.com.*IN	A	192.0.2.10' "$T/caa-base.zone" || die "no A record in the zone of the CAA root"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# caa_check NAME "OWNER CAA RDATA"...: serve the zone with these CAA records, run dns --check into $T/caa-NAME.out
caa_check() {
	local name=$1 d=$T/nsd-$1 pid
	shift
	mkdir -p "$d"
	{ cat "$T/caa-base.zone"; for rr in "$@"; do printf '%s\n' "$rr"; done; } >"$d/example.com.zone"
	nsd-checkzone example.com "$d/example.com.zone" >/dev/null || die "case $name: the zone does not load"
	# the reverse zone too, so that the PTR check is answered rather than timed out
	printf '$TTL 300\n@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 900 1209600 300\n@ IN NS ns.example.com.\n10 IN PTR mail.example.com.\n' \
		>"$d/rev.zone"
	{ mn_nsd_conf "$d" 127.0.0.1 "$port"
	  printf 'zone:\n    name: "example.com"\n    zonefile: "example.com.zone"\n'
	  printf 'zone:\n    name: "2.0.192.in-addr.arpa"\n    zonefile: "rev.zone"\n'; } >"$d/nsd.conf"
	nsd -d -c "$d/nsd.conf" >"$d/nsd.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 mail.example.com A 2>/dev/null | grep -q 192.0.2.10 && break
		sleep 0.05
	done
	ms --root "$R" dns --check --resolver "127.0.0.1:$port" >"$T/caa-$name.out" 2>&1 || true
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	grep -q 'ok  *A mail.example.com' "$T/caa-$name.out" ||
		die "case $name: dns --check did not read the zone from nsd: $(cat "$T/caa-$name.out" "$d/nsd.out")"
}
caa_line() { grep -A2 -E '^ *[a-zA-Z]+ +CAA' "$T/caa-$1.out" | paste -sd' ' | sed 's/  */ /g'; }
caa_check host 'mail.example.com. 300 IN CAA 0 issue "letsencrypt.org"'
grep -Eq '^ *ok +CAA' "$T/caa-host.out" || die "the hostname's own CAA is not ok: $(cat "$T/caa-host.out")"
ok "CAA on the hostname: $(caa_line host)"
caa_check none
grep -Eq '^ *WARN +CAA' "$T/caa-none.out" && grep -q 'any CA may issue' "$T/caa-none.out" ||
	die "no CAA at all is not a warning: $(cat "$T/caa-none.out")"
ok "no CAA: $(caa_line none)"
caa_check domain-other 'example.com. 300 IN CAA 0 issue "sectigo.com"' 'example.com. 300 IN CAA 0 iodef "mailto:sec@example.com"'
grep -Eq '^ *FAIL +CAA' "$T/caa-domain-other.out" &&
	grep -q 'publish mail.example.com CAA 0 issue "letsencrypt.org"' "$T/caa-domain-other.out" ||
	die "a domain CAA for another CA is not a failure with the fix: $(cat "$T/caa-domain-other.out")"
ok "the domain's CAA names another CA: $(caa_line domain-other)"
caa_check override 'example.com. 300 IN CAA 0 issue "sectigo.com"' 'mail.example.com. 300 IN CAA 0 issue "letsencrypt.org"'
grep -Eq '^ *ok +CAA' "$T/caa-override.out" || die "the hostname's CAA does not override the domain's: $(cat "$T/caa-override.out")"
caa_check domain-ours 'example.com. 300 IN CAA 0 issue "letsencrypt.org; validationmethods=http-01"'
grep -Eq '^ *ok +CAA' "$T/caa-domain-ours.out" && grep -q 'example.com allows letsencrypt.org' "$T/caa-domain-ours.out" ||
	die "the domain's CAA allowing the CA is not ok: $(cat "$T/caa-domain-ours.out")"
caa_check host-forbids 'mail.example.com. 300 IN CAA 0 issue ";"'
grep -Eq '^ *FAIL +CAA' "$T/caa-host-forbids.out" &&
	grep -q 'to the CAA records of mail.example.com (or remove the one that forbids)' "$T/caa-host-forbids.out" ||
	die "a hostname CAA forbidding every CA is not a failure with its fix: $(cat "$T/caa-host-forbids.out")"
ok "the hostname's CAA overrides the domain's; the domain's may allow the CA; \"issue ;\" on the hostname: $(caa_line host-forbids)"
