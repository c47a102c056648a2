/*
 * lazylib.c - dlopen() libarchive, libcurl, expat, libselinux, libsemanage
 * and libcrypto on first use (see lazylib.h, lazyse.h, lazycrypto.h).
 */
#define LAZYLIB_IMPLEMENTATION
#include "i18n.h"
#include "lazylib.h"
#include "lazyse.h"
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "lazycrypto.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#define LAZY_DEFINE(f) __typeof__(f) *lazy_##f;
LAZY_RESOLV_FUNCS(LAZY_DEFINE)
LAZY_ARCHIVE_FUNCS(LAZY_DEFINE)
LAZY_CURL_FUNCS(LAZY_DEFINE)
LAZY_EXPAT_FUNCS(LAZY_DEFINE)
LAZY_SELINUX_FUNCS(LAZY_DEFINE)
LAZY_SEMANAGE_FUNCS(LAZY_DEFINE)
LAZY_CRYPTO_FUNCS(LAZY_DEFINE)
#undef LAZY_DEFINE

/* The soname a symbol is looked up in, for messages. */
static const char *soname_of(const char *name)
{
	if (strncmp(name, "curl", 4) == 0)
		return LAZY_CURL_SONAME;
	if (strncmp(name, "archive", 7) == 0)
		return LAZY_ARCHIVE_SONAME;
	if (strncmp(name, "XML_", 4) == 0)
		return LAZY_EXPAT_SONAME;
	if (strncmp(name, "ns_", 3) == 0 || strncmp(name, "res_", 4) == 0 || strncmp(name, "__res_", 6) == 0 ||
	    strcmp(name, "dn_expand") == 0)
		return LAZY_RESOLV_SONAME;
	if (strncmp(name, "semanage", 8) == 0)
		return "libsemanage";
	if (strncmp(name, "sel", 3) == 0 || strncmp(name, "security_", 9) == 0 || strcmp(name, "freecon") == 0 ||
	    strcmp(name, "is_selinux_enabled") == 0)
		return LAZY_SELINUX_SONAME;
	return "libcrypto";
}

/* Look up one symbol into its pointer. */
static int resolve(void *h, const char *name, void **slot, char **why)
{
	void *p = dlsym(h, name);
	if (!p) {
		*why = xasprintf(_("%s lacks %s"), soname_of(name), name);
		return -ENOENT;
	}
	*slot = p;
	return 0;
}

static int load(const char *soname, void **handle, char **why)
{
	if (*handle)
		return 0;
	*handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		const char *e = dlerror();
		*why = xasprintf(_("cannot load %s (%s): install the %s package"), soname, e ? e : _("not found"),
				 strncmp(soname, "libcurl", 7) == 0 ? "libcurl"
				 : strncmp(soname, "libarchive", 10) == 0 ? "libarchive"
				 : strncmp(soname, "libexpat", 8) == 0 ? "expat"
				 : strncmp(soname, "libsemanage", 11) == 0 ? "libsemanage"
				 : strncmp(soname, "libcrypto", 9) == 0 ? "OpenSSL (libcrypto)"
				 : strncmp(soname, "libresolv", 9) == 0 ? "glibc (libresolv)"
				 : "libselinux");
		return -ENOENT;
	}
	return 0;
}

/* As resolve(), by name or by the __name glibc's headers link against (dlsym finds the default version). */
static int resolve_either(void *h, const char *name, void **slot, char **why)
{
	char alt[64];
	void *p = dlsym(h, name);

	if (!p) {
		snprintf(alt, sizeof(alt), "__%s", name);
		p = dlsym(h, alt);
	}
	if (!p) {
		*why = xasprintf(_("%s lacks %s"), soname_of(name), name);
		return -ENOENT;
	}
	*slot = p;
	return 0;
}

int lazy_resolv(char **why)
{
	static void *h;
	static int done;
	int r;

	if (done)
		return 0;
	r = load(LAZY_RESOLV_SONAME, &h, why);
#define LAZY_RESOLVE_EITHER(f) if (r == 0) r = resolve_either(h, #f, (void **)&lazy_##f, why);
	LAZY_RESOLV_FUNCS(LAZY_RESOLVE_EITHER)
#undef LAZY_RESOLVE_EITHER
	done = r == 0;
	return r;
}

int lazy_archive(char **why)
{
	static void *h;
	static int done;
	int r;

	if (done)
		return 0;
	r = load(LAZY_ARCHIVE_SONAME, &h, why);
#define LAZY_RESOLVE(f) if (r == 0) r = resolve(h, #f, (void **)&lazy_##f, why);
	LAZY_ARCHIVE_FUNCS(LAZY_RESOLVE)
	done = r == 0;
	return r;
}

int lazy_curl(char **why)
{
	static void *h;
	static int done;
	int r;

	if (done)
		return 0;
	r = load(LAZY_CURL_SONAME, &h, why);
	LAZY_CURL_FUNCS(LAZY_RESOLVE)
	if (r == 0)
		(*lazy_curl_global_init)(CURL_GLOBAL_DEFAULT);
	done = r == 0;
	return r;
}

int lazy_expat(char **why)
{
	static void *h;
	static int done;
	int r;

	if (done)
		return 0;
	r = load(LAZY_EXPAT_SONAME, &h, why);
	LAZY_EXPAT_FUNCS(LAZY_RESOLVE)
#undef LAZY_RESOLVE
	done = r == 0;
	return r;
}

#define LAZY_RESOLVE(f) if (r == 0) r = resolve(h, #f, (void **)&lazy_##f, why);
int lazy_selinux(char **why)
{
	static const char *const semanage[] = LAZY_SEMANAGE_SONAMES;
	static void *hs, *hm;
	static int done;
	void *h;
	size_t i;
	int r;

	if (done)
		return 0;
	r = load(LAZY_SELINUX_SONAME, &hs, why);
	h = hs;
	LAZY_SELINUX_FUNCS(LAZY_RESOLVE)
	for (i = 0; r == 0 && !hm && i < ARRAY_SIZE(semanage); i++)
		hm = dlopen(semanage[i], RTLD_NOW | RTLD_LOCAL);
	if (r == 0 && !hm)
		r = load(semanage[ARRAY_SIZE(semanage) - 1], &hm, why);	/* its message */
	h = hm;
	LAZY_SEMANAGE_FUNCS(LAZY_RESOLVE)
#undef LAZY_RESOLVE
	done = r == 0;
	return r;
}

int lazy_crypto(char **why)
{
	static const char *const names[] = LAZY_CRYPTO_SONAMES;
	static void *h;
	static int done;
	size_t i;
	int r = 0;

	if (done)
		return 0;
	for (i = 0; !h && i < ARRAY_SIZE(names); i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		r = load(names[0], &h, why);	/* its message */
#define LAZY_RESOLVE(f) if (r == 0) r = resolve(h, #f, (void **)&lazy_##f, why);
	LAZY_CRYPTO_FUNCS(LAZY_RESOLVE)
#undef LAZY_RESOLVE
	done = r == 0;
	return r;
}

/* A mounted selinuxfs at either of its places (SELINUX_MAGIC, linux/magic.h). */
static int selinuxfs_at(const char *dir)
{
	struct statfs s;
	return statfs(dir, &s) == 0 && (unsigned long)s.f_type == 0xf97cff8cUL;
}

/*
 * libselinux finds its selinuxfs at /sys/fs/selinux or /selinux, or through
 * /proc/filesystems and /proc/mounts; without one, is_selinux_enabled() is 0.
 * Only when one may exist is the library loaded to answer.
 */
int lazy_selinux_enabled(void)
{
	static int answer = -2;	/* the kernel's answer does not change within a run: asked once */
	char *fs = NULL, *why = NULL;
	int maybe;

	if (answer != -2)
		return answer;
	maybe = selinuxfs_at("/sys/fs/selinux") || selinuxfs_at("/selinux");

	if (!maybe && read_whole_file("/proc/filesystems", &fs, NULL) == 0)
		maybe = strstr(fs, "selinuxfs") != NULL;
	else if (!maybe)
		maybe = 1;	/* no /proc: ask the library */
	free(fs);
	if (!maybe)
		return answer = 0;
	if (lazy_selinux(&why) < 0) {
		free(why);
		return answer = -1;	/* as libselinux on an error: not enabled */
	}
	return answer = (*lazy_is_selinux_enabled)();
}

/* 1 when SELinux is on and enforcing (libselinux loaded to ask); 0 otherwise, errors included. */
int lazy_selinux_enforcing(void)
{
	char *why = NULL;
	int r = lazy_selinux_enabled() > 0 && lazy_selinux(&why) == 0 && (*lazy_security_getenforce)() == 1;

	free(why);
	return r;
}
