#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: decom_inventory
short_description: Inventory a host's drives with decom
description:
  - Runs C(decom inventory -o json) on the host and returns what it found as facts
    (C(decom_inventory)), each drive with its identity (serial, WWN, model, size),
    media, transport, partitions, mounts, use and whether decom would agree to wipe it.
  - Reads only; changes nothing on the host (C(changed) is always false).
version_added: "0.1.0"
author:
  - decom project
options:
  decom_path:
    description:
      - The decom executable on the host, a path or a name looked up in C(PATH)
        (and C(/usr/local/sbin), C(/usr/sbin), C(/sbin)).
    type: path
    default: decom
  wipeable:
    description:
      - List only the drives decom would agree to wipe (C(--wipeable)).
    type: bool
    default: false
  no_firmware:
    description:
      - Do not ask the drives' firmware for its sanitize capabilities (C(--no-firmware)).
    type: bool
    default: false
notes:
  - Needs root on the host (become), as decom does.
  - Supports check mode; it runs the same, since it writes nothing.
seealso:
  - module: decom.sanitize.decom_plan
  - module: decom.sanitize.decom_wipe
"""

EXAMPLES = r"""
- name: Inventory the drives
  decom.sanitize.decom_inventory:
    decom_path: /usr/local/sbin/decom
  register: inv

- name: Show the wipeable drives' paths
  ansible.builtin.debug:
    msg: "{{ ansible_facts.decom_inventory.devices | map(attribute='path') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    decom_inventory:
      description: decom's inventory, as C(decom inventory -o json) prints it.
      type: dict
      returned: success
devices:
  description: The drives found (the same as C(ansible_facts.decom_inventory.devices)).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/dev/sda", "serial": "S3Z9NB0K123456", "size_bytes": 500107862016}]
rc:
  description: decom's exit code.
  returned: always
  type: int
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.decom.sanitize.plugins.module_utils.decom import (
    decom_common_spec,
    failure_message,
    find_decom,
)


def main():
    spec = decom_common_spec()
    spec.update(
        wipeable=dict(type="bool", default=False),
        no_firmware=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    cmd = [find_decom(module), "inventory", "--output", "json"]
    if module.params["wipeable"]:
        cmd.append("--wipeable")
    if module.params["no_firmware"]:
        cmd.append("--no-firmware")
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg=failure_message("inventory", rc, err), rc=rc, stderr=err, cmd=cmd)
    try:
        inv = json.loads(out)
    except ValueError as e:
        module.fail_json(msg="decom inventory printed no JSON: %s" % e, rc=rc, stdout=out, stderr=err)
    module.exit_json(changed=False, rc=rc, devices=inv.get("devices", []), ansible_facts=dict(decom_inventory=inv))


if __name__ == "__main__":
    main()
