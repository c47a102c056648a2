/*
 * lazylib.h - libarchive, libcurl and expat, loaded on first use.
 *
 * Together with their dependencies (libxml2, ICU, nghttp2, LDAP, ...) the
 * two libraries cost about 8 MiB of resident memory at start-up, while a
 * converged apply needs neither: backups, restores and the payload need
 * libarchive, HTTP and SMTP probes need libcurl.  So they are opened with
 * dlopen() when first needed, by their ABI names (the same on EL7 and
 * Debian 12), and their functions are called through pointers that keep
 * the usual names.  Include this header instead of <archive.h>,
 * <archive_entry.h> and <curl/curl.h>; call lazy_archive()/lazy_curl()
 * before the first use in a code path (cheap after the first time).
 * Expat (the XML parser of `mailstage report`, installer/report.c) is
 * loaded the same way, by lazy_expat(): <expat.h> comes through here too.
 * So is libresolv (ns_initparse and ns_parserr; on EL7's glibc the
 * resolver itself too), which only DNS checks use, by lazy_resolv():
 * loading it cost every run, `--version` included, an open, four mmaps and
 * its relocations.  <resolv.h> and <arpa/nameser.h> come through here.
 */
#ifndef MAILSTAGE_LAZYLIB_H
#define MAILSTAGE_LAZYLIB_H

#define CURL_DISABLE_TYPECHECK 1	/* curl_easy_setopt is a plain call through a pointer here */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <expat.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>

#define LAZY_ARCHIVE_SONAME "libarchive.so.13"
#define LAZY_CURL_SONAME "libcurl.so.4"
#define LAZY_EXPAT_SONAME "libexpat.so.1"
#define LAZY_RESOLV_SONAME "libresolv.so.2"

/* 0 when loaded (now or before); -ENOENT with *why (caller frees) when the library is missing. */
int lazy_archive(char **why);
int lazy_curl(char **why);
int lazy_expat(char **why);
int lazy_resolv(char **why);

#define LAZY_ARCHIVE_FUNCS(X) \
	X(archive_error_string) X(archive_read_free) X(archive_read_next_header) \
	X(archive_read_support_format_tar) X(archive_read_new) X(archive_read_data) \
	X(archive_entry_pathname) X(archive_entry_filetype) X(archive_write_set_format_pax) \
	X(archive_write_set_bytes_per_block) X(archive_write_open_fd) X(archive_write_new) \
	X(archive_write_header) X(archive_write_free) X(archive_write_finish_entry) X(archive_write_data) \
	X(archive_write_close) X(archive_read_open_memory) X(archive_read_open_filename) \
	X(archive_entry_copy_stat) X(archive_entry_set_perm) X(archive_read_data_skip) \
	X(archive_entry_xattr_reset) X(archive_entry_xattr_next) X(archive_entry_uid) X(archive_entry_size) \
	X(archive_entry_set_size) X(archive_entry_perm) X(archive_entry_new) X(archive_entry_mtime_nsec) \
	X(archive_entry_mtime) X(archive_entry_gid) X(archive_entry_free) \
	X(archive_entry_copy_pathname) X(archive_read_support_filter_gzip) X(archive_read_support_format_zip) \
	X(archive_read_support_format_raw)

#define LAZY_CURL_FUNCS(X) \
	X(curl_easy_setopt) X(curl_easy_strerror) X(curl_easy_perform) X(curl_easy_init) \
	X(curl_easy_cleanup) X(curl_slist_free_all) X(curl_slist_append) X(curl_global_init) \
	X(curl_free) X(curl_easy_getinfo) X(curl_easy_escape)

/* expat 2.1 (EL7) has every one of these */
#define LAZY_EXPAT_FUNCS(X) \
	X(XML_ParserCreateNS) X(XML_ParserFree) X(XML_SetUserData) X(XML_SetElementHandler) \
	X(XML_SetCharacterDataHandler) X(XML_SetStartDoctypeDeclHandler) X(XML_SetEntityDeclHandler) \
	X(XML_SetParamEntityParsing) X(XML_Parse) X(XML_StopParser) X(XML_GetErrorCode) X(XML_ErrorString) \
	X(XML_GetCurrentLineNumber)

/* <resolv.h> renames res_ninit and res_nclose to __res_*: looked up by either name */
#define LAZY_RESOLV_FUNCS(X) \
	X(ns_initparse) X(ns_parserr) X(dn_expand) X(res_ninit) X(res_nclose) X(res_nquery)

#define LAZY_DECLARE(f) extern __typeof__(f) *lazy_##f;
LAZY_RESOLV_FUNCS(LAZY_DECLARE)
LAZY_ARCHIVE_FUNCS(LAZY_DECLARE)
LAZY_CURL_FUNCS(LAZY_DECLARE)
LAZY_EXPAT_FUNCS(LAZY_DECLARE)
#undef LAZY_DECLARE

#ifndef LAZYLIB_IMPLEMENTATION
#undef curl_easy_setopt		/* curl.h wraps these two in macros of its own */
#undef curl_easy_getinfo
#undef res_ninit
#undef res_nclose
#undef res_nquery
#undef dn_expand
#define ns_initparse (*lazy_ns_initparse)
#define ns_parserr (*lazy_ns_parserr)
#define dn_expand (*lazy_dn_expand)
#define res_ninit (*lazy_res_ninit)
#define res_nclose (*lazy_res_nclose)
#define res_nquery (*lazy_res_nquery)
#define archive_error_string (*lazy_archive_error_string)
#define archive_read_free (*lazy_archive_read_free)
#define archive_read_next_header (*lazy_archive_read_next_header)
#define archive_read_support_format_tar (*lazy_archive_read_support_format_tar)
#define archive_read_new (*lazy_archive_read_new)
#define archive_read_data (*lazy_archive_read_data)
#define archive_entry_pathname (*lazy_archive_entry_pathname)
#define archive_entry_filetype (*lazy_archive_entry_filetype)
#define archive_write_set_format_pax (*lazy_archive_write_set_format_pax)
#define archive_write_set_bytes_per_block (*lazy_archive_write_set_bytes_per_block)
#define archive_write_open_fd (*lazy_archive_write_open_fd)
#define archive_write_new (*lazy_archive_write_new)
#define archive_write_header (*lazy_archive_write_header)
#define archive_write_free (*lazy_archive_write_free)
#define archive_write_finish_entry (*lazy_archive_write_finish_entry)
#define archive_write_data (*lazy_archive_write_data)
#define archive_write_close (*lazy_archive_write_close)
#define archive_read_open_memory (*lazy_archive_read_open_memory)
#define archive_read_open_filename (*lazy_archive_read_open_filename)
#define archive_entry_copy_stat (*lazy_archive_entry_copy_stat)
#define archive_entry_set_perm (*lazy_archive_entry_set_perm)
#define archive_read_data_skip (*lazy_archive_read_data_skip)
#define archive_entry_xattr_reset (*lazy_archive_entry_xattr_reset)
#define archive_entry_xattr_next (*lazy_archive_entry_xattr_next)
#define archive_entry_uid (*lazy_archive_entry_uid)
#define archive_entry_size (*lazy_archive_entry_size)
#define archive_entry_set_size (*lazy_archive_entry_set_size)
#define archive_entry_perm (*lazy_archive_entry_perm)
#define archive_entry_new (*lazy_archive_entry_new)
#define archive_entry_mtime_nsec (*lazy_archive_entry_mtime_nsec)
#define archive_entry_mtime (*lazy_archive_entry_mtime)
#define archive_entry_gid (*lazy_archive_entry_gid)
#define archive_entry_free (*lazy_archive_entry_free)
#define archive_entry_copy_pathname (*lazy_archive_entry_copy_pathname)
#define curl_easy_setopt (*lazy_curl_easy_setopt)
#define curl_easy_strerror (*lazy_curl_easy_strerror)
#define curl_easy_perform (*lazy_curl_easy_perform)
#define curl_easy_init (*lazy_curl_easy_init)
#define curl_easy_cleanup (*lazy_curl_easy_cleanup)
#define curl_slist_free_all (*lazy_curl_slist_free_all)
#define curl_slist_append (*lazy_curl_slist_append)
#define curl_global_init (*lazy_curl_global_init)
#define curl_free (*lazy_curl_free)
#define curl_easy_getinfo (*lazy_curl_easy_getinfo)
#define curl_easy_escape (*lazy_curl_easy_escape)
#define archive_read_support_filter_gzip (*lazy_archive_read_support_filter_gzip)
#define archive_read_support_format_zip (*lazy_archive_read_support_format_zip)
#define archive_read_support_format_raw (*lazy_archive_read_support_format_raw)
#define XML_ParserCreateNS (*lazy_XML_ParserCreateNS)
#define XML_ParserFree (*lazy_XML_ParserFree)
#define XML_SetUserData (*lazy_XML_SetUserData)
#define XML_SetElementHandler (*lazy_XML_SetElementHandler)
#define XML_SetCharacterDataHandler (*lazy_XML_SetCharacterDataHandler)
#define XML_SetStartDoctypeDeclHandler (*lazy_XML_SetStartDoctypeDeclHandler)
#define XML_SetEntityDeclHandler (*lazy_XML_SetEntityDeclHandler)
#define XML_SetParamEntityParsing (*lazy_XML_SetParamEntityParsing)
#define XML_Parse (*lazy_XML_Parse)
#define XML_StopParser (*lazy_XML_StopParser)
#define XML_GetErrorCode (*lazy_XML_GetErrorCode)
#define XML_ErrorString (*lazy_XML_ErrorString)
#define XML_GetCurrentLineNumber (*lazy_XML_GetCurrentLineNumber)
#endif

#endif
