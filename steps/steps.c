/*
 * steps.c - the action types, for rollback's dispatch.  (The stages register
 * themselves; their order is the runner's: installer/runner.c.)
 */
#include "steps.h"

#include <string.h>

static const struct action_type *const actions[] = {
	&action_packages,
	&action_service,
	&action_firewalld_service,
	&action_selinux_boolean,
	&action_selinux_context,
	NULL,
};

const struct action_type *action_type_by_name(const char *name)
{
	size_t i;
	for (i = 0; actions[i]; i++)
		if (strcmp(actions[i]->name, name) == 0)
			return actions[i];
	return NULL;
}
