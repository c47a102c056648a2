#!/bin/bash
# 47-dkim-rotation-ed25519.sh - both keys of dkim_algorithms = rsa-sha256,
# ed25519-sha256 rotate, each on its own, gated by DNS, end to end
# (tests/lib/e2e.sh: nsd, real Postfix receivers with OpenDKIM verify and
# OpenDMARC), dkim_rotate_days = 180, dkim_retire_days = 7, the test build's
# clock (MAILSTAGE_TEST_NOW).  Each step is one `mailstage apply --resolver
# NSD` in the sender's namespace; after each, a message to mx4 must carry two
# signatures, a=rsa-sha256 and a=ed25519-sha256, both judged dkim=pass by the
# receiver, with the selectors the step expects:
#   0. before: s=default and s=default-ed25519;
#   1. +181 days: both next keys made, sYYYYMMDD and sYYYYMMDD-ed25519;
#      `mailstage dns` shows all four records; neither table switched;
#   2. nsd serves the new RSA record only: RSA switches, Ed25519 waits (its
#      record not served): mail is signed s=NEW and s=default-ed25519, passes;
#   3. +2 days, nsd serves the new Ed25519 record: Ed25519 switches (a
#      rollback of that run puts KeyTable.ed25519 and the state back; the
#      apply after it switches again); mail s=NEW, s=NEW-ed25519;
#   4. +8 days after the RSA switch: the old RSA record is "to remove" (dns,
#      verify WARN), the old Ed25519 one still within its 7 days (ok); no key
#      deleted;
#   5. the old RSA record removed from nsd: its key deleted, the old
#      Ed25519 key kept (still published, not yet retired);
#   6. +10 days: the old Ed25519 record "to remove", then removed from nsd:
#      its key deleted (rollback restores it byte for byte; the next apply
#      deletes it again).
#   - `mailstage dkim status --json` at each step: every selector of both
#     algorithms with its state and what nsd serves.
. "$(dirname "$0")/lib.sh"
E2E_MS=$MAILSTAGE_TESTBIN
E2E_DIR=$T/e2e
E2E_CONF_EXTRA='dkim_algorithms = rsa-sha256, ed25519-sha256
dkim_rotate_days = 180
dkim_retire_days = 7'
. "$MAILSTAGE_SRC/tests/lib/e2e.sh"
e2e_fail() { die "$*"; }

DAY=86400
T0=$(date +%s)
export MAILSTAGE_TEST_NOW=$T0
e2e_up
. "$MAILSTAGE_SRC/tests/lib/rotation.sh"
rot_init
OD=$E2E_ROOT/etc/opendkim
tables_name() {	# tables_name RSA_SEL ED_SEL: both instances' KeyTable and SigningTable
	grep -q "^$1._domainkey.example.com example.com:$1:/etc/opendkim/keys/example.com/$1.private$" "$OD/KeyTable" &&
		grep -qx "\*@example.com $1._domainkey.example.com" "$OD/SigningTable" &&
		grep -q "^$2._domainkey.example.com example.com:$2:/etc/opendkim/keys/example.com/$2.private$" \
			"$OD/KeyTable.ed25519" &&
		grep -qx "\*@example.com $2._domainkey.example.com" "$OD/SigningTable.ed25519" ||
		die "the tables do not name $1 and $2: $(cat "$OD/KeyTable" "$OD/KeyTable.ed25519")"
}
dkim_rows() {	# dkim_rows FILE: the DKIM records of a `mailstage dns` table, one a line
	awk '/_domainkey/ { print "   ", $1, $3, $4, ($0 ~ /TO REMOVE/ ? "(TO REMOVE)" : "") }' "$1"
}
n=0
mail_judged() {	# mail_judged RSA_SEL ED_SEL STEP: a message to mx4, both signatures' verdicts asserted
	n=$((n + 1))
	e2e_sendmail bob@example.net "rotation $n" || die "sendmail failed"
	f=$(e2e_wait mx4 "rotation $n")
	e2e_ar "$f" >"$T/ar"
	sigs=$(grep -A1 '^DKIM-Signature:' "$f" | grep -Eo '(^|[[:space:];])(a|s)=[a-z0-9-]+' | tr -d ' \t;' | paste -sd' ' -)
	[ "$(grep -c '^DKIM-Signature:' "$f")" = 2 ] || die "step $3: not two DKIM-Signature fields: $sigs"
	# one result per signature: the receiver's field split before each "; dkim="
	grep '^Authentication-Results: mx\.example\.net;' "$T/ar" | sed 's/; dkim=/\ndkim=/g' | grep -E '^dkim=' >"$T/dkimres" || true
	grep -E "^dkim=pass .*header\.s=$1( |;|$)" "$T/dkimres" | grep -q 'header\.a=rsa-sha256' ||
		die "step $3: no dkim=pass for a=rsa-sha256 s=$1 (signatures: $sigs): $(cat "$T/ar")"
	grep -E "^dkim=pass .*header\.s=$2( |;|$)" "$T/dkimres" | grep -q 'header\.a=ed25519-sha256' ||
		die "step $3: no dkim=pass for a=ed25519-sha256 s=$2 (signatures: $sigs): $(cat "$T/ar")"
	grep -v '^dkim=pass' "$T/dkimres" && die "step $3: a signature does not pass"
	grep -Eq '^Authentication-Results: mx\.example\.net;.* dmarc=pass' "$T/ar" || die "step $3: DMARC not pass"
	echo "--- step $3: $(e2e_verdict "$f") (signed: $sigs)"
	sed 's/^/    /' "$T/dkimres"
}

# ---- 0: before ----
[ "$(state)" = "active default $T0 ed25519-active default-ed25519 $T0" ] || die "step 0: state $(state)"
tables_name default default-ed25519
mail_judged default default-ed25519 0
ok "0. before: state '$(state)'; s=default and s=default-ed25519 pass"

# ---- 1: 181 days later, both next keys; signing unchanged ----
T1=$((T0 + 181 * DAY))
SEL=s$(date -u -d "@$T1" +%Y%m%d)
ED=$SEL-ed25519
apply_at $T1
[ "$(state)" = "active default $T0 next $SEL $T1 ed25519-active default-ed25519 $T0 ed25519-next $ED $T1" ] ||
	die "step 1: state $(state)"
for k in "$SEL" "$ED"; do
	[ -f "$KD/$k.private" ] && [ "$(stat -c %a "$KD/$k.private")" = 600 ] || die "step 1: no 0600 key $k.private"
done
grep -q 'PRIVATE KEY' "$KD/$ED.private" && [ "$(wc -c <"$KD/$ED.private")" -lt 200 ] ||
	die "step 1: $ED.private is not an Ed25519 key"
tables_name default default-ed25519
mn_in srv env MAILSTAGE_TEST_NOW=$T1 "$E2E_MS" --root "$E2E_ROOT" dns >"$T/dns1.out"
dkim_rows "$T/dns1.out"
for k in default "$SEL" default-ed25519 "$ED"; do
	grep -q "^$k._domainkey.example.com\. " "$T/dns1.out" || die "step 1: dns does not show $k"
done
grep -Eq "^$ED\._domainkey\.example\.com\. +TXT +v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=" "$T/dns1.out" ||
	die "step 1: the next Ed25519 record is not k=ed25519"
served "$SEL._domainkey.example.com" && die "step 1: nsd already serves $SEL"
served "$ED._domainkey.example.com" && die "step 1: nsd already serves $ED"
mail_judged default default-ed25519 1
status_is $T1 "default:rsa:active:served $SEL:rsa:published-pending:absent default-ed25519:ed25519:active:served $ED:ed25519:published-pending:absent"
ok "1. +181 days: next keys $SEL and $ED made, four records in \`dns\`, tables unchanged; both old signatures pass"

# ---- 2: nsd serves the new RSA record only: RSA switches, Ed25519 waits ----
zone_sync $T1 "$ED"
wait_served "$SEL._domainkey.example.com" yes
served "$ED._domainkey.example.com" && die "step 2: nsd serves $ED"
apply_at $T1
[ "$(state)" = "active $SEL $T1 retiring default $T1 ed25519-active default-ed25519 $T0 ed25519-next $ED $T1" ] ||
	die "step 2: state $(state); $(cat "$T/apply.out")"
grep -q "DKIM selector $ED waits for its record in DNS" "$T/apply.out" || die "step 2: no note that $ED waits"
tables_name "$SEL" default-ed25519
reload_signers
mail_judged "$SEL" default-ed25519 2
status_is $T1 "$SEL:rsa:active:served default:rsa:retiring:served default-ed25519:ed25519:active:served $ED:ed25519:published-pending:absent"
ok "2. only $SEL served: RSA switched, Ed25519 waits ($(grep -o "DKIM selector $ED waits[^(]*" "$T/apply.out")); mail s=$SEL + s=default-ed25519 passes"

# ---- 3: two days later nsd serves the new Ed25519 record: it switches (and a rollback undoes it) ----
T1b=$((T1 + 2 * DAY))
zone_sync $T1b
wait_served "$ED._domainkey.example.com" yes
apply_at $T1b
S3="active $SEL $T1 retiring default $T1 ed25519-active $ED $T1b ed25519-retiring default-ed25519 $T1b"
[ "$(state)" = "$S3" ] || die "step 3: state $(state); $(cat "$T/apply.out")"
tables_name "$SEL" "$ED"
run=$(sed -n 's/^run \([0-9]*\) is recorded.*/\1/p' "$T/apply.out")
mn_in srv "$E2E_MS" --root "$E2E_ROOT" rollback "$run" >"$T/rb3.out" 2>&1 || die "rollback $run: $(cat "$T/rb3.out")"
tables_name "$SEL" default-ed25519
[ "$(state)" = "active $SEL $T1 retiring default $T1 ed25519-active default-ed25519 $T0 ed25519-next $ED $T1" ] ||
	die "step 3: rollback did not restore the state: $(state)"
apply_at $T1b
[ "$(state)" = "$S3" ] || die "step 3: no switch after the rollback: $(state)"
tables_name "$SEL" "$ED"
[ -f "$KD/default-ed25519.private" ] || die "step 3: the old Ed25519 key is gone already"
reload_signers
mail_judged "$SEL" "$ED" 3
status_is $T1b "$SEL:rsa:active:served default:rsa:retiring:served $ED:ed25519:active:served default-ed25519:ed25519:retiring:served"
ok "3. +2 days, $ED served: Ed25519 switched (rollback $run put it back, the next apply switched again); mail s=$SEL + s=$ED passes"

# ---- 4: 8 days after the RSA switch: RSA's old record to remove, Ed25519's still kept ----
T2=$((T1 + 8 * DAY))
apply_at $T2
grep -q "retired on .*remove its record default._domainkey.example.com" "$T/apply.out" ||
	die "step 4: no note to remove default: $(cat "$T/apply.out")"
grep -q "remove its record default-ed25519" "$T/apply.out" && die "step 4: default-ed25519 to remove already"
[ -f "$KD/default.private" ] && [ -f "$KD/default-ed25519.private" ] || die "step 4: an old key was deleted"
mn_in srv env MAILSTAGE_TEST_NOW=$T2 "$E2E_MS" --root "$E2E_ROOT" dns >"$T/dns4.out"
dkim_rows "$T/dns4.out"
grep -Eq "^default._domainkey.example.com\. .*TO REMOVE" "$T/dns4.out" || die "step 4: dns does not list default to remove"
grep -Eq "^default-ed25519._domainkey.example.com\. .*TO REMOVE" "$T/dns4.out" && die "step 4: default-ed25519 to remove early"
rc=0
mn_in srv env MAILSTAGE_TEST_NOW=$T2 "$E2E_MS" --root "$E2E_ROOT" --skip "$skip" verify --resolver "$E2E_DNS4:53" \
	>"$T/verify4.out" 2>&1 || rc=$?
grep -A1 -E '^  (ok|WARN|FAIL) +DKIM retired' "$T/verify4.out"
grep -Eq '^  WARN +DKIM retired record +default\._domainkey\.example\.com is still published' "$T/verify4.out" ||
	die "step 4: verify does not warn on default"
grep -Eq '^  ok +DKIM retired record +default-ed25519\._domainkey\.example\.com: the previous key, retired on' \
	"$T/verify4.out" || die "step 4: verify does not report default-ed25519 as kept: $(cat "$T/verify4.out")"
mail_judged "$SEL" "$ED" 4
status_is $T2 "$SEL:rsa:active:served default:rsa:retired:served $ED:ed25519:active:served default-ed25519:ed25519:retiring:served"
ok "4. +8 days: default \"TO REMOVE\" (verify WARN), default-ed25519 still kept; no key deleted"

# ---- 5: the old RSA record removed: its key deleted, the old Ed25519 key kept ----
zone_sync $T2
wait_served default._domainkey.example.com no
served default-ed25519._domainkey.example.com || die "step 5: nsd stopped serving default-ed25519"
apply_at $T2
[ ! -e "$KD/default.private" ] && [ ! -e "$KD/default.txt" ] || die "step 5: the old RSA key is still there"
[ -f "$KD/default-ed25519.private" ] || die "step 5: the old Ed25519 key was deleted while published"
[ "$(state)" = "active $SEL $T1 ed25519-active $ED $T1b ed25519-retiring default-ed25519 $T1b" ] || die "step 5: state $(state)"
mail_judged "$SEL" "$ED" 5
status_is $T2 "$SEL:rsa:active:served $ED:ed25519:active:served default-ed25519:ed25519:retiring:served"
ok "5. default gone from nsd: its key deleted; default-ed25519 kept (published, retiring until +7 days)"

# ---- 6: 10 days after: the old Ed25519 record to remove, then removed: its key deleted ----
T3=$((T1 + 10 * DAY))
apply_at $T3
grep -q "retired on .*remove its record default-ed25519._domainkey.example.com" "$T/apply.out" ||
	die "step 6: no note to remove default-ed25519: $(cat "$T/apply.out")"
[ -f "$KD/default-ed25519.private" ] || die "step 6: the old Ed25519 key deleted while its record is published"
mn_in srv env MAILSTAGE_TEST_NOW=$T3 "$E2E_MS" --root "$E2E_ROOT" dns >"$T/dns6.out"
dkim_rows "$T/dns6.out"
grep -Eq "^default-ed25519._domainkey.example.com\. .*TO REMOVE" "$T/dns6.out" || die "step 6: dns does not list default-ed25519 to remove"
status_is $T3 "$SEL:rsa:active:served $ED:ed25519:active:served default-ed25519:ed25519:retired:served"
cp -p "$KD/default-ed25519.private" "$T/ed.private.before"
zone_sync $T3
wait_served default-ed25519._domainkey.example.com no
apply_at $T3
[ ! -e "$KD/default-ed25519.private" ] && [ ! -e "$KD/default-ed25519.txt" ] || die "step 6: the old Ed25519 key is still there"
[ "$(state)" = "active $SEL $T1 ed25519-active $ED $T1b" ] || die "step 6: state $(state)"
run=$(sed -n 's/^run \([0-9]*\) is recorded.*/\1/p' "$T/apply.out")
mn_in srv "$E2E_MS" --root "$E2E_ROOT" rollback "$run" >"$T/rb6.out" 2>&1 || die "rollback $run: $(cat "$T/rb6.out")"
cmp -s "$KD/default-ed25519.private" "$T/ed.private.before" || die "step 6: rollback did not restore the old Ed25519 key"
apply_at $T3
[ ! -e "$KD/default-ed25519.private" ] || die "step 6: the apply after the rollback did not delete the old key"
mail_judged "$SEL" "$ED" 6
status_is $T3 "$SEL:rsa:active:served $ED:ed25519:active:served"
ok "6. +10 days: default-ed25519 \"TO REMOVE\", then gone from nsd: its key deleted (rollback $run restored it, the next apply deleted it again)"
exit 0
