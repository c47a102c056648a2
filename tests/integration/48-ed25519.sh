#!/bin/bash
# 48-ed25519.sh - dual DKIM signing, RSA and Ed25519 (RFC 8463), judged by
# real receivers (tests/lib/e2e.sh: nsd, Postfix + OpenDKIM verify +
# OpenDMARC) with dkim_algorithms = rsa-sha256, ed25519-sha256:
#   - `mailstage dns` prints both records; the Ed25519 one is
#     "v=DKIM1; k=ed25519; p=" and 44 characters of key, one TXT string well
#     under 255 characters (Sakura's DNS editor cap);
#   - the sender's two OpenDKIMs (started from the applied root: the RSA one
#     of opendkim.conf, and the Ed25519 one of /etc/opendkim/ed25519.conf on
#     inet:8892, Postfix's second milter: OpenDKIM 2.11 has one
#     SignatureAlgorithm per instance) put two DKIM-Signature fields on each
#     message, a=rsa-sha256 s=default and a=ed25519-sha256 s=default-ed25519;
#   - the receivers' OpenDKIM writes dkim=pass for both (header.a names the
#     algorithm), to the IPv4 and to the IPv6 receiver, and DMARC passes;
#   - dkimpy (python3-dkim) verifies both signatures of the stored message
#     independently, its DNS answers read from the zone the test serves;
#   - negative: with a wrong Ed25519 key in the served zone, dkimpy fails
#     the Ed25519 signature and still passes the RSA one;
#   - on el7 (OpenSSL 1.0.2) the same configuration is refused, exit 78,
#     naming the platform.
. "$(dirname "$0")/lib.sh"
E2E_MS=$MAILSTAGE_BIN
E2E_DIR=$T/e2e
E2E_CONF_EXTRA='dkim_algorithms = rsa-sha256, ed25519-sha256'
. "$MAILSTAGE_SRC/tests/lib/e2e.sh"
e2e_fail() { die "$*"; }

# ---- el7: a configuration error naming the platform ----
mkroot "$T/el7" el7 >/dev/null
cat >"$T/el7/etc/mailstage/mailstage.conf" <<EOF
hostname = mail.example.com
domain = example.com
ipv4 = 192.0.2.10
dkim_algorithms = rsa-sha256, ed25519-sha256
EOF
rc=0
"$MAILSTAGE_BIN" --root "$T/el7" "${SCRATCH[@]}" apply >"$T/el7.out" 2>&1 || rc=$?
[ $rc = 78 ] || die "el7 with ed25519-sha256: exit $rc, expected 78: $(cat "$T/el7.out")"
grep -q 'CentOS 7 / RHEL 7 (el7) cannot sign with Ed25519: its OpenSSL 1.0.2k has no Ed25519' "$T/el7.out" ||
	die "el7 refusal does not name the platform: $(cat "$T/el7.out")"
[ ! -e "$T/el7/etc/opendkim/keys/example.com" ] || die "el7: keys were made before the refusal"
ok "el7: dkim_algorithms with ed25519-sha256 refused, exit 78: $(grep -o 'CentOS 7[^:]*' "$T/el7.out" | head -1)"
# rsa-sha256 is required beside Ed25519
sed -i 's/^dkim_algorithms = .*/dkim_algorithms = ed25519-sha256/' "$T/el7/etc/mailstage/mailstage.conf"
rc=0
"$MAILSTAGE_BIN" --root "$T/el7" plan >"$T/el7b.out" 2>&1 || rc=$?
[ $rc = 78 ] && grep -q 'dkim_algorithms must include rsa-sha256' "$T/el7b.out" ||
	die "ed25519-sha256 alone: exit $rc: $(cat "$T/el7b.out")"
ok "ed25519-sha256 without rsa-sha256: configuration error (exit 78)"

# ---- debian12: dual signing, end to end ----
e2e_up
"$MAILSTAGE_BIN" --root "$E2E_ROOT" dns >"$T/dns.out" || die "mailstage dns failed"
cat "$T/dns.out"
grep -Eq '^default\._domainkey\.example\.com\. +TXT +v=DKIM1; k=rsa; p=MII' "$T/dns.out" || die "dns: no RSA record"
edrec=$(grep -E '^default-ed25519\._domainkey\.example\.com\. +TXT +' "$T/dns.out" | sed 's/.*TXT *//') ||
	die "dns: no Ed25519 record"
[[ $edrec =~ ^v=DKIM1\;\ k=ed25519\;\ p=([A-Za-z0-9+/]{43}=)$ ]] || die "the Ed25519 record is not k=ed25519 with 44 characters of key: $edrec"
[ ${#edrec} -lt 255 ] || die "the Ed25519 record is ${#edrec} characters"
ok "dns: RSA and Ed25519 records; the Ed25519 one is ${#edrec} characters (p= ${#BASH_REMATCH[1]})"
grep -q '^default-ed25519._domainkey' "$E2E_DIR/example.com.zone" || die "the served zone has no Ed25519 record"
grep -qx 'SignatureAlgorithm	ed25519-sha256' "$E2E_ROOT/etc/opendkim/ed25519.conf" || die "no Ed25519 OpenDKIM configuration"
grep -q '^smtpd_milters = inet:127.0.0.1:8891, inet:127.0.0.1:8892$' "$E2E_ROOT/etc/postfix/main.cf" ||
	die "main.cf: not both milters: $(grep milters "$E2E_ROOT/etc/postfix/main.cf")"
[ -f "$E2E_ROOT/etc/systemd/system/opendkim-ed25519.service" ] || die "no opendkim-ed25519.service"

e2e_sendmail bob@example.net "ed25519 v4" || die "sendmail to example.net failed"
e2e_sendmail carol@example.org "ed25519 v6" || die "sendmail to example.org failed"
for rx in mx4:ed25519\ v4:mx.example.net mx6:ed25519\ v6:mx.example.org; do
	h=${rx%%:*} rest=${rx#*:}; subj=${rest%%:*} mx=${rest#*:}
	f=$(e2e_wait "$h" "$subj")
	echo "--- $subj at $mx"
	grep -E '^DKIM-Signature:' -A1 "$f" | grep -Eo '(a|s)=[^;]*' | paste -sd' ' -
	e2e_ar "$f" | tee "$T/ar"
	[ "$(grep -c '^DKIM-Signature:' "$f")" = 2 ] || die "$subj: not two DKIM-Signature fields"
	# one result per signature: split the receiver's fields before each "; dkim=" (a comment
	# such as "(2048-bit key; unprotected)" has a ';' of its own)
	grep "^Authentication-Results: $mx;" "$T/ar" | sed 's/; dkim=/\ndkim=/g' | grep -E '^dkim=pass ' >"$T/dkimres" || true
	grep 'header\.d=example\.com' "$T/dkimres" | grep -E 'header\.s=default( |$)' | grep -q 'header\.a=rsa-sha256' ||
		die "$subj: no dkim=pass for the RSA signature at $mx"
	grep 'header\.d=example\.com' "$T/dkimres" | grep -E 'header\.s=default-ed25519( |$)' | grep -q 'header\.a=ed25519-sha256' ||
		die "$subj: no dkim=pass for the Ed25519 signature at $mx"
	grep -Eq "^Authentication-Results: $mx;.* dmarc=pass .*header\.from=example\.com" "$T/ar" ||
		die "$subj: DMARC is not pass at $mx"
	ok "$subj: $mx's OpenDKIM: dkim=pass rsa-sha256 (s=default) and dkim=pass ed25519-sha256 (s=default-ed25519); dmarc=pass"
	cp "$f" "$T/$h.eml"
done

# dkimpy, an independent verifier: DNS answers from the zone file nsd serves.
dkimpy() {	# dkimpy MESSAGE ZONEFILE: one line per signature "s=SEL a=ALG pass|fail"
	"$MN_PY" - "$1" "$2" <<'EOF'
import sys, dkim, dns.zone, dns.rdatatype
zone = dns.zone.from_file(sys.argv[2], origin="example.com.", relativize=False)
def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    node = zone.get_node(name if name.endswith(".") else name + ".")
    if node is None:
        return None
    rds = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
    return b"".join(rds[0].strings) if rds else None
msg = open(sys.argv[1], "rb").read()
d = dkim.DKIM(msg)
n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
for i in range(n):
    ok = d.verify(idx=i, dnsfunc=dnsfunc)
    sig = d.signature_fields
    print("s=%s a=%s %s" % (sig[b"s"].decode(), sig[b"a"].decode(), "pass" if ok else "fail"))
EOF
}
dkimpy "$T/mx4.eml" "$MN_DIR/dns/nsd/example.com.zone" >"$T/dkimpy.out" 2>&1 || die "dkimpy: $(cat "$T/dkimpy.out")"
cat "$T/dkimpy.out"
grep -qx 's=default a=rsa-sha256 pass' "$T/dkimpy.out" || die "dkimpy does not pass the RSA signature"
grep -qx 's=default-ed25519 a=ed25519-sha256 pass' "$T/dkimpy.out" || die "dkimpy does not pass the Ed25519 signature"
ok "dkimpy: both signatures pass ($(paste -sd, "$T/dkimpy.out"))"

# Negative: another Ed25519 key in the zone (a copy of it, the key replaced).
sed -E 's/(k=ed25519; p=)[A-Za-z0-9+\/]{43}=/\111qYAYKxCrfVS\/7TyWQHOg7hcvPapiMlrwIaaPcHURo=/' \
	"$MN_DIR/dns/nsd/example.com.zone" >"$T/wrong.zone"
grep -q '11qYAYKxCrfVS' "$T/wrong.zone" || die "the negative's zone has no replaced key"
dkimpy "$T/mx4.eml" "$T/wrong.zone" >"$T/dkimpy2.out" 2>&1 || die "dkimpy: $(cat "$T/dkimpy2.out")"
cat "$T/dkimpy2.out"
grep -qx 's=default a=rsa-sha256 pass' "$T/dkimpy2.out" &&
	grep -qx 's=default-ed25519 a=ed25519-sha256 fail' "$T/dkimpy2.out" ||
	die "dkimpy with a wrong Ed25519 key: $(cat "$T/dkimpy2.out")"
ok "negative: with another Ed25519 key in DNS, dkimpy fails that signature and passes the RSA one"
exit 0
