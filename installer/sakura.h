/*
 * sakura.h - the Sakura VPS API (v7) client: HTTPS through libcurl
 * (dlopen()ed, lazylib.h), the key read through the confined read path,
 * bounded timeouts, 429 honoured; and the small JSON reader its answers
 * need (the answers are untrusted input: tests/fuzz/fuzz_sakura.c).
 *
 * Reference: https://manual.sakura.ad.jp/vps/api/api-doc/ (base
 * https://secure.sakura.ad.jp/vps/api/v7, "Authorization: Bearer KEY",
 * 100 requests a minute per account, 429 with Retry-After in seconds).
 */
#ifndef MAILSTAGE_SAKURA_H
#define MAILSTAGE_SAKURA_H

#include <stddef.h>
#include "root.h"
#include "util.h"
#include "json.h"

#define SAKURA_API_DEFAULT "https://secure.sakura.ad.jp/vps/api/v7"

struct sakura {
	char *base;		/* API base URL, no trailing slash */
	char *key;		/* the API key: never printed, logged or journalled */
	char *key_file;		/* where it came from (inside the root) */
	char *ca_file;		/* host path of a CA bundle, or NULL for the system's */
	char *ca_in_root;	/* the same, as configured (inside the root) */
	long server_id;
	int timeout_s;		/* per request, connect included */
	int max_wait_s;		/* longest Retry-After honoured */
};

/*
 * Read the key from key_file (a path inside root): a regular file owned by
 * root, mode 0600 or stricter.  0; -EACCES when it is not safe (*why names
 * the file and the fix: exit 77); -EINVAL for an unusable key or URL, other
 * -errno (*why) when it cannot be read (exit 78).
 */
int sakura_open(struct sakura *s, const struct root *root, const char *base, const char *key_file,
		const char *ca_file, long server_id, char **why);
void sakura_close(struct sakura *s);

/*
 * METHOD base+path, with a JSON body when body != NULL.  0 with *status and
 * the body in *resp (NUL-terminated); -ETIMEDOUT / -EIO with *why (the key
 * never in it).  429 is retried after Retry-After (at most max_wait_s, at
 * most 3 tries); *status is then the last answer's.
 */
int sakura_request(struct sakura *s, const char *method, const char *path, const char *body, long *status,
		   struct buf *resp, char **why);

/* Is URL acceptable as an API base: https://, or http:// to a loopback address? */
int sakura_url_ok(const char *url);

#endif
