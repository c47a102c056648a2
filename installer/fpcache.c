/*
 * fpcache.c - remembered crypto answers for unchanged files (see fpcache.h),
 * and the SHA-256 (FIPS 180-4) that fingerprints their bytes: a few
 * microseconds for a key or certificate, without loading libcrypto.
 */
#include "fpcache.h"
#include "atomic.h"
#include "crypto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_FILE "fingerprints"
#define FP_MAX (64u << 10)		/* a handful of lines */
#define FP_ENTRIES 64
#define CERT_MARGIN (31L * 86400)	/* a certificate this close to expiry is checked in full */

/* ---- SHA-256 ---- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7] +
		       (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest = len % 64, n = len - rest, tl, i;
	uint64_t bits = (uint64_t)len * 8;

	for (i = 0; i < n; i += 64)
		sha256_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	if (rest)
		memcpy(tail, p + n, rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (i = 0; i < tl; i += 64)
		sha256_block(h, tail + i);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", h[i]);
}

/* ---- the records ---- */

struct entry {
	char *key;		/* "op|args|fingerprint..." */
	char *value;
	int used;		/* looked up or made by this run */
};

static struct entry cache[FP_ENTRIES];
static size_t ncache;
static int dirty;		/* something new to save */

/*
 * The SHA-256 of the last few files fingerprinted: a run reads the TLS key
 * and the DKIM key in two stages each, and hashes each once.  Matched on
 * the bytes themselves (a copy), so a file that changed is hashed again.
 */
#define SHA_MEMO 4
static struct {
	char *data;
	size_t len;
	char sha[65];
} memo[SHA_MEMO];
static unsigned memo_next;

static void memo_sha256(const char *data, size_t len, char sha[65])
{
	unsigned i;
	for (i = 0; i < SHA_MEMO; i++)
		if (memo[i].data && memo[i].len == len && memcmp(memo[i].data, data, len) == 0) {
			memcpy(sha, memo[i].sha, 65);
			return;
		}
	sha256_hex(data, len, sha);
	i = memo_next++ % SHA_MEMO;
	free(memo[i].data);
	memo[i].data = xmalloc(len + 1);
	memcpy(memo[i].data, data, len);
	memo[i].len = len;
	memcpy(memo[i].sha, sha, 65);
}

void fpcache_reset(void)
{
	unsigned m;
	for (m = 0; m < SHA_MEMO; m++) {
		free(memo[m].data);
		memo[m].data = NULL;
	}
	size_t i;

	for (i = 0; i < ncache; i++) {
		free(cache[i].key);
		free(cache[i].value);
	}
	memset(cache, 0, sizeof(cache));
	ncache = 0;
	dirty = 0;
}

static int clean_text(const char *s)
{
	return s && !strpbrk(s, "\t\n");
}

static void put(const char *key, const char *value)
{
	size_t i;

	if (!clean_text(key) || !clean_text(value))
		return;
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key) == 0)
			break;
	if (i == ncache) {
		/* Full: the place of a record this run did not use, if any. */
		if (ncache == FP_ENTRIES) {
			for (i = 0; i < ncache && cache[i].used; i++)
				;
			if (i == ncache)
				return;
			free(cache[i].key);
			free(cache[i].value);
			cache[i].key = xstrdup(key);
		} else {
			cache[ncache++].key = xstrdup(key);
		}
	} else {
		free(cache[i].value);
	}
	cache[i].value = xstrdup(value);
	cache[i].used = 1;
	dirty = 1;
}

static const char *get(const char *key)
{
	size_t i;

	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key) == 0) {
			cache[i].used = 1;
			return cache[i].value;
		}
	return NULL;
}

/*
 * "PATH dev ino size mtime ctime sha256" of the file at path in root, whose
 * bytes were just read into data; NULL when it cannot be taken (no caching).
 */
static char *fingerprint(const struct root *root, const char *path, const char *data, size_t len)
{
	char *host = NULL, *why = NULL, *fp = NULL, sha[65];
	struct stat sb;

	if (!root || !path || root_resolve(root, path, &host, &why) < 0 || stat(host, &sb) < 0 ||
	    !S_ISREG(sb.st_mode) || (size_t)sb.st_size != len)
		goto out;
	memo_sha256(data, len, sha);
	fp = xasprintf("%s %llu %llu %llu %lld.%09ld %lld.%09ld %s", path, (unsigned long long)sb.st_dev,
		       (unsigned long long)sb.st_ino, (unsigned long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
		       sb.st_mtim.tv_nsec, (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec, sha);
out:
	free(host);
	free(why);
	return fp;
}

int fp_key_info(const struct root *root, const char *path, const char *pem, size_t len, int *bits, char **why)
{
	char *fp = fingerprint(root, path, pem, len), *key = fp ? xasprintf("key-info|%s", fp) : NULL, *v;
	const char *hit = key ? get(key) : NULL;
	int r;

	if (hit) {
		*bits = atoi(hit);
		r = 0;
		goto out;
	}
	r = crypto_key_info(pem, len, bits, why);
	if (r == 0 && key) {
		v = xasprintf("%d", *bits);
		put(key, v);
		free(v);
	}
out:
	free(fp);
	free(key);
	return r;
}

int fp_dkim_public(const struct root *root, const char *path, const char *pem, size_t len, char **b64)
{
	char *fp = fingerprint(root, path, pem, len), *key = fp ? xasprintf("dkim-public|%s", fp) : NULL;
	const char *hit = key ? get(key) : NULL;
	int r;

	if (hit) {
		*b64 = xstrdup(hit);
		r = 0;
		goto out;
	}
	r = crypto_dkim_public(pem, len, b64);
	if (r == 0 && key)
		put(key, *b64);
out:
	free(fp);
	free(key);
	return r;
}

int fp_cert_check(const struct root *root, const char *cert_path, const char *cert, size_t cl,
		  const char *key_path, const char *key, size_t kl, const char *hostname, time_t *not_after,
		  char **why)
{
	char *cfp = fingerprint(root, cert_path, cert, cl), *kfp = fingerprint(root, key_path, key, kl);
	char *k = cfp && kfp && clean_text(hostname) && !strchr(hostname, '|')
			  ? xasprintf("cert-check|%s|%s|%s", hostname, cfp, kfp) : NULL, *v;
	const char *hit = k ? get(k) : NULL;
	time_t na = 0;
	int r;

	if (hit) {
		na = (time_t)strtoll(hit, NULL, 10);
		if (na > time(NULL) + CERT_MARGIN) {
			if (not_after)
				*not_after = na;
			r = 0;
			goto out;
		}
	}
	r = crypto_cert_check(cert, cl, key, kl, hostname, &na, why);
	if (not_after)
		*not_after = na;
	if (r == 0 && k && na > time(NULL) + CERT_MARGIN) {
		v = xasprintf("%lld", (long long)na);
		put(k, v);
		free(v);
	}
out:
	free(cfp);
	free(kfp);
	free(k);
	return r;
}

/* ---- the file in the state directory ---- */

void fpcache_load(const char *state_dir)
{
	char *path, *text = NULL, *line, *save = NULL;
	struct stat sb;
	int fd;

	fpcache_reset();
	if (!state_dir)
		return;
	path = xasprintf("%s/%s", state_dir, FP_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	free(path);
	if (fd < 0)
		return;
	/* Trusted only as the state directory is: a regular file of ours, for no one else. */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077) ||
	    read_fd_whole(fd, FP_MAX, &text, NULL) < 0)
		goto out;
	for (line = strtok_r(text, "\n", &save); line && ncache < FP_ENTRIES; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		cache[ncache].key = xstrdup(line);
		cache[ncache].value = xstrdup(tab + 1);
		ncache++;
	}
out:
	close(fd);
	free(text);
}

int fpcache_save(const char *state_dir, int prune)
{
	struct buf b = { 0 };
	struct file_meta m;
	char *path, *temp;
	size_t i;
	int r, unused = 0;

	for (i = 0; i < ncache; i++)
		unused += prune && !cache[i].used;
	if (!state_dir || (!dirty && !unused))
		return 0;	/* a no-op run writes nothing */
	for (i = 0; i < ncache; i++)
		if (cache[i].used || !prune)
			buf_printf(&b, "%s\t%s\n", cache[i].key, cache[i].value);
	path = xasprintf("%s/%s", state_dir, FP_FILE);
	temp = atomic_tempname(path);
	memset(&m, 0, sizeof(m));
	m.mode = 0600;
	r = atomic_replace(path, temp, b.data ? b.data : "", b.len, &m, NULL, NULL);
	if (r == 0)
		dirty = 0;
	free(path);
	free(temp);
	buf_free(&b);
	return r;
}
