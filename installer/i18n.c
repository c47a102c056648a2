/*
 * i18n.c - locale and text domain set-up for the translated messages
 * (po/ja.po; see i18n.h for what is translated and what never is).
 */
#include "i18n.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#ifndef MAILSTAGE_LOCALEDIR
#define MAILSTAGE_LOCALEDIR "/usr/share/locale"
#endif

void i18n_init(void)
{
	const char *dir = getenv("MAILSTAGE_LOCALEDIR");

	const char *msgs, *language = getenv("LANGUAGE");

	/* LC_CTYPE: the output charset gettext converts to; LC_MESSAGES: the language. */
	setlocale(LC_CTYPE, "");
	msgs = setlocale(LC_MESSAGES, "");
	/*
	 * "C.UTF-8" (the default of containers and CI) or "POSIX" has no
	 * catalogue, yet gettext would look for three of mailstage's and three of
	 * libc's (strerror) on every run; as "C" it answers with the msgid at
	 * once.  Not with LANGUAGE set: "C" would ignore it.
	 */
	if (msgs && (!language || !*language) && (strcmp(msgs, "POSIX") == 0 || strncmp(msgs, "C.", 2) == 0))
		setlocale(LC_MESSAGES, "C");
	bindtextdomain(MAILSTAGE_TEXTDOMAIN, dir && *dir ? dir : MAILSTAGE_LOCALEDIR);
	textdomain(MAILSTAGE_TEXTDOMAIN);
}

void i18n_english(void)
{
	/* Under the "C" LC_MESSAGES gettext returns the msgid; LANGUAGE is ignored. */
	setlocale(LC_MESSAGES, "C");
}
