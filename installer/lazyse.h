/*
 * lazyse.h - libselinux and libsemanage, loaded on first use.
 *
 * Linked, the two (with libsepol, libaudit, libbz2, libpcre2 behind them)
 * are mapped into every run, while only the selinux stage, and preflight
 * on a host where SELinux may be on, call them.  So, as lazylib.h does for
 * libarchive and libcurl, they are opened with dlopen() by their ABI names
 * and called through pointers that keep the usual names.  Include this
 * header instead of <selinux/...> and <semanage/semanage.h>; call
 * lazy_selinux() before the first libselinux or libsemanage call of a code
 * path.  is_selinux_enabled() needs no call first: it answers 0 without
 * loading anything when no selinuxfs is mounted or known to the kernel
 * (libselinux answers 0 then too), and loads libselinux otherwise.
 */
#ifndef MAILSTAGE_LAZYSE_H
#define MAILSTAGE_LAZYSE_H

#include <selinux/label.h>
#include <selinux/restorecon.h>
#include <selinux/selinux.h>
#include <semanage/semanage.h>

#define LAZY_SELINUX_SONAME "libselinux.so.1"		/* EL7 (2.5) to Debian 12 (3.4) */
/* libsemanage 3.2 and later are .so.2 (Debian 12, EL9), 2.5 to 3.1 .so.1 (EL7, EL8): tried in order. */
#define LAZY_SEMANAGE_SONAMES { "libsemanage.so.2", "libsemanage.so.1" }

/* 0 when both are loaded (now or before); -ENOENT with *why (caller frees) when one is missing. */
int lazy_selinux(char **why);
/* is_selinux_enabled() without loading libselinux where SELinux cannot be on. */
int lazy_selinux_enabled(void);
/* 1 when SELinux is on and enforcing (the library loaded to ask), else 0. */
int lazy_selinux_enforcing(void);

#define LAZY_SELINUX_FUNCS(X) \
	X(is_selinux_enabled) X(security_getenforce) X(freecon) X(security_get_boolean_active) \
	X(security_set_boolean_list) X(selabel_close) X(selabel_lookup) X(selabel_open) \
	X(selinux_restorecon) X(selinux_set_policy_root) X(getcon_raw) X(security_check_context_raw) \
	X(security_compute_av_raw) X(string_to_security_class) X(string_to_av_perm)

#define LAZY_SEMANAGE_FUNCS(X) \
	X(semanage_begin_transaction) X(semanage_bool_create) X(semanage_bool_del_local) \
	X(semanage_bool_exists_local) X(semanage_bool_free) X(semanage_bool_get_value) \
	X(semanage_bool_key_create) X(semanage_bool_key_extract) X(semanage_bool_key_free) \
	X(semanage_bool_modify_local) X(semanage_bool_query) X(semanage_bool_query_local) \
	X(semanage_bool_set_active) X(semanage_bool_set_name) X(semanage_bool_set_value) \
	X(semanage_commit) X(semanage_connect) X(semanage_disconnect) X(semanage_handle_create) \
	X(semanage_handle_destroy) X(semanage_is_connected) X(semanage_is_managed) \
	X(semanage_msg_set_callback) X(semanage_set_create_store) X(semanage_set_reload) X(semanage_set_root) \
	X(semanage_port_key_create) X(semanage_port_key_free) X(semanage_port_list) X(semanage_port_free) \
	X(semanage_port_get_low) X(semanage_port_get_high) X(semanage_port_get_proto) X(semanage_port_get_con) \
	X(semanage_port_create) X(semanage_port_set_range) X(semanage_port_set_proto) X(semanage_port_set_con) \
	X(semanage_port_exists_local) X(semanage_port_query_local) X(semanage_port_modify_local) \
	X(semanage_port_del_local) X(semanage_context_create) X(semanage_context_free) \
	X(semanage_context_get_user) X(semanage_context_get_role) X(semanage_context_get_type) \
	X(semanage_context_get_mls) X(semanage_context_set_user) X(semanage_context_set_role) \
	X(semanage_context_set_type) X(semanage_context_set_mls)

#define LAZY_DECLARE(f) extern __typeof__(f) *lazy_##f;
LAZY_SELINUX_FUNCS(LAZY_DECLARE)
LAZY_SEMANAGE_FUNCS(LAZY_DECLARE)
#undef LAZY_DECLARE

#ifndef LAZYLIB_IMPLEMENTATION
#define is_selinux_enabled lazy_selinux_enabled
#define security_getenforce (*lazy_security_getenforce)
#define freecon (*lazy_freecon)
#define security_get_boolean_active (*lazy_security_get_boolean_active)
#define security_set_boolean_list (*lazy_security_set_boolean_list)
#define selabel_close (*lazy_selabel_close)
#define selabel_lookup (*lazy_selabel_lookup)
#define selabel_open (*lazy_selabel_open)
#define selinux_restorecon (*lazy_selinux_restorecon)
#define selinux_set_policy_root (*lazy_selinux_set_policy_root)
#define getcon_raw (*lazy_getcon_raw)
#define security_check_context_raw (*lazy_security_check_context_raw)
#define security_compute_av_raw (*lazy_security_compute_av_raw)
#define string_to_security_class (*lazy_string_to_security_class)
#define string_to_av_perm (*lazy_string_to_av_perm)
#define semanage_begin_transaction (*lazy_semanage_begin_transaction)
#define semanage_bool_create (*lazy_semanage_bool_create)
#define semanage_bool_del_local (*lazy_semanage_bool_del_local)
#define semanage_bool_exists_local (*lazy_semanage_bool_exists_local)
#define semanage_bool_free (*lazy_semanage_bool_free)
#define semanage_bool_get_value (*lazy_semanage_bool_get_value)
#define semanage_bool_key_create (*lazy_semanage_bool_key_create)
#define semanage_bool_key_extract (*lazy_semanage_bool_key_extract)
#define semanage_bool_key_free (*lazy_semanage_bool_key_free)
#define semanage_bool_modify_local (*lazy_semanage_bool_modify_local)
#define semanage_bool_query (*lazy_semanage_bool_query)
#define semanage_bool_query_local (*lazy_semanage_bool_query_local)
#define semanage_bool_set_active (*lazy_semanage_bool_set_active)
#define semanage_bool_set_name (*lazy_semanage_bool_set_name)
#define semanage_bool_set_value (*lazy_semanage_bool_set_value)
#define semanage_commit (*lazy_semanage_commit)
#define semanage_connect (*lazy_semanage_connect)
#define semanage_disconnect (*lazy_semanage_disconnect)
#define semanage_handle_create (*lazy_semanage_handle_create)
#define semanage_handle_destroy (*lazy_semanage_handle_destroy)
#define semanage_is_connected (*lazy_semanage_is_connected)
#define semanage_is_managed (*lazy_semanage_is_managed)
#define semanage_msg_set_callback (*lazy_semanage_msg_set_callback)
#define semanage_set_create_store (*lazy_semanage_set_create_store)
#define semanage_set_reload (*lazy_semanage_set_reload)
#define semanage_set_root (*lazy_semanage_set_root)
#define semanage_port_key_create (*lazy_semanage_port_key_create)
#define semanage_port_key_free (*lazy_semanage_port_key_free)
#define semanage_port_list (*lazy_semanage_port_list)
#define semanage_port_free (*lazy_semanage_port_free)
#define semanage_port_get_low (*lazy_semanage_port_get_low)
#define semanage_port_get_high (*lazy_semanage_port_get_high)
#define semanage_port_get_proto (*lazy_semanage_port_get_proto)
#define semanage_port_get_con (*lazy_semanage_port_get_con)
#define semanage_port_create (*lazy_semanage_port_create)
#define semanage_port_set_range (*lazy_semanage_port_set_range)
#define semanage_port_set_proto (*lazy_semanage_port_set_proto)
#define semanage_port_set_con (*lazy_semanage_port_set_con)
#define semanage_port_exists_local (*lazy_semanage_port_exists_local)
#define semanage_port_query_local (*lazy_semanage_port_query_local)
#define semanage_port_modify_local (*lazy_semanage_port_modify_local)
#define semanage_port_del_local (*lazy_semanage_port_del_local)
#define semanage_context_create (*lazy_semanage_context_create)
#define semanage_context_free (*lazy_semanage_context_free)
#define semanage_context_get_user (*lazy_semanage_context_get_user)
#define semanage_context_get_role (*lazy_semanage_context_get_role)
#define semanage_context_get_type (*lazy_semanage_context_get_type)
#define semanage_context_get_mls (*lazy_semanage_context_get_mls)
#define semanage_context_set_user (*lazy_semanage_context_set_user)
#define semanage_context_set_role (*lazy_semanage_context_set_role)
#define semanage_context_set_type (*lazy_semanage_context_set_type)
#define semanage_context_set_mls (*lazy_semanage_context_set_mls)
#endif

#endif
