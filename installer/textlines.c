/*
 * textlines.c - a configuration file kept as its physical lines, shared by
 * the in-place editors (see textlines.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "textlines.h"

static const struct tl_wording default_wording = {
	"carriage return not followed by a newline", ""
};

int tl_split(struct tlines *tl, const char *text, size_t len, const struct tl_wording *w,
	     char **err)
{
	size_t i = 0, cap = 0;
	int r = 0;

	if (!w)
		w = &default_wording;
	while (i < len) {
		size_t start = i;
		struct tline *l;

		for (; i < len && text[i] != '\n'; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c >= 0x20 && c != 0x7f)
				continue;	/* printable (or UTF-8), nearly every byte */
			if (c == 0) {
				*err = xasprintf("line %zu: NUL byte%s", tl->n + 1, w->hint);
				r = -EINVAL;
				goto out;
			}
			if (c == '\r' && !(i + 1 < len && text[i + 1] == '\n')) {
				*err = xasprintf("line %zu: %s", tl->n + 1, w->cr);
				r = -EINVAL;
				goto out;
			}
			if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
				*err = xasprintf("line %zu: control character 0x%02x%s", tl->n + 1, c,
						 w->hint);
				r = -EINVAL;
				goto out;
			}
		}
		if (i < len)
			i++;
		if (tl->n == cap) {
			cap = cap ? 2 * cap : 64;
			tl->v = xrealloc(tl->v, cap * sizeof(*tl->v));
		}
		l = &tl->v[tl->n++];
		l->len = i - start;
		l->text = xstrndup(text + start, l->len);
	}
out:
	return r;
}

void tl_free(struct tlines *tl)
{
	size_t i;

	for (i = 0; i < tl->n; i++)
		free(tl->v[i].text);
	free(tl->v);
	tl->v = NULL;
	tl->n = 0;
}

char *tl_render(const struct tlines *tl, size_t *len)
{
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < tl->n; i++)
		tl_put(&b, &tl->v[i]);
	if (len)
		*len = b.len;
	return buf_steal(&b);
}

int tl_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

size_t tl_content_len(const struct tline *l)
{
	size_t n = l->len;

	if (n > 0 && l->text[n - 1] == '\n') {
		n--;
		if (n > 0 && l->text[n - 1] == '\r')
			n--;
	}
	return n;
}

const char *tl_eol(const struct tline *l)
{
	size_t c = tl_content_len(l);

	if (c == l->len)
		return "";
	return l->len - c == 2 ? "\r\n" : "\n";
}

const char *tl_default_eol(const struct tlines *tl)
{
	size_t i;

	for (i = tl->n; i > 0; i--) {
		const char *e = tl_eol(&tl->v[i - 1]);
		if (*e)
			return e;
	}
	return "\n";
}

void tl_put(struct buf *b, const struct tline *l)
{
	buf_append(b, l->text, l->len);
}

void tl_put_disabled(struct buf *b, const struct tline *l)
{
	buf_puts(b, TL_DISABLED_PREFIX);
	tl_put(b, l);
}

void tl_terminate(struct buf *b, const char *eol)
{
	if (b->len && b->data[b->len - 1] != '\n')
		buf_puts(b, eol);
}
