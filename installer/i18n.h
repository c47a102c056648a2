/*
 * i18n.h - message translation with glibc's gettext (libintl is part of
 * glibc, EL7 included: no extra library).
 *
 *   _("text")    translated now (printf formats keep their checking: glibc
 *                declares gettext() with the format_arg attribute)
 *   N_("text")   marked for po/mailstage.pot only; translate with _() where
 *                it is shown (stage summaries, tables of texts)
 *   ngettext(singular, plural, n)  for counts ("1 change", "2 changes")
 *
 * Never wrapped: JSON keys, journal field names and the journal MESSAGE
 * formats, zone files and DNS records, diff lines, anything a program
 * parses.  `--json` runs print English throughout (i18n_english()).
 */
#ifndef MAILSTAGE_I18N_H
#define MAILSTAGE_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

#define MAILSTAGE_TEXTDOMAIN "mailstage"

/*
 * setlocale(LC_CTYPE and LC_MESSAGES, "") and bind the text domain to
 * $MAILSTAGE_LOCALEDIR when set (tests, an uninstalled build), else to
 * MAILSTAGE_LOCALEDIR from the Makefile (/usr/share/locale).  Only those
 * two categories: numbers, times and collation stay "C" so nothing
 * mailstage parses or writes depends on the locale.
 */
void i18n_init(void);
/* setlocale(LC_CTYPE, "") once (i18n_init() leaves it "C" when messages are English). */
void i18n_ctype(void);
/* From now on every message is the English original (--json runs). */
void i18n_english(void);

#endif
