#!/usr/bin/python
# -*- coding: utf-8 -*-
# mailstage.py - the Ansible module of the mailstage collection: runs
# `mailstage --json plan|apply` on the host and reports what mailstage said.
# `changed` is read from mailstage's JSON, never guessed; check mode is
# `plan`; --diff is mailstage's own unified diff per file.
# Copyright (c) 2026 The mailstage developers. MIT licence (see LICENSE).

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mailstage
short_description: Converge a host into an authenticated sending mail server with mailstage
version_added: "0.1.0"
description:
  - Runs C(mailstage --json apply) (I(state=converged)) or C(mailstage --json plan)
    (I(state=planned)) on the managed host. mailstage configures Postfix with TLS
    and SASL submission, OpenDKIM, the SPF/DKIM/DMARC records, firewalld and
    SELinux in checkpointed stages, and rolls a failed run back.
  - C(changed) is taken from mailstage's JSON output. An apply is changed when a
    stage reports C(changed); a plan (and check mode) when a stage reports C(pending).
  - In check mode the module runs C(mailstage plan) whatever I(state) says, so
    nothing changes on the host.
  - With C(--diff), the unified diff mailstage computes for each file it would
    change (or changed) is returned as Ansible's diff (C(prepared)). Keys and
    other secrets are never shown.
  - A failed apply fails the task with mailstage's message and exit code, and
    says whether the run was rolled back (exit 3) or the restore was incomplete
    (exit 4).
  - The DNS records to publish (C(mailstage dns --format json)) are returned as
    the fact C(mailstage_dns), so that a play can hand them to a DNS module.
options:
  state:
    description:
      - C(converged) runs C(mailstage apply); C(planned) runs C(mailstage plan)
        and changes nothing.
    type: str
    choices: [converged, planned]
    default: converged
  only:
    description: Run only these stages (C(mailstage --only)). See C(mailstage stages).
    type: list
    elements: str
  skip:
    description: Run every stage but these (C(mailstage --skip)).
    type: list
    elements: str
  root:
    description: Act on the system installed under this directory (C(mailstage --root)).
    type: path
  config:
    description: The configuration file (C(mailstage --config)); default
      /etc/mailstage/mailstage.conf inside I(root).
    type: path
  config_content:
    description:
      - The configuration as text, used instead of I(config) for this run only
        (written to the module's private temporary directory, removed
        afterwards). The role uses it in check mode, where the new
        configuration is not yet on the host.
    type: str
  profile:
    description: Platform profile instead of reading os-release.
    type: str
    choices: [el7, el8, el9, debian12]
  binary:
    description: The mailstage program on the host.
    type: path
    default: mailstage
  dns_facts:
    description: Return C(mailstage dns --format json) as the fact C(mailstage_dns).
    type: bool
    default: true
requirements:
  - mailstage on the managed host (the role installs it), run as root.
author:
  - The mailstage developers
notes:
  - Supports check mode and diff mode.
  - Exit codes are mailstage's, see mailstage(8). 2 from C(plan) means changes
    are pending and is not a failure.
'''

EXAMPLES = r'''
- name: Converge the mail server
  mailstage.mailstage.mailstage:
    state: converged
  register: ms

- name: What would change in the TLS and DKIM stages
  mailstage.mailstage.mailstage:
    state: planned
    only: [tls, dkim-keys]

- name: Show the records to publish
  ansible.builtin.debug:
    var: ansible_facts.mailstage_dns
'''

RETURN = r'''
stages:
  description: One entry per stage, as C(mailstage --json) printed it.
  returned: always
  type: list
  elements: dict
  sample: [{"stage": "tls", "status": "converged", "changes": [], "notes": [], "error": null}]
changes:
  description: The number of changes made (apply) or pending (plan).
  returned: always
  type: int
exit_code:
  description: mailstage's exit code (0, or 2 for a plan with changes pending).
    Ansible reads a non-zero C(rc) as failure, so C(rc) is set only when the
    task fails.
  returned: always
  type: int
rc:
  description: mailstage's exit code, when the task failed.
  returned: on failure
  type: int
rolled_back:
  description: For a failed apply, whether mailstage restored the system (exit 3).
  returned: on failure
  type: bool
mailstage_dns:
  description: The DNS records to publish, C(mailstage dns --format json).
  returned: when dns_facts and the records can be computed
  type: dict
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

# mailstage(8): exit codes
EXIT_TEXT = {
    1: "failed (rollback refused or incomplete)",
    3: "apply failed; the system was restored (rolled back)",
    4: "apply failed; the restore was incomplete",
    64: "usage error",
    69: "a required program is missing",
    74: "I/O error (state directory, disk full)",
    75: "another run holds the lock, or an interrupted run must be resolved first",
    77: "permission denied",
    78: "bad configuration or unsupported OS",
}


def base_argv(module):
    p = module.params
    argv = [p['binary']]
    if p['root']:
        argv += ['--root', p['root']]
    if p['config']:
        argv += ['--config', p['config']]
    if p['profile']:
        argv += ['--profile', p['profile']]
    return argv


def parse_stages(out):
    stages = []
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith('{'):
            continue
        try:
            stages.append(json.loads(line))
        except ValueError:
            continue
    return stages


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='converged', choices=['converged', 'planned']),
            only=dict(type='list', elements='str'),
            skip=dict(type='list', elements='str'),
            root=dict(type='path'),
            config=dict(type='path'),
            config_content=dict(type='str', no_log=False),
            profile=dict(type='str', choices=['el7', 'el8', 'el9', 'debian12']),
            binary=dict(type='path', default='mailstage'),
            dns_facts=dict(type='bool', default=True),
        ),
        mutually_exclusive=[['only', 'skip'], ['config', 'config_content']],
        supports_check_mode=True,
    )
    p = module.params
    binary = p['binary']
    if '/' not in binary:
        binary = module.get_bin_path(binary, required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin'])
        p['binary'] = binary

    if p['config_content'] is not None:
        path = os.path.join(module.tmpdir, 'mailstage.conf')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(p['config_content'])
        p['config'] = path

    plan = module.check_mode or p['state'] == 'planned'
    argv = base_argv(module) + ['--json']
    if p['only']:
        argv += ['--only', ','.join(p['only'])]
    if p['skip']:
        argv += ['--skip', ','.join(p['skip'])]
    argv.append('plan' if plan else 'apply')

    rc, out, err = module.run_command(argv, environ_update={'LC_ALL': 'C'})
    stages = parse_stages(out)
    want = 'pending' if plan else 'changed'
    changed_stages = [s for s in stages if s.get('status') == want]
    nchanges = sum(len(s.get('changes') or []) for s in changed_stages)
    result = dict(
        changed=bool(changed_stages),
        stages=stages,
        changes=nchanges,
        exit_code=rc,
        cmd=argv,
        stderr=err,
    )
    if module._diff:
        diffs = []
        for s in stages:
            for c in s.get('changes') or []:
                if c.get('diff'):
                    diffs.append(dict(before_header=c.get('path'), after_header=c.get('path'),
                                      prepared=c['diff']))
        if diffs:
            result['diff'] = diffs

    ok_rc = (0, 2) if plan else (0,)
    if rc not in ok_rc:
        failed = [s for s in stages if s.get('status') == 'failed']
        reason = failed[-1].get('error') if failed and failed[-1].get('error') else None
        if not reason:
            # mailstage's own one-line message (usage, configuration, lock...)
            lines = [l for l in err.splitlines() if l.startswith('mailstage:')]
            reason = lines[-1][len('mailstage:'):].strip() if lines else err.strip()
        stage = failed[-1].get('stage') if failed else None
        msg = 'mailstage %s exited %d (%s)' % (argv[-1], rc, EXIT_TEXT.get(rc, 'failed'))
        if stage:
            msg += ' in stage %s' % stage
        if reason:
            msg += ': %s' % reason
        result['rc'] = rc
        if not plan:
            result['rolled_back'] = rc == 3
            # A failed apply that was rolled back changed nothing in the end.
            result['changed'] = rc == 4
        module.fail_json(msg=msg, **result)

    if p['dns_facts']:
        drc, dout, derr = module.run_command(base_argv(module) + ['dns', '--format', 'json'],
                                             environ_update={'LC_ALL': 'C'})
        if drc == 0:
            try:
                result['ansible_facts'] = dict(mailstage_dns=json.loads(dout))
            except ValueError:
                module.warn('mailstage dns --format json printed something that is not JSON')
        else:
            module.warn('no DNS records yet (mailstage dns exited %d: %s)'
                        % (drc, derr.strip().splitlines()[-1] if derr.strip() else ''))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
