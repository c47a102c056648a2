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
#include <elf.h>
#include <link.h>

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

/*
 * The same compression with the SHA extensions of x86-64 (Intel since
 * Goldmont and Ice Lake, AMD since Zen: the CPUs Sakura's VPSs run on):
 * a few dozen instructions a block instead of some 3,900, so fingerprinting
 * a 10 KiB master.cf costs less than parsing it.  Chosen at run time by
 * CPUID; built only where the compiler has the intrinsics (GCC 4.9+ and
 * clang; EL7's GCC 4.8 builds the portable code alone).  State layout as
 * the instructions want it: ABEF and CDGH.
 */
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))
#define SHA256_NI 1
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_ni(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i s0, s1, t, abef, cdgh, m[4], msg;
	int g;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);	/* CDAB */
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);	/* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);						/* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);					/* CDGH */
	for (; nblocks--; p += 64) {
		abef = s0;
		cdgh = s1;
		/*
		 * Four rounds a step, the message words in four registers: the
		 * first four steps load them, the other twelve extend them (W[t..t+3]
		 * from W[t-16..t-13], W[t-12..t-9], W[t-7..t-4] and W[t-4..t-1]).
		 */
#define SHA_ROUNDS(w, g)									\
		do {										\
			msg = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)&K[4 * (g)]));	\
			s1 = _mm_sha256rnds2_epu32(s1, s0, msg);				\
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));	\
		} while (0)
#define SHA_NEXT(w0, w1, w2, w3)								\
		w0 = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w0, w1),		\
							_mm_alignr_epi8(w3, w2, 4)), w3)
		m[0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
		m[1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		m[2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		m[3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		SHA_ROUNDS(m[0], 0);
		SHA_ROUNDS(m[1], 1);
		SHA_ROUNDS(m[2], 2);
		SHA_ROUNDS(m[3], 3);
		for (g = 4; g < 16; g += 4) {
			SHA_NEXT(m[0], m[1], m[2], m[3]);
			SHA_ROUNDS(m[0], g);
			SHA_NEXT(m[1], m[2], m[3], m[0]);
			SHA_ROUNDS(m[1], g + 1);
			SHA_NEXT(m[2], m[3], m[0], m[1]);
			SHA_ROUNDS(m[2], g + 2);
			SHA_NEXT(m[3], m[0], m[1], m[2]);
			SHA_ROUNDS(m[3], g + 3);
		}
#undef SHA_ROUNDS
#undef SHA_NEXT
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);					/* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);					/* DCHG */
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0));	/* DCBA */
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));		/* HGFE */
}

/*
 * SHA, SSE4.1 and SSSE3 usable: glibc 2.33+ tells from what it read at
 * start-up (CPUID is a trap to the hypervisor on a VPS, microseconds each);
 * an older glibc, from CPUID (leaf 7 EBX bit 29, leaf 1 ECX bits 19 and 9).
 */
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define SHA256_GLIBC_FEATURES 1
#endif
#endif

static int cpu_has_sha(void)
{
#ifdef SHA256_GLIBC_FEATURES
	return CPU_FEATURE_ACTIVE(SHA) && CPU_FEATURE_ACTIVE(SSE4_1) && CPU_FEATURE_ACTIVE(SSSE3);
#else
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 19)) || !(c & (1u << 9)))
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1;
#endif
}
#endif

#ifdef MAILSTAGE_TEST_HOOKS
int sha256_portable_only;
#endif

int sha256_accelerated(void)
{
#ifdef SHA256_NI
	static int has = -1;
#ifdef MAILSTAGE_TEST_HOOKS
	if (sha256_portable_only)
		return 0;
#endif
	if (has < 0)
		has = cpu_has_sha();
	return has;
#else
	return 0;
#endif
}

static void sha256_blocks(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
#ifdef SHA256_NI
	if (sha256_accelerated()) {
		sha256_blocks_ni(h, p, nblocks);
		return;
	}
#endif
	for (; nblocks--; p += 64)
		sha256_block(h, p);
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t rest = len % 64, n = len - rest, tl, i;
	uint64_t bits = (uint64_t)len * 8;

	sha256_blocks(h, p, n / 64);
	memset(tail, 0, sizeof(tail));
	if (rest)
		memcpy(tail, p + n, rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha256_blocks(h, tail, tl / 64);
	for (i = 0; i < 64; i++)
		out[i] = hex[(h[i / 8] >> (28 - 4 * (i % 8))) & 0xf];
	out[64] = '\0';
}

/* ---- the records ---- */

struct entry {
	char *key;		/* "op|args|fingerprint..." */
	char *value;
	int used;		/* looked up or made by this run */
};

static struct entry cache[FP_ENTRIES];
static size_t ncache;
static char edit_inputs[65];	/* of this run (fp_edit_inputs): other edit records are stale */
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

	if (len > 4096) {	/* a configuration file, hashed once a run: no copy kept */
		sha256_hex(data, len, sha);
		return;
	}
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

/* The stat() memo of fingerprint() (below). */
#define STAT_MEMO 8
static struct {
	const struct root *root;
	unsigned epoch;
	char *path;
	struct stat sb;
} stats[STAT_MEMO];
static unsigned stats_next;

void fpcache_reset(void)
{
	unsigned m;
	for (m = 0; m < SHA_MEMO; m++) {
		free(memo[m].data);
		memo[m].data = NULL;
	}
	for (m = 0; m < STAT_MEMO; m++) {
		free(stats[m].path);
		stats[m].path = NULL;
	}
	size_t i;

	for (i = 0; i < ncache; i++) {
		free(cache[i].key);
		free(cache[i].value);
	}
	memset(cache, 0, sizeof(cache));
	ncache = 0;
	dirty = 0;
	*edit_inputs = '\0';
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
 * stat() of path inside root, asked again only when mailstage changed the
 * target since (root_epoch()): a run fingerprints the TLS key and the DKIM
 * key two or three times each, right after a stage read them (fp_seen()).
 */
void fp_seen(const struct root *root, const char *path, const struct stat *sb)
{
	unsigned i = stats_next++ % STAT_MEMO;

	free(stats[i].path);
	stats[i].root = root;
	stats[i].epoch = root_epoch(root);
	stats[i].path = xstrdup(path);
	stats[i].sb = *sb;
}

static int stat_target(const struct root *root, const char *path, struct stat *sb)
{
	char *host = NULL, *why = NULL;
	unsigned epoch = root_epoch(root), i;
	int r;

	for (i = 0; i < STAT_MEMO; i++)
		if (stats[i].path && stats[i].root == root && stats[i].epoch == epoch && strcmp(stats[i].path, path) == 0) {
			*sb = stats[i].sb;
			return 0;
		}
	r = root_resolve(root, path, &host, &why) < 0 || stat(host, sb) < 0 ? -1 : 0;
	free(host);
	free(why);
	if (r == 0)
		fp_seen(root, path, sb);
	return r;
}

/* The decimal digits of v written backwards, ending at end: returns where they start. */
static char *dec_back(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

/* " V" at p: returns the end. */
static char *put_u64(char *p, unsigned long long v)
{
	char num[24], *e = num + sizeof(num), *d = dec_back(e, v);

	*p++ = ' ';
	memcpy(p, d, (size_t)(e - d));
	return p + (e - d);
}

/* " SEC.NNNNNNNNN" (a timestamp with its nine nanosecond digits) at p: returns the end. */
static char *put_time(char *p, const struct timespec *t)
{
	char num[32], *e = num + sizeof(num), *d = e;
	long long sec = (long long)t->tv_sec;
	unsigned long ns = (unsigned long)t->tv_nsec;
	int i;

	for (i = 0; i < 9; i++, ns /= 10)
		*--d = (char)('0' + ns % 10);
	*--d = '.';
	d = dec_back(d, sec < 0 ? 0ULL - (unsigned long long)sec : (unsigned long long)sec);
	if (sec < 0)
		*--d = '-';
	*p++ = ' ';
	memcpy(p, d, (size_t)(e - d));
	return p + (e - d);
}

/*
 * "PATH DEV INO SIZE MTIME CTIME SHA256" of the file at path in root, whose
 * bytes were just read into data; NULL when it cannot be taken (no caching).
 * Written out by hand: one is made for every file a no-op looks at, and
 * printf's setup costs more than the digits.  test_fpcache checks it against
 * the printf form.
 */
static char *fingerprint_stat(const struct root *root, const char *path, const struct stat *known,
			      const char *data, size_t len)
{
	char sha[65], *fp, *p;
	struct stat sb;
	size_t pl;

	if (known)
		sb = *known;
	if (!root || !path || (!known && stat_target(root, path, &sb) < 0) || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size != len)
		return NULL;
	memo_sha256(data, len, sha);
	pl = strlen(path);
	p = fp = xmalloc(pl + 3 * 21 + 2 * 32 + 66);
	memcpy(p, path, pl);
	p = put_u64(p + pl, (unsigned long long)sb.st_dev);
	p = put_u64(p, (unsigned long long)sb.st_ino);
	p = put_u64(p, (unsigned long long)sb.st_size);
	p = put_time(p, &sb.st_mtim);
	p = put_time(p, &sb.st_ctim);
	*p++ = ' ';
	memcpy(p, sha, 65);
	return fp;
}

static char *fingerprint(const struct root *root, const char *path, const char *data, size_t len)
{
	return fingerprint_stat(root, path, NULL, data, len);
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

/* ---- the edits of the mail configuration files ---- */

/*
 * This build's GNU build ID (the linker's hash of the program) as hex, or
 * NULL when the program has none: then no edit is remembered, since a
 * rebuilt mailstage of the same version may edit differently.
 */
struct note_find {
	char hex[2 * 64 + 1];
};

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	struct note_find *nf = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
			size_t namesz = (nh->n_namesz + 3) & ~(size_t)3, descsz = (nh->n_descsz + 3) & ~(size_t)3;
			const unsigned char *name = p + sizeof(*nh), *desc = name + namesz;

			if (desc + descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    nh->n_descsz >= 8 && nh->n_descsz <= 64) {
				unsigned k;
				for (k = 0; k < nh->n_descsz; k++)
					snprintf(nf->hex + 2 * k, 3, "%02x", desc[k]);
				return 1;
			}
			p = desc + descsz;
		}
	}
	return 1;	/* the first object is the program itself: stop there */
}

static const char *build_id(void)
{
	static struct note_find nf;
	static int done;

	if (!done) {
		dl_iterate_phdr(find_build_id, &nf);
		done = 1;
	}
	return *nf.hex ? nf.hex : NULL;
}

int fp_edit_inputs(const char *source, size_t len, const char *profile, const char *variant, char out[65])
{
	static struct {
		char *source;
		const char *profile, *variant;
		size_t len;
		char sha[65];
	} last;
	const char *id;
	struct buf b = { 0 };

	/* In software, hashing the configuration costs about what the edit it would save costs. */
	if (!source || !profile || !sha256_accelerated() || !(id = build_id()))
		return -1;
	/* The stages of one run ask with the same configuration: hashed once. */
	if (!last.source || last.len != len || memcmp(last.source, source, len) != 0 || last.profile != profile ||
	    last.variant != variant) {
		const char *s = source, *end = source + len, *nl, *le;

		buf_printf(&b, "mailstage %s build %s\nprofile %s%s%s\n", MAILSTAGE_VERSION, id, profile,
			   variant ? "+" : "", variant ? variant : "");
		/*
		 * The lines config_parse() reads, in order: not the blank and
		 * comment lines (four fifths of the example's bytes), which it
		 * skips by the same rule (config.c, parse_line).
		 */
		for (; s < end; s = nl ? nl + 1 : end) {
			const char *q;
			nl = memchr(s, '\n', (size_t)(end - s));
			le = nl ? nl : end;
			for (q = s; q < le && (*q == ' ' || *q == '\t' || *q == '\r'); q++)
				;
			if (q == le || *q == '#')
				continue;
			buf_append(&b, s, (size_t)(le - s));
			buf_append(&b, "\n", 1);
		}
		sha256_hex(b.data, b.len, last.sha);
		buf_free(&b);
		free(last.source);
		last.source = xmalloc(len + 1);
		memcpy(last.source, source, len);
		last.len = len;
		last.profile = profile;
		last.variant = variant;
	}
	memcpy(out, last.sha, 65);
	memcpy(edit_inputs, last.sha, 65);
	return 0;
}

int fp_edit_unchanged(const struct root *root, const char *path, const struct stat *sb, const char *data, size_t len,
		      const char *inputs, int remember)
{
	char *fp = inputs ? fingerprint_stat(root, path, sb, data, len) : NULL;
	char *key = fp ? xasprintf("edit|%s|%s", inputs, fp) : NULL;
	int hit = 0;

	if (key && remember)
		put(key, "same");
	else if (key)
		hit = get(key) != NULL;
	free(fp);
	free(key);
	return hit;
}

/* "derived|KIND|BUILD|SHA256": a value computed from these bytes alone, by this build. */
static char *derived_key(const char *kind, const char *data, size_t len)
{
	const char *id;
	char sha[65];

	if (!kind || !data || !sha256_accelerated() || !(id = build_id()) || !clean_text(kind) || strchr(kind, '|'))
		return NULL;
	memo_sha256(data, len, sha);
	return xasprintf("derived|%s|%s|%s", kind, id, sha);
}

char *fp_derived_get(const char *kind, const char *data, size_t len)
{
	char *key = derived_key(kind, data, len);
	const char *hit = key ? get(key) : NULL;

	free(key);
	return hit ? xstrdup(hit) : NULL;
}

void fp_derived_put(const char *kind, const char *data, size_t len, const char *value)
{
	char *key = derived_key(kind, data, len);

	if (key)
		put(key, value);
	free(key);
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
	    read_fd_known(fd, &sb, FP_MAX, &text, NULL) < 0)
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

/* An edit record made with other inputs than this run's (another configuration or build): never used again. */
static int stale_edit(const struct entry *e)
{
	return *edit_inputs && strncmp(e->key, "edit|", 5) == 0 && strncmp(e->key + 5, edit_inputs, 64) != 0;
}

int fpcache_save(const char *state_dir, int prune)
{
	struct buf b = { 0 };
	struct file_meta m;
	char *path, *temp;
	size_t i;
	int r, unused = 0;

	for (i = 0; i < ncache; i++)
		unused += (prune && !cache[i].used) || stale_edit(&cache[i]);
	if (!state_dir || (!dirty && !unused))
		return 0;	/* a no-op run writes nothing */
	for (i = 0; i < ncache; i++)
		if ((cache[i].used || !prune) && !stale_edit(&cache[i]))
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
