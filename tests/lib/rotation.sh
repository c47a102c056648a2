# tests/lib/rotation.sh - helpers of the DKIM rotation tests (sourced after
# tests/lib/e2e.sh by tests/integration/47-dkim-rotation*.sh, which set
# E2E_MS to the test build: its clock is MAILSTAGE_TEST_NOW).
#   rot_init            after e2e_up: KD (the key directory), ZONE (the zone
#                       nsd serves), skip (the stages a scratch root skips)
#   apply_at EPOCH      one apply in the sender's namespace against nsd at that
#                       time; its output in $T/apply.out, dies when it fails
#   state               rotation.state without comments, on one line
#   served NAME         0 when nsd answers a TXT record for NAME
#   zone_sync EPOCH [SELECTOR]   what `mailstage dns --format zone` prints at
#                       EPOCH (without SELECTOR's record), served by nsd
#   wait_served NAME yes|no      until nsd's answer for NAME is that (10 s)
#   reload_signers      SIGUSR1 to the sender's OpenDKIMs (both with Ed25519),
#                       as the services stage restarts them when /etc/opendkim
#                       changed
#   status_is EPOCH "WORD ..."   `mailstage dkim status --json` at EPOCH, one
#                       word per selector, asserted: ROT_STATUS_FMT (a Python
#                       %-format of the selector, the algorithm's first word,
#                       the state and dns; default SEL:ALG:STATE:DNS); the
#                       text form printed after it (the log shows it)

rot_init() {
	KD=$E2E_ROOT/etc/opendkim/keys/example.com
	ZONE=$MN_DIR/dns/nsd/example.com.zone
	skip=$("$E2E_MS" stages | awk '$2 == "packages" || $2 == "services" {print $2}' | paste -sd, -)
}

apply_at() {
	mn_in srv env MAILSTAGE_TEST_NOW="$1" "$E2E_MS" --root "$E2E_ROOT" --skip "$skip" --resolver "$E2E_DNS4:53" \
		apply >"$T/apply.out" 2>&1 || { cat "$T/apply.out"; die "apply at $1 failed"; }
}

state() { grep -v '^#' "$KD/rotation.state" | paste -sd' ' -; }

served() {
	mn_in srv "$MN_PY" -c 'import dns.resolver, sys
r = dns.resolver.Resolver(configure=False); r.nameservers = [sys.argv[1]]
try:
    r.resolve(sys.argv[2], "TXT"); sys.exit(0)
except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
    sys.exit(1)' "$E2E_DNS4" "$1" 2>/dev/null
}

zone_sync() {	# the SOA serial follows the records
	mn_in srv env MAILSTAGE_TEST_NOW="$1" "$E2E_MS" --root "$E2E_ROOT" dns --format zone >"$ZONE.new" ||
		die "mailstage dns --format zone failed"
	if [ -n "${2:-}" ]; then
		grep -v "^$2\._domainkey\." "$ZONE.new" >"$ZONE.cut"
		mv "$ZONE.cut" "$ZONE.new"
	fi
	nsd-checkzone example.com "$ZONE.new" >/dev/null || die "the zone does not load: $(cat "$ZONE.new")"
	mv "$ZONE.new" "$ZONE"
	touch -d '+2 seconds' "$ZONE"
	mn_in dns kill -HUP "$(cat "$MN_DIR/dns/nsd/nsd.pid")"
}

wait_served() {
	local i
	for i in $(seq 1 100); do
		if served "$1"; then [ "$2" = yes ] && return 0; else [ "$2" = no ] && return 0; fi
		sleep 0.1
	done
	die "nsd: $1 served is not $2"
}

reload_signers() {
	mn_in srv /bin/sh -c 'for f in /run/opendkim/opendkim.pid /run/opendkim/opendkim-ed25519.pid; do
		[ ! -f "$f" ] || kill -USR1 "$(cat "$f")"; done'
	sleep 1
}

status_is() {
	local got
	mn_in srv env MAILSTAGE_TEST_NOW="$1" "$E2E_MS" --root "$E2E_ROOT" --json dkim status --resolver "$E2E_DNS4:53" \
		>"$T/status.json" || die "dkim status failed"
	got=$("$MN_PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sys.argv[2] % (s["selector"], s["algorithm"].split("-")[0], s["state"], s["dns"]) for s in d["selectors"]))' \
		"$T/status.json" "${ROT_STATUS_FMT:-%s:%s:%s:%s}")
	[ "$got" = "$2" ] || die "dkim status: $got, expected $2: $(cat "$T/status.json")"
	mn_in srv env MAILSTAGE_TEST_NOW="$1" "$E2E_MS" --root "$E2E_ROOT" dkim status --resolver "$E2E_DNS4:53"
}
