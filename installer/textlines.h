/*
 * textlines.h - a configuration file kept as its physical lines: the line
 * storage shared by the in-place editors (maincf, mastercf, dkimconf,
 * kvfile).
 *
 * Every line keeps its bytes as read, line end included ("\n", "\r\n", or
 * none for an unterminated last line), so rendering an unedited file gives
 * the input back byte for byte.  An editor keeps its own per-line data in a
 * parallel array and edits by building the new text with tl_put*() and
 * parsing that again.
 */
#ifndef MAILSTAGE_TEXTLINES_H
#define MAILSTAGE_TEXTLINES_H

#include <stddef.h>

#include "util.h"

/* What a disabled line is prefixed with (the editors' public
 * *_DISABLED_PREFIX macros spell the same string). */
#define TL_DISABLED_PREFIX "#mailstage: "

struct tline {
	char *text;		/* NUL-terminated copy */
	size_t len;		/* including the line end */
};

struct tlines {
	struct tline *v;
	size_t n;
};

/* How tl_split() words its errors after "line N: ".  NULL gives
 * "NUL byte", "carriage return not followed by a newline" and
 * "control character 0xNN"; hint is appended to the NUL and control
 * character reasons. */
struct tl_wording {
	const char *cr;
	const char *hint;
};

/* Split text[0..len) (need not be NUL-terminated) into tl, which must be
 * empty.  0, or -EINVAL with *err = "line N: reason" (malloc'd) for a NUL
 * byte, a control character other than tab, or a carriage return not
 * before a newline; the lines before the bad one are then kept in tl. */
int tl_split(struct tlines *tl, const char *text, size_t len, const struct tl_wording *w,
	     char **err);
void tl_free(struct tlines *tl);	/* leaves tl empty */

/* The whole text; malloc'd, NUL-terminated; *len (optional) gets its size. */
char *tl_render(const struct tlines *tl, size_t *len);

int tl_is_blank(int c);				/* space or tab */
size_t tl_content_len(const struct tline *l);	/* without "\n" or "\r\n" */
const char *tl_eol(const struct tline *l);	/* "\n", "\r\n" or "" */
/* The line end for new lines: that of the last line having one, or "\n". */
const char *tl_default_eol(const struct tlines *tl);

/* Building a new text: line l as it is, or disabled (TL_DISABLED_PREFIX
 * before it); tl_terminate() ends a non-empty b with eol unless it already
 * ends with a newline. */
void tl_put(struct buf *b, const struct tline *l);
void tl_put_disabled(struct buf *b, const struct tline *l);
void tl_terminate(struct buf *b, const char *eol);

#endif
