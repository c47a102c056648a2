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

static int ctype_set;

/* The locale's name for category cat as setlocale(cat, "") would find it (POSIX order). */
static const char *locale_env(const char *cat)
{
	const char *v = getenv("LC_ALL");
	if (!v || !*v)
		v = getenv(cat);
	if (!v || !*v)
		v = getenv("LANG");
	return v && *v ? v : "C";
}

static int is_c_locale(const char *name)
{
	return strcmp(name, "C") == 0 || strcmp(name, "POSIX") == 0 || strncmp(name, "C.", 2) == 0;
}

void i18n_init(void)
{
	const char *dir = getenv("MAILSTAGE_LOCALEDIR");
	const char *msgs, *language = getenv("LANGUAGE");

	/*
	 * "C.UTF-8" (the default of containers and CI) or "POSIX" has no
	 * catalogue, yet gettext would look for three of mailstage's and three of
	 * libc's (strerror) on every run; as "C" it answers with the msgid at
	 * once.  Then nothing is loaded at all here (the locale archive, the
	 * alias file, 350 KiB of C.UTF-8's LC_CTYPE: a fifth of a no-op's page
	 * faults), and LC_CTYPE is set when a text's width is first measured
	 * (i18n_ctype()).  Not with LANGUAGE set: "C" would ignore it.
	 */
	if ((!language || !*language) && is_c_locale(locale_env("LC_MESSAGES")))
		goto bind;
	/* LC_CTYPE: the output charset gettext converts to; LC_MESSAGES: the language. */
	i18n_ctype();
	msgs = setlocale(LC_MESSAGES, "");
	if (msgs && (!language || !*language) && is_c_locale(msgs))
		setlocale(LC_MESSAGES, "C");
bind:
	bindtextdomain(MAILSTAGE_TEXTDOMAIN, dir && *dir ? dir : MAILSTAGE_LOCALEDIR);
	textdomain(MAILSTAGE_TEXTDOMAIN);
}

void i18n_ctype(void)
{
	if (!ctype_set) {
		setlocale(LC_CTYPE, "");
		ctype_set = 1;
	}
}

void i18n_english(void)
{
	/* Under the "C" LC_MESSAGES gettext returns the msgid; LANGUAGE is ignored. */
	setlocale(LC_MESSAGES, "C");
}
