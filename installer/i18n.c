/*
 * i18n.c - locale and text domain set-up for the translated messages
 * (po/ja.po; see i18n.h for what is translated and what never is).
 */
#include "i18n.h"

#include <locale.h>
#include <stdlib.h>

#ifndef MAILSTAGE_LOCALEDIR
#define MAILSTAGE_LOCALEDIR "/usr/share/locale"
#endif

void i18n_init(void)
{
	const char *dir = getenv("MAILSTAGE_LOCALEDIR");

	/* LC_CTYPE: the output charset gettext converts to; LC_MESSAGES: the language. */
	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	bindtextdomain(MAILSTAGE_TEXTDOMAIN, dir && *dir ? dir : MAILSTAGE_LOCALEDIR);
	textdomain(MAILSTAGE_TEXTDOMAIN);
}

void i18n_english(void)
{
	/* Under the "C" LC_MESSAGES gettext returns the msgid; LANGUAGE is ignored. */
	setlocale(LC_MESSAGES, "C");
}
