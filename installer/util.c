/*
 * util.c - memory, growable buffers and small string helpers.
 */
#include "i18n.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>

/* Said here, not with msg_fatal(): util is the floor msg.c stands on. */
static void oom(void)
{
	fprintf(stderr, "mailstage: %s\n", _("out of memory"));
	exit(EX_OSERR);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *xconcat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = xmalloc(la + lb + 1);
	memcpy(p, a, la);
	memcpy(p + la, b, lb + 1);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

static void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

size_t buf_sink_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct buf_sink *s = arg;
	size_t n = sz * nm;
	if (nm && n / nm != sz)
		n = (size_t)-1;
	if (n > s->max || s->buf->len > s->max - n) {
		s->too_big = 1;
		return 0;
	}
	buf_append(s->buf, p, n);
	return n;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* Formatted straight into the buffer's room (grown and formatted again when it does not fit). */
void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();	/* as xvasprintf(): only a result over INT_MAX bytes fails */
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void buf_cat(struct buf *b, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, b);
	while ((s = va_arg(ap, const char *)))
		buf_append(b, s, strlen(s));
	va_end(ap);
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_steal(struct buf *b)
{
	char *p;
	if (!b->data)
		buf_grow(b, 0), b->data[0] = 0;
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void strv_push(struct strv *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = xstrdup(str);
	s->v[s->n] = NULL;
}

void strv_free(struct strv *s)
{
	size_t i;
	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int read_fd_whole(int fd, size_t max, char **data, size_t *len)
{
	struct stat sb;

	return read_fd_known(fd, fstat(fd, &sb) == 0 ? &sb : NULL, max, data, len);
}

int read_fd_known(int fd, const struct stat *sb, size_t max, char **data, size_t *len)
{
	struct buf b = { 0 };
	size_t want, size = 0;
	ssize_t n;
	int regular = sb && S_ISREG(sb->st_mode) && sb->st_size >= 0;

	/*
	 * Straight into the buffer, sized from fstat() for a regular file: one
	 * read() of size + 1 that comes back short is its end (a file that
	 * grew meanwhile is read on), instead of a 64 KiB bounce buffer on the
	 * stack and a second read() for the end of file.
	 */
	if (regular)
		size = (size_t)sb->st_size;
	regular = size > 0;	/* /proc and /sys files say 0 and have more: read to read()'s 0 */
	if (max && size > max)
		return -EFBIG;
	if (regular) {
		b.cap = size + 2;	/* size + 1 to ask (a short read is the end) and the NUL: no slack */
		b.data = xmalloc(b.cap);
	} else {
		buf_grow(&b, 4096);
	}
	for (;;) {
		want = b.cap - b.len - 1;
		if (want == 0) {
			buf_grow(&b, b.cap);
			continue;
		}
		n = read(fd, b.data + b.len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -errno;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (max && b.len > max) {
			buf_free(&b);
			return -EFBIG;
		}
		if (regular && (size_t)n < want && b.len >= size)
			break;
	}
	b.data[b.len] = 0;
	if (len)
		*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

int read_regular_file(const char *path, size_t max, char **data, size_t *len)
{
	return read_regular_file_stat(path, max, data, len, NULL);
}

int read_regular_file_stat(const char *path, size_t max, char **data, size_t *len, struct stat *st)
{
	struct stat sb;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &sb) < 0)
		r = -errno;
	else if (!S_ISREG(sb.st_mode))
		r = -EINVAL;
	else
		r = read_fd_known(fd, &sb, max, data, len);
	close(fd);
	if (r == 0 && st)
		*st = sb;
	return r;
}

int read_whole_file(const char *path, char **data, size_t *len)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = read_fd_whole(fd, 0, data, len);
	close(fd);
	return r;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int random_bytes(void *buf, size_t n)
{
	char *c = buf;
	int fd, r = 0;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n > 0) {
		ssize_t got = read(fd, c, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : -EIO;
			break;
		}
		c += got;
		n -= (size_t)got;
	}
	close(fd);
	return r;
}

int fsync_dir(const char *dirpath)
{
	int fd, r = 0;
	fd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	close(fd);
	return r;
}

static int plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr("._/+:=,@-", c) != NULL;
}

char *quote_word(const char *s)
{
	struct buf b = { 0 };
	const char *p;
	int plain = *s != 0;

	for (p = s; *p; p++)
		if (!plain_char((unsigned char)*p))
			plain = 0;
	if (plain)
		return xstrdup(s);
	buf_puts(&b, "'");
	for (p = s; *p; p++) {
		if (*p == '\'')
			buf_puts(&b, "'\\''");
		else
			buf_append(&b, p, 1);
	}
	buf_puts(&b, "'");
	return buf_steal(&b);
}

char *argv_display(char *const argv[])
{
	struct buf b = { 0 };
	size_t i;
	for (i = 0; argv[i]; i++) {
		char *q = quote_word(argv[i]);
		if (i)
			buf_puts(&b, " ");
		buf_puts(&b, q);
		free(q);
	}
	return buf_steal(&b);
}

char *strip(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

int str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *field_escape(const char *s)
{
	struct buf b = { 0 };
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	if (!*s)
		return xstrdup("%");	/* the empty string, kept distinct from a missing field */
	for (p = (const unsigned char *)s; *p; p++) {
		if (plain_char(*p)) {
			buf_append(&b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			buf_append(&b, e, 3);
		}
	}
	return buf_steal(&b);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *field_unescape(const char *s)
{
	char *out, *o;
	const char *p;

	if (strcmp(s, "%") == 0)
		return xstrdup("");
	/* Never longer than the escaped form: one allocation, byte by byte into it. */
	o = out = xmalloc(strlen(s) + 1);
	for (p = s; *p; p++) {
		if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

int path_is_normal(const char *p)
{
	const unsigned char *c = (const unsigned char *)p;
	size_t n = 0;

	if (*c != '/' || strlen(p) >= 4096)
		return 0;
	while (*c) {
		const unsigned char *start = ++c;	/* past the '/' */
		while (*c && *c != '/') {
			if (*c < 0x20 || *c == 0x7f)
				return 0;
			c++;
		}
		n = (size_t)(c - start);
		if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
			return 0;
	}
	return 1;
}

size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, r;
	size_t *prev = xcalloc(lb + 1, sizeof(size_t)), *cur = xcalloc(lb + 1, sizeof(size_t)), *t;

	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			cur[j] = del < ins ? del : ins;
			if (sub < cur[j])
				cur[j] = sub;
		}
		t = prev, prev = cur, cur = t;
	}
	r = prev[lb];
	free(prev);
	free(cur);
	return r;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n, i;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong, surrogate or beyond U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 (a Latin-1 main.cf comment) become
 * U+FFFD, so that the output always parses. */
char *json_str(const char *s)
{
	struct buf b = { 0 };
	const unsigned char *p;
	size_t n;
	buf_puts(&b, "\"");
	for (p = (const unsigned char *)(s ? s : ""); *p; p += n) {
		n = 1;
		if (*p == '"' || *p == '\\')
			buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(&b, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(&b, "\\u%04x", *p);
		else if ((n = utf8_len(p)) == 0) {
			buf_puts(&b, "\\ufffd");
			n = 1;
		} else
			buf_append(&b, p, n);
	}
	buf_puts(&b, "\"");
	return buf_steal(&b);
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int base64_decode(const char *d, size_t len, struct buf *out, size_t *bad_at)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)d[i], v;
		if (c == '=')
			break;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if ((v = b64val(c)) < 0) {
			if (bad_at)
				*bad_at = i;
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			char ch = (char)((acc >> (bits - 8)) & 0xff);
			bits -= 8;
			buf_append(out, &ch, 1);
		}
	}
	return 0;
}

char *conf_value(const char *text, const char *key)
{
	const char *p = text;
	size_t kl = strlen(key);

	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, strcspn(p + kl + 1, " \t\r\n#"));
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}
