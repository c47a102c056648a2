/*
 * steps.c - the stages in the order apply runs them.
 */
#include "steps.h"

#include <string.h>

static const struct stage *const all[] = {
	&stage_preflight,
	&stage_repos,
	&stage_packages,
	&stage_tls,
	&stage_dkim_keys,
	&stage_opendkim,
	&stage_sasl,
	&stage_postfix_main,
	&stage_postfix_master,
	&stage_selinux,
	&stage_firewall,
	&stage_provider,
	&stage_services,
	&stage_dns,
	NULL,
};

static const struct action_type *const actions[] = {
	&action_packages,
	&action_service,
	&action_firewalld_service,
	&action_selinux_boolean,
	&action_selinux_context,
	&action_sakura_ptr,
	&action_sakura_filter,
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

const struct stage *const *stages_all(void)
{
	return all;
}

const struct stage *stage_by_name(const char *name)
{
	size_t i;
	for (i = 0; all[i]; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
