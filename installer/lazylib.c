/*
 * lazylib.c - dlopen() libarchive, libcurl and expat on first use (see lazylib.h).
 */
#define LAZYLIB_IMPLEMENTATION
#include "i18n.h"
#include "lazylib.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LAZY_DEFINE(f) __typeof__(f) *lazy_##f;
LAZY_ARCHIVE_FUNCS(LAZY_DEFINE)
LAZY_CURL_FUNCS(LAZY_DEFINE)
LAZY_EXPAT_FUNCS(LAZY_DEFINE)
#undef LAZY_DEFINE

/* Look up one symbol into its pointer. */
static int resolve(void *h, const char *name, void **slot, char **why)
{
	void *p = dlsym(h, name);
	if (!p) {
		*why = xasprintf(_("%s lacks %s"), name[0] == 'c' ? LAZY_CURL_SONAME :
				 name[0] == 'X' ? LAZY_EXPAT_SONAME : LAZY_ARCHIVE_SONAME, name);
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
				 strncmp(soname, "libcurl", 7) == 0 ? "libcurl" :
				 strncmp(soname, "libexpat", 8) == 0 ? "expat" : "libarchive");
		return -ENOENT;
	}
	return 0;
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
