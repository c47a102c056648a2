#!/bin/bash
# Unsafe modes are drift (issue 10), and the administrator's certbot layout
# is accepted:
#   - main.cf, master.cf, opendkim.conf at 0666 and /etc/postfix at 0777:
#     plan reports each (exit 2), apply repairs them (owner and the rest of
#     the mode kept), a second plan is converged (measured before: kept, no
#     warning, plan said converged);
#   - a configured certificate in certbot's layout (live/NAME/*.pem relative
#     symlinks into archive/NAME/, inside the root) is accepted (before:
#     "cannot be read"); its key at 0644 is made 0640 on the file the link
#     leads to, the symlinks stay.
. "$(dirname "$0")/lib.sh"

mkroot "$T/r" debian12
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>/dev/null || die "setup: apply failed"
chmod 0666 "$T/r/etc/postfix/main.cf" "$T/r/etc/postfix/master.cf" "$T/r/etc/opendkim.conf"
chmod 0777 "$T/r/etc/postfix"
rc=0
ms "${SCRATCH[@]}" --root "$T/r" plan >"$T/plan" 2>&1 || rc=$?
[ $rc = 2 ] || { cat "$T/plan"; die "unsafe modes: plan exited $rc, expected 2 (pending)"; }
for f in /etc/postfix/main.cf /etc/postfix/master.cf /etc/opendkim.conf; do
	grep -q "set $f to 0644 root:root (now 0666 root:root)" "$T/plan" || { cat "$T/plan"; die "plan does not report $f"; }
done
grep -q 'set /etc/postfix to 0755 root:root (now 0777 root:root)' "$T/plan" || { cat "$T/plan"; die "plan does not report /etc/postfix"; }
ms "${SCRATCH[@]}" --root "$T/r" -q apply 2>"$T/err" || { cat "$T/err"; die "apply failed"; }
[ "$(stat -c %a "$T/r/etc/postfix/main.cf" "$T/r/etc/postfix/master.cf" "$T/r/etc/opendkim.conf" "$T/r/etc/postfix" | paste -sd' ')" = "644 644 644 755" ] ||
	die "modes not repaired: $(stat -c '%n %a' "$T/r/etc/postfix/main.cf" "$T/r/etc/postfix" "$T/r/etc/opendkim.conf")"
ms "${SCRATCH[@]}" --root "$T/r" plan >"$T/plan" 2>&1 || { cat "$T/plan"; die "not converged after the repair"; }
ok "group/other-writable configs and /etc/postfix: reported by plan, repaired by apply"

# certbot's layout, inside the root.
rm -rf "$T/r" && mkroot "$T/r" debian12
le=$T/r/etc/letsencrypt
mkdir -p "$le/archive/mail.example.com" "$le/live/mail.example.com"
openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj /CN=mail.example.com \
	-addext subjectAltName=DNS:mail.example.com -keyout "$le/archive/mail.example.com/privkey1.pem" \
	-out "$le/archive/mail.example.com/fullchain1.pem" 2>/dev/null || die "setup: openssl req failed"
chmod 0644 "$le/archive/mail.example.com/privkey1.pem"
ln -s ../../archive/mail.example.com/fullchain1.pem "$le/live/mail.example.com/fullchain.pem"
ln -s ../../archive/mail.example.com/privkey1.pem "$le/live/mail.example.com/privkey.pem"
printf 'tls_cert = /etc/letsencrypt/live/mail.example.com/fullchain.pem\ntls_key = /etc/letsencrypt/live/mail.example.com/privkey.pem\n' \
	>>"$T/r/etc/mailstage/mailstage.conf"
ms --root "$T/r" --only tls plan >"$T/plan" 2>&1 && die "plan: the readable key is not drift"
grep -q 'set /etc/letsencrypt/archive/mail.example.com/privkey1.pem to 0640 root:root (now 0644 root:root)' "$T/plan" ||
	{ cat "$T/plan"; die "plan does not report the key mode on the link's target"; }
if grep -q 'cannot be read' "$T/plan"; then cat "$T/plan"; die "certbot layout refused"; fi
ms --root "$T/r" --only tls -q apply 2>"$T/err" || { cat "$T/err"; die "apply with the certbot layout failed"; }
[ "$(stat -c %a "$le/archive/mail.example.com/privkey1.pem")" = 640 ] || die "key mode not repaired"
[ -L "$le/live/mail.example.com/privkey.pem" ] && [ -L "$le/live/mail.example.com/fullchain.pem" ] || die "the live/ symlinks were replaced"
ms --root "$T/r" --only tls plan >/dev/null 2>&1 || die "tls not converged after the repair"
# A link that climbs out of the root is still refused.
ln -sfn "../../../../../../../../..$T/elsewhere.pem" "$le/live/mail.example.com/privkey.pem"
rc=0
ms --root "$T/r" --only tls plan >"$T/plan" 2>&1 || rc=$?
grep -q 'points outside the root' "$T/plan" || { cat "$T/plan"; die "a key link out of the root not refused"; }
ok "certbot layout (live/ -> archive/ inside the root) accepted; its 0644 key made 0640 on the target; a link out refused"

# A configured certificate that is a sparse 2 GB file, or a link to /dev/zero, is not read whole
# (measured: 2.1 GB RSS): refused at once, naming it.
rm -rf "$T/r" && mkroot "$T/r" debian12
truncate -s 2G "$T/r/etc/ssl/certs/big.pem"
mkdir -p "$T/r/dev" && ln -s /dev/zero "$T/r/etc/ssl/private/zero.key"
for pair in "/etc/ssl/certs/big.pem /etc/ssl/certs/big.pem" "/etc/ssl/certs/big.pem /etc/ssl/private/zero.key"; do
	set -- $pair
	cp payload/mailstage.conf "$T/r/etc/mailstage/mailstage.conf"
	printf 'tls_cert = %s\ntls_key = %s\n' "$1" "$2" >>"$T/r/etc/mailstage/mailstage.conf"
	rc=0
	/usr/bin/time -f '%M' -o "$T/rss" timeout 20 "$MAILSTAGE_BIN" --root "$T/r" --only tls plan >"$T/plan" 2>&1 || rc=$?
	[ $rc != 124 ] || die "tls_cert $1: plan hung"
	grep -q 'cannot be read' "$T/plan" || { cat "$T/plan"; die "tls_cert $1 / tls_key $2: not refused"; }
	[ "$(tail -1 "$T/rss")" -lt 200000 ] || die "tls_cert $1: plan used $(tail -1 "$T/rss") KiB"
done
ok "a sparse 2 GB certificate or a /dev/zero key: refused without reading it ($(tail -1 "$T/rss") KiB peak)"
