#!/bin/bash
# 59-cloud-init.sh - payload/cloud-init/mailstage.yaml with Debian's real
# cloud-init (22.4) in a booted systemd-nspawn host (tests/hosts/build-fleet):
#  - `cloud-init schema` accepts the shipped file as it is;
#  - run by cloud-init itself from a NoCloud seed (its init, config and final
#    stages, started by hand in the booted container: nspawn gives no
#    datasource at boot, and the image has cloud-init disabled for the other
#    tests), the shipped user data writes mailstage.conf 0640, runs
#    `mailstage apply` and prints the DNS records to cloud-init's output;
#    afterwards `mailstage plan` exits 0 (converged).
# What differs from the shipped file, and why: the package comes from the
# test build (bound at /usr/sbin/mailstage) instead of `packages:` and
# `yum_repos:` (an RPM repository for EL; 85-rpm tests the package), and the
# configuration gets this test's port25_probe and an empty rbl (nothing may
# leave the test's network namespace).  A second seed whose apply fails
# (a configuration value mailstage refuses) makes cloud-init report the
# runcmd failure, and nothing is printed as records.
. "$(dirname "$0")/lib.sh"
trap 'echo "FAIL: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR
. "$MAILSTAGE_SRC/tests/hosts/nspawn.sh"

[ "$(id -u)" = 0 ] || die "needs root (systemd-nspawn)"
[ -x "$MAILSTAGE_BIN" ] || die "no $MAILSTAGE_BIN: run make"
CT_IMAGE=$("$MAILSTAGE_SRC/tests/hosts/build-fleet") || die "cannot build the fleet image"
UD=$MAILSTAGE_SRC/payload/cloud-init/mailstage.yaml

seed() {	# seed DIR [EXTRA CONFIG LINE]: a NoCloud seed from the shipped user data
	mkdir -p "$1"
	printf 'instance-id: ms-ci-%s\nlocal-hostname: mail\n' "$$" >"$1/meta-data"
	python3 - "$UD" "$1/user-data" "$CT_HOST_ADDR" "${2:-}" <<'PY'
import sys, yaml
src, dst, probe, extra = sys.argv[1:5]
text = open(src).read()
assert text.startswith('#cloud-config\n')
cfg = yaml.safe_load(text)
cfg.pop('packages'); cfg.pop('yum_repos')
f = cfg['write_files'][0]
f['content'] += 'port25_probe = %s:25\nrbl =\n' % probe + (extra + '\n' if extra else '')
open(dst, 'w').write('#cloud-config\n' + yaml.safe_dump(cfg, sort_keys=False))
PY
}
cinit() {	# cinit: cloud-init's boot stages, in order, as its units run them
	ct_in rm -f /etc/cloud/cloud-init.disabled
	# NoCloud only; no locale generation (the minimal image has no locales
	# package: cc_locale would fail, unrelated to mailstage).
	ct_in sh -c 'printf "datasource_list: [NoCloud]\nlocale: false\n" >/etc/cloud/cloud.cfg.d/99-ms-test.cfg'
	ct_in cloud-init init --local >"$T/ci.log" 2>&1 &&
		ct_in cloud-init init >>"$T/ci.log" 2>&1 &&
		ct_in cloud-init modules --mode=config >>"$T/ci.log" 2>&1 &&
		ct_in cloud-init modules --mode=final >>"$T/ci.log" 2>&1
}

# ---- the schema, on the shipped file as it is
CT_VETH=1 ct_start --bind-ro="$UD:/root/mailstage.yaml" || die "container did not start"
ct_in cloud-init schema --config-file /root/mailstage.yaml >"$T/schema" 2>&1 ||
	{ cat "$T/schema"; die "cloud-init schema rejects payload/cloud-init/mailstage.yaml"; }
ct_stop
ok "cloud-init schema: $(tail -1 "$T/schema")"

# ---- a first boot from the shipped user data
seed "$T/seed"
CT_VETH=1 ct_start --bind-ro="$MAILSTAGE_BIN:/usr/sbin/mailstage" --bind-ro="$T/seed:/var/lib/cloud/seed/nocloud" ||
	die "container did not start"
cinit || { cat "$T/ci.log"; die "cloud-init's stages failed"; }
ct_in cat /var/log/cloud-init-output.log >"$T/out"
grep -q 'apply: .*changed' "$T/out" || grep -q 'changes made' "$T/out" || grep -q '\.\.\. changed' "$T/out" ||
	{ cat "$T/out"; die "no mailstage apply in cloud-init's output"; }
grep -q 'v=DKIM1' "$T/out" && grep -q 'v=spf1 ip4:192.0.2.10' "$T/out" ||
	{ cat "$T/out"; die "the DNS records are not in cloud-init's output"; }
[ "$(ct_in stat -c '%a %U:%G' /etc/mailstage/mailstage.conf)" = "640 root:root" ] || die "mailstage.conf mode/owner"
ct_in cloud-init status --long >"$T/st" 2>&1 || true
grep -q 'status: done' "$T/st" || { cat "$T/st"; die "cloud-init status is not done"; }
grep -q 'errors: \[\]' "$T/st" || ! grep -q 'errors:' "$T/st" || { cat "$T/st"; die "cloud-init reports errors"; }
expect_rc 0 ct_in mailstage plan >/dev/null 2>&1
ct_stop
ok "first boot from the shipped user data: mailstage.conf 0640, apply converged (plan exits 0), records printed"

# ---- a failing apply: cloud-init reports it, no records printed
seed "$T/seed2" 'dmarc_policy = bogus'
CT_VETH=1 ct_start --bind-ro="$MAILSTAGE_BIN:/usr/sbin/mailstage" --bind-ro="$T/seed2:/var/lib/cloud/seed/nocloud" ||
	die "container did not start"
cinit || true
ct_in cat /var/log/cloud-init-output.log >"$T/out2"
ct_in cloud-init status --long >"$T/st2" 2>&1 || true
grep -q '^status: error' "$T/st2" && grep -q "scripts-user.*failures (runcmd)" "$T/st2" ||
	{ cat "$T/st2" "$T/out2"; die "cloud-init does not report the failed apply"; }
grep -q 'mailstage: .*dmarc_policy' "$T/out2" || { cat "$T/out2"; die "mailstage's message is not in cloud-init's output"; }
! grep -q 'v=spf1' "$T/out2" || die "records printed after a failed apply"
ct_stop
ok "a refused configuration: cloud-init reports the runcmd failure with mailstage's message, no records printed"
