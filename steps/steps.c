/*
 * steps.c - the action types register themselves here, for rollback's
 * dispatch (installer/stage.c keeps the table).  The stages register
 * themselves in their own files; their order is the runner's:
 * installer/runner.c.
 */
#include "steps.h"

ACTION_REGISTER(action_packages)
ACTION_REGISTER(action_service)
ACTION_REGISTER(action_firewalld_service)
ACTION_REGISTER(action_acme_window_open)
ACTION_REGISTER(action_acme_window_close)
ACTION_REGISTER(action_selinux_boolean)
ACTION_REGISTER(action_selinux_port)
ACTION_REGISTER(action_selinux_context)
ACTION_REGISTER(action_sakura_ptr)
ACTION_REGISTER(action_sakura_filter)
