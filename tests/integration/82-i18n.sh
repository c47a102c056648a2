#!/bin/bash
# 82-i18n - Japanese messages (po/ja.po) under LANG=ja_JP.UTF-8: --help, the
# progress lines and change list of a plan, a configuration error, a verify
# report; `--json` output byte for byte the English one; po/ja.po complete
# and po/mailstage.pot up to date with the sources.
#
# The ja_JP.UTF-8 locale is compiled by the test itself with localedef into
# $T and found through LOCPATH (the host's locale archive is not touched);
# the catalog comes from build/locale (make mo) through MAILSTAGE_LOCALEDIR.
. "$(dirname "$0")/lib.sh"
cd "$MAILSTAGE_SRC"

[ -f build/locale/ja/LC_MESSAGES/mailstage.mo ] || make -s mo >/dev/null
if locale -a 2>/dev/null | grep -qix 'ja_JP.utf8'; then
	LOCDIR=
else
	[ -f /usr/share/i18n/locales/ja_JP ] || die "no ja_JP locale source: install the locales package (tests/deps test)"
	LOCDIR=$T/locale
	mkdir -p "$LOCDIR"
	localedef -i ja_JP -f UTF-8 "$LOCDIR/ja_JP.UTF-8" || die "localedef ja_JP.UTF-8 failed"
fi
ja() { env -u LC_ALL -u LANGUAGE ${LOCDIR:+LOCPATH=$LOCDIR} LANG=ja_JP.UTF-8 \
	MAILSTAGE_LOCALEDIR="$MAILSTAGE_SRC/build/locale" "$@"; }
en() { env LC_ALL=C MAILSTAGE_LOCALEDIR="$MAILSTAGE_SRC/build/locale" "$@"; }
has() {	# has FILE TEXT WHAT
	grep -qF -- "$2" "$1" || { sed 's/^/    /' "$1" | head -n 30; die "$3: no \"$2\" in the output above"; }
}

# ---- --help
ja "$MAILSTAGE_BIN" --help >"$T/help"
has "$T/help" "使い方: mailstage [オプション] コマンド" "--help"
has "$T/help" "終了コード:" "--help"
has "$T/help" "apply            すべてのステージを収束させる" "--help"
en "$MAILSTAGE_BIN" --help | grep -q '^Usage: mailstage' || die "--help under LC_ALL=C is not English"
ok "--help in Japanese; English under LC_ALL=C"

# ---- usage error
rc=0; ja "$MAILSTAGE_BIN" --bogus 2>"$T/usage" || rc=$?
[ $rc -eq 64 ] || die "unknown option exited $rc, expected 64"
has "$T/usage" "mailstage: 不明なオプション --bogus です" "usage error"
ok "usage error in Japanese"

# ---- plan on a scratch root: progress lines (stderr), changes (stdout)
mkroot "$T/r" debian12 >/dev/null
rc=0; ja "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" plan >"$T/plan.out" 2>"$T/plan.err" || rc=$?
[ $rc -eq 2 ] || { cat "$T/plan.err"; die "plan exited $rc, expected 2 (changes pending)"; }
has "$T/plan.err" "] preflight ... " "plan progress"
has "$T/plan.err" "] tls ... 未適用の変更あり" "plan progress"
has "$T/plan.err" "plan: 未適用の変更 " "plan summary"
has "$T/plan.err" "mailstage: 警告: " "plan warnings"
has "$T/plan.out" "tls: 変更 " "plan change list"
has "$T/plan.out" "ディレクトリ /etc/opendkim を作成 (0750 root:opendkim)" "plan change list"
# The diff lines are not translated: the same as in English.
en "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" plan >"$T/plan-en.out" 2>/dev/null || true
diff <(grep -E '^    ([-+@ ]|\\)' "$T/plan.out") <(grep -E '^    ([-+@ ]|\\)' "$T/plan-en.out") >/dev/null ||
	die "the unified diff lines of the plan differ between Japanese and English"
ok "plan: progress lines, change descriptions and warnings in Japanese; diff lines unchanged"

# ---- --json: byte for byte the English output (plan, stages, status)
for args in "plan --json" "stages --json" "status --json"; do
	# shellcheck disable=SC2086
	ja "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" $args >"$T/ja.json" 2>/dev/null || true
	# shellcheck disable=SC2086
	en "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" $args >"$T/en.json" 2>/dev/null || true
	[ -s "$T/en.json" ] || die "$args printed nothing"
	cmp -s "$T/ja.json" "$T/en.json" || { diff "$T/en.json" "$T/ja.json" | head; die "$args differs under ja_JP.UTF-8"; }
done
ok "--json output (plan, stages, status) identical to the English run"

# ---- configuration error
sed -i 's/^ipv4 *=.*/ipv4 = 192.0.2.300/' "$T/r/etc/mailstage/mailstage.conf"
grep -q '^ipv4 = 192.0.2.300' "$T/r/etc/mailstage/mailstage.conf" || die "test set-up: no ipv4 line in the scratch configuration"
rc=0; ja "$MAILSTAGE_BIN" --root "$T/r" "${SCRATCH[@]}" plan >/dev/null 2>"$T/conf.err" || rc=$?
[ $rc -eq 78 ] || die "bad configuration: exit $rc, expected 78"
has "$T/conf.err" 'ipv4 の値 "192.0.2.300" は IPv4 アドレスではありません' "configuration error"
has "$T/conf.err" "mailstage: エラー: 設定が正しくありません: 何も変更していません" "configuration error"
sed -i 's/^ipv4 = 192.0.2.300/ipv4 = 192.0.2.10/' "$T/r/etc/mailstage/mailstage.conf"
ok "configuration error in Japanese"

# ---- verify report (scratch root; DNS asked of a closed local port, so no network is used)
rc=0; ja "$MAILSTAGE_BIN" --root "$T/r" verify --resolver 127.0.0.1:9 --timeout 1 >"$T/verify" 2>&1 || rc=$?
[ $rc -ne 0 ] || die "verify on an unconfigured scratch root passed"
has "$T/verify" "サービス" "verify report"
has "$T/verify" "期待値: ホスト名用の証明書と鍵" "verify report"
has "$T/verify" "対処: mailstage apply を実行してください" "verify report"
grep -qE '^[0-9]+ 正常 |^正常 [0-9]+ 件、警告 [0-9]+ 件、失敗 [0-9]+ 件$' "$T/verify" || die "verify summary line not in Japanese"
ok "verify report in Japanese (check names, expected/fix texts, summary)"

# ---- the catalog: complete, and made from the current sources
msgfmt -c --statistics -o /dev/null po/ja.po 2>"$T/stat" || { cat "$T/stat"; die "msgfmt -c po/ja.po failed"; }
grep -Eq '^[0-9]+ translated messages\.$' "$T/stat" || { cat "$T/stat"; die "po/ja.po has fuzzy or untranslated messages"; }
make -s pot POT_OUT="$T/new.pot" >/dev/null
ids() { msgcat --no-wrap --sort-output "$1" | grep -E '^msgid(_plural)? '; }
diff <(ids po/mailstage.pot) <(ids "$T/new.pot") >"$T/potdiff" ||
	{ head -20 "$T/potdiff"; die "po/mailstage.pot is out of date: run make pot, translate the new messages in po/ja.po"; }
msgmerge -q --no-wrap -o "$T/merged.po" po/ja.po "$T/new.pot"
msgfmt -c --statistics -o /dev/null "$T/merged.po" 2>"$T/stat2"
grep -Eq '^[0-9]+ translated messages\.$' "$T/stat2" ||
	{ cat "$T/stat2"; die "po/ja.po does not translate every message of the sources"; }
ok "po/ja.po complete ($(cat "$T/stat")); po/mailstage.pot matches the sources"
