#!/bin/bash
# 47-dkim-rotation.sh - DKIM key rotation gated by DNS, end to end
# (tests/lib/e2e.sh: nsd, real Postfix receivers with OpenDKIM verify and
# OpenDMARC), with dkim_rotate_days = 180, dkim_retire_days = 7 and the test
# build's clock (MAILSTAGE_TEST_NOW, honoured only by mailstage-test).  Each
# step is one `mailstage apply --resolver NSD` in the sender's namespace; the
# receivers judge a message after each:
#   0. before: signed s=default, dkim=pass;
#   1. 181 days later: the next key is made under sYYYYMMDD, `mailstage dns`
#      shows both records, the KeyTable still names default: mail is signed
#      by the old key and passes while nsd does not serve the new record;
#   2. another apply while the record is still not served: no switch;
#   3. nsd serves the new record: the apply switches KeyTable/SigningTable to
#      it (the sender's OpenDKIM reloaded, as the services stage restarts it);
#      mail is signed by the new key and passes; the old record stays;
#   4. 8 days later: `dns` lists the old record "to remove", verify warns
#      while it is published, and the old private key is kept;
#   5. the record removed from nsd: the apply deletes the old private key; a
#      rollback of that run restores it byte for byte, the next apply deletes
#      it again.  Mail still passes.
#   - `mailstage dkim status --json` after steps 1, 3 and 4: published-pending,
#     active and retiring, retired, with what nsd serves;
#   - a state file that is not a rotation state is refused with a message.
. "$(dirname "$0")/lib.sh"
E2E_MS=$MAILSTAGE_TESTBIN
E2E_DIR=$T/e2e
E2E_CONF_EXTRA='dkim_rotate_days = 180
dkim_retire_days = 7'
. "$MAILSTAGE_SRC/tests/lib/e2e.sh"
e2e_fail() { die "$*"; }

DAY=86400
T0=$(date +%s)
export MAILSTAGE_TEST_NOW=$T0
e2e_up
. "$MAILSTAGE_SRC/tests/lib/rotation.sh"
rot_init
ROT_STATUS_FMT=%s:%.0s%s:%s	# status_is words SEL:STATE:DNS (RSA only: no algorithm)
n=0
mail_judged() {	# mail_judged SELECTOR STEP: a message to mx4, its verdict asserted
	n=$((n + 1))
	e2e_sendmail bob@example.net "rotation $n" || die "sendmail failed"
	f=$(e2e_wait mx4 "rotation $n")
	e2e_ar "$f" >"$T/ar"
	sig=$(grep -A1 '^DKIM-Signature:' "$f" | grep -Eo '(^|[[:space:];])s=[a-z0-9-]+' | head -1 | sed 's/^[[:space:];]*//')
	[ "$sig" = "s=$1" ] || die "step $2: message signed with $sig, expected s=$1"
	grep -Eq "^Authentication-Results: mx\.example\.net;.* dkim=pass .*header\.s=$1( |;|$)" "$T/ar" ||
		die "step $2: the receiver's DKIM verdict for s=$1 is not pass: $(cat "$T/ar")"
	grep -Eq '^Authentication-Results: mx\.example\.net;.* dmarc=pass' "$T/ar" || die "step $2: DMARC not pass"
	echo "--- step $2: $(e2e_verdict "$f") (s=$1)"
	grep '^Authentication-Results: mx.example.net; dkim=' "$T/ar"
}

# ---- 0: before ----
[ "$(state)" = "active default $T0" ] || die "no rotation state after the first apply: $(state)"
mail_judged default 0
ok "0. before: rotation state '$(state)'; mail signed s=default, dkim=pass"

# ---- 1: 181 days later, the next key; signing unchanged ----
T1=$((T0 + 181 * DAY))
SEL=s$(date -u -d "@$T1" +%Y%m%d)
apply_at $T1
grep -E "next DKIM RSA key|$SEL" "$T/apply.out" | head -3
[ "$(state)" = "active default $T0 next $SEL $T1" ] || die "step 1: state $(state)"
[ -f "$KD/$SEL.private" ] && [ "$(stat -c %a "$KD/$SEL.private")" = 600 ] || die "step 1: no 0600 key $SEL.private"
grep -q "^default._domainkey.example.com " "$E2E_ROOT/etc/opendkim/KeyTable" || die "step 1: KeyTable switched early"
mn_in srv env MAILSTAGE_TEST_NOW=$T1 "$E2E_MS" --root "$E2E_ROOT" dns >"$T/dns1.out"
grep -E '_domainkey' "$T/dns1.out" | cut -c1-90
grep -q "^default._domainkey.example.com\. " "$T/dns1.out" && grep -q "^$SEL._domainkey.example.com\. " "$T/dns1.out" ||
	die "step 1: dns does not show both records"
served "$SEL._domainkey.example.com" && die "step 1: nsd already serves $SEL (the test would prove nothing)"
mail_judged default 1
status_is $T1 "default:active:served $SEL:published-pending:absent"
ok "1. +181 days: next key $SEL made, both records in \`dns\`, KeyTable unchanged; mail signed s=default passes"

# ---- 2: the record not served yet: no switch ----
apply_at $T1
grep -q "waits for its record in DNS" "$T/apply.out" || die "step 2: no 'waits for its record' note: $(cat "$T/apply.out")"
[ "$(state)" = "active default $T0 next $SEL $T1" ] || die "step 2: state changed without DNS: $(state)"
grep -q "^\*@example.com default._domainkey" "$E2E_ROOT/etc/opendkim/SigningTable" || die "step 2: SigningTable switched"
mail_judged default 2
ok "2. record not served: no switch ($(grep -o 'DKIM selector [^:]*' "$T/apply.out" | head -1)); mail still s=default, pass"

# ---- 3: nsd serves the new record: the switch ----
zone_sync $T1
wait_served "$SEL._domainkey.example.com" yes
apply_at $T1
[ "$(state)" = "active $SEL $T1 retiring default $T1" ] || die "step 3: no switch: $(state); $(cat "$T/apply.out")"
grep -q "^$SEL._domainkey.example.com example.com:$SEL:/etc/opendkim/keys/example.com/$SEL.private$" \
	"$E2E_ROOT/etc/opendkim/KeyTable" || die "step 3: KeyTable: $(cat "$E2E_ROOT/etc/opendkim/KeyTable")"
grep -q "^\*@example.com $SEL._domainkey.example.com$" "$E2E_ROOT/etc/opendkim/SigningTable" || die "step 3: SigningTable"
[ -f "$KD/default.private" ] || die "step 3: the old key is gone already"
reload_signers
mail_judged "$SEL" 3
status_is $T1 "$SEL:active:served default:retiring:served"
served default._domainkey.example.com || die "step 3: the old record is not served any more"
ok "3. nsd serves $SEL: switched (state '$(state)'); mail signed s=$SEL passes; old record still published"

# ---- 4: 8 days later: "to remove", verify warns, key kept ----
T2=$((T1 + 8 * DAY))
apply_at $T2
grep -q "retired on .*remove its record default._domainkey.example.com" "$T/apply.out" ||
	die "step 4: no note to remove the record: $(cat "$T/apply.out")"
[ -f "$KD/default.private" ] || die "step 4: the old key was deleted while its record is published"
mn_in srv env MAILSTAGE_TEST_NOW=$T2 "$E2E_MS" --root "$E2E_ROOT" dns >"$T/dns4.out"
grep -E "^default._domainkey.example.com\. .*TO REMOVE" "$T/dns4.out" | cut -c1-60,400- ||
	die "step 4: dns does not list the old record to remove: $(grep _domainkey "$T/dns4.out")"
rc=0
mn_in srv env MAILSTAGE_TEST_NOW=$T2 "$E2E_MS" --root "$E2E_ROOT" --skip "$skip" verify --resolver "$E2E_DNS4:53" \
	>"$T/verify4.out" 2>&1 || rc=$?
grep -A1 -E '^  (ok|WARN|FAIL) +DKIM (record|retired)' "$T/verify4.out"
grep -Eq '^  WARN +DKIM retired record +default\._domainkey\.example\.com is still published' "$T/verify4.out" ||
	die "step 4: verify does not warn on the published retired record"
grep -Eq "^  ok +DKIM record +$SEL\._domainkey\.example\.com matches the key" "$T/verify4.out" ||
	die "step 4: verify does not check the active key $SEL"
mail_judged "$SEL" 4
status_is $T2 "$SEL:active:served default:retired:served"
ok "4. +8 days: dns lists default._domainkey \"TO REMOVE\", verify WARNs, old key kept while published"

# ---- 5: the record removed: the old key deleted (journaled: rollback restores it) ----
cp -p "$KD/default.private" "$T/default.private.before"
zone_sync $T2
wait_served default._domainkey.example.com no
apply_at $T2
[ ! -e "$KD/default.private" ] && [ ! -e "$KD/default.txt" ] || die "step 5: the old key is still there: $(ls "$KD")"
[ "$(state)" = "active $SEL $T1" ] || die "step 5: state $(state)"
run=$(sed -n 's/^run \([0-9]*\) is recorded.*/\1/p' "$T/apply.out")
[ -n "$run" ] || die "step 5: no run number: $(cat "$T/apply.out")"
mn_in srv "$E2E_MS" --root "$E2E_ROOT" rollback "$run" >"$T/rb.out" 2>&1 || die "rollback $run: $(cat "$T/rb.out")"
cmp -s "$KD/default.private" "$T/default.private.before" || die "step 5: rollback did not restore the old key"
[ "$(state)" = "active $SEL $T1 retiring default $T1" ] || die "step 5: rollback did not restore the state: $(state)"
apply_at $T2
[ ! -e "$KD/default.private" ] || die "step 5: the apply after the rollback did not delete the old key"
mail_judged "$SEL" 5
ok "5. record gone from nsd: old key deleted; rollback $run restored it byte for byte, the next apply deleted it again"

# ---- untrusted state ----
cp "$KD/rotation.state" "$T/state.good"
printf 'active ../../etc 1\n' >"$KD/rotation.state"
rc=0
mn_in srv "$E2E_MS" --root "$E2E_ROOT" --skip "$skip" plan >"$T/bad.out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q 'is not a DKIM rotation state: line 1' "$T/bad.out" || die "bad state accepted (exit $rc): $(cat "$T/bad.out")"
cp "$T/state.good" "$KD/rotation.state"
ok "a state file naming '../../etc' is refused: $(grep -o 'is not a DKIM rotation state[^;]*' "$T/bad.out")"
exit 0
