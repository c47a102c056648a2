/*
 * util.h - memory, growable buffers and small string helpers.
 *
 * Allocation failure is fatal (there is nothing useful an installer can do
 * without memory); every other function returns 0 or a negative errno.
 */
#ifndef MAILSTAGE_UTIL_H
#define MAILSTAGE_UTIL_H

#include <stddef.h>
#include <stdarg.h>
#include <sys/types.h>

#define ATTR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* a and b end to end (no format: the paths of every lookup). */
char *xconcat(const char *a, const char *b);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);

/* A growable byte buffer; data is always NUL-terminated (len excludes it). */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_append(struct buf *b, const void *p, size_t n);
/*
 * A bounded sink for a libcurl CURLOPT_WRITEFUNCTION (pass the struct as
 * CURLOPT_WRITEDATA): appends to *buf up to max bytes in all; past that it
 * sets too_big and returns 0, which stops the transfer.  An answer from a
 * server is untrusted input: it never grows without bound.
 */
struct buf_sink {
	struct buf *buf;
	size_t max;
	int too_big;
};
size_t buf_sink_write(char *p, size_t sz, size_t nm, void *arg);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* The strings after b, up to a NULL, appended in order (no format to parse). */
void buf_cat(struct buf *b, ...) __attribute__((sentinel));
void buf_free(struct buf *b);
char *buf_steal(struct buf *b);		/* returns data (never NULL), resets b */

/* A NULL-terminated vector of strings. */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_push(struct strv *s, const char *str);
void strv_free(struct strv *s);

/* Read a whole file by host path. 0, or -errno. *data is NUL-terminated. */
int read_whole_file(const char *path, char **data, size_t *len);
/*
 * A regular file only, never through a symlink as its last component: a
 * FIFO, device or symlink is -EINVAL without blocking; at most max bytes
 * (0: no cap) else -EFBIG.
 */
int read_regular_file(const char *path, size_t max, char **data, size_t *len);
struct stat;
/* The same, with the fstat() of what was read in *sb. */
int read_regular_file_stat(const char *path, size_t max, char **data, size_t *len, struct stat *sb);
/* The rest of fd (at most max bytes when max != 0, else -EFBIG), NUL-terminated. */
int read_fd_whole(int fd, size_t max, char **data, size_t *len);
/* The same for a descriptor whose fstat() the caller has (sb, or NULL: read to end of file). */
int read_fd_known(int fd, const struct stat *sb, size_t max, char **data, size_t *len);
/* Write all bytes to fd, retrying short writes and EINTR. 0 or -errno. */
int write_all(int fd, const void *p, size_t n);
/* Fill buf with n bytes from /dev/urandom (glibc 2.17 has no getrandom). */
int random_bytes(void *buf, size_t n);
/* fsync the directory holding path (or the directory path itself). */
int fsync_dir(const char *dirpath);

/* Quote a string for display as one shell-like word (never executed). */
char *quote_word(const char *s);
/* Join argv for display: "postfix check". */
char *argv_display(char *const argv[]);

/* Strip leading/trailing blanks in place; returns s. */
char *strip(char *s);
/* The value of the first KEY= line of a KEY=VALUE text (blanks before KEY allowed; the value ends at a
 * blank, CR or #), or NULL; caller frees.  SELinux's config is read so (libselinux). */
char *conf_value(const char *text, const char *key);
int str_starts_with(const char *s, const char *prefix);
/* Percent-escape bytes outside [A-Za-z0-9._/+:=,@-] (for journal fields). */
char *field_escape(const char *s);
char *field_unescape(const char *s);
/* A JSON string: "quoted and escaped". */
char *json_str(const char *s);

/*
 * Base64 (RFC 4648, standard alphabet) of d[0..len) appended to out.
 * Whitespace is skipped and the first '=' ends the data.  A byte outside
 * the alphabet gives -EINVAL with its offset in *bad_at (may be NULL).
 */
int base64_decode(const char *d, size_t len, struct buf *out, size_t *bad_at);
/*
 * An absolute path written the one way: "/" then components, none empty,
 * "." or "..", no trailing "/", at most PATH_MAX bytes, no control byte.
 * The form every path mailstage journals has; "/" itself is not one.
 */
int path_is_normal(const char *p);
/* Edit distance, for did-you-mean. */
size_t levenshtein(const char *a, const char *b);

#endif
