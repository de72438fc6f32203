#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: decom_plan
short_description: Write a decom wipe plan for review
description:
  - Runs C(decom wipe --dry-run --plan-out PLAN) on the host. decom plans the wipe of
    the given devices (or, with I(all), of every drive it takes) and writes, touching
    no drive, a plan naming the host (DMI system serial and UUID, hostname) and each
    target's identity (path, kind, serial, WWN, model, size) and method.
  - Fetch the plan to the controller, review it (merge many hosts' plans into one file
    with C(decom plan merge)), and give the approved file to M(decom.sanitize.decom_wipe).
  - Writes only the plan file; no drive is written, so C(changed) is always false.
version_added: "0.1.0"
author:
  - decom project
options:
  decom_path:
    description:
      - The decom executable on the host, a path or a name looked up in C(PATH).
    type: path
    default: decom
  devices:
    description:
      - The devices to plan, such as C(/dev/sdb). Give either I(devices) or I(all).
    type: list
    elements: str
    default: []
  all:
    description:
      - Plan every physical, non-removable drive decom marks wipeable (C(--all)). A plan
        made with I(all) chooses its drives again at wipe time, so a drive added since is
        noticed as drift.
    type: bool
    default: false
  include_removable:
    description:
      - With I(all), take removable and USB-attached drives too.
    type: bool
    default: false
  method:
    description:
      - The method (C(decom methods)), such as C(nist-clear), C(nist-purge) or C(zero).
        decom's default (C(nist-clear)) when not given.
    type: str
  passes:
    description:
      - A custom pass sequence instead of a method, such as C(0x55,0xaa,random,0x00).
    type: str
  rounds:
    description:
      - Run the method's passes this many times.
    type: int
  blank:
    description:
      - End with a pass of zeros.
    type: bool
    default: false
  plan_out:
    description:
      - Where on the host the plan is written.
    type: path
    default: /var/lib/decom/plan.json
notes:
  - Needs root on the host (become).
  - A refused target writes no plan; the module then fails with decom's exit code 4 and
    the planned targets' refusals.
  - Supports check mode; it runs the same, since it writes no drive.
seealso:
  - module: decom.sanitize.decom_inventory
  - module: decom.sanitize.decom_wipe
"""

EXAMPLES = r"""
- name: Plan the wipe of two drives
  decom.sanitize.decom_plan:
    devices: [/dev/sdb, /dev/sdc]
    method: nist-purge
    plan_out: /var/lib/decom/plan.json
  register: plan

- name: Fetch the plan for review
  ansible.builtin.fetch:
    src: "{{ plan.plan_path }}"
    dest: "plans/{{ inventory_hostname }}.json"
    flat: true
"""

RETURN = r"""
plan:
  description: The plan file as written (format C(decom-plan/1), one section for this host).
  returned: success
  type: dict
plan_path:
  description: The plan file on the host.
  returned: success
  type: str
  sample: /var/lib/decom/plan.json
targets:
  description: decom's C(plan) lines, one per target (device, identity, method, passes, refusals).
  returned: always
  type: list
  elements: dict
left_out:
  description: With I(all), the drives left out and why (decom's C(left_out) lines).
  returned: always
  type: list
  elements: dict
rc:
  description: decom's exit code.
  returned: always
  type: int
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.decom.sanitize.plugins.module_utils.decom import (
    decom_common_spec,
    failure_message,
    find_decom,
    json_lines,
    of_type,
)


def main():
    spec = decom_common_spec()
    spec.update(
        devices=dict(type="list", elements="str", default=[]),
        all=dict(type="bool", default=False),
        include_removable=dict(type="bool", default=False),
        method=dict(type="str"),
        passes=dict(type="str"),
        rounds=dict(type="int"),
        blank=dict(type="bool", default=False),
        plan_out=dict(type="path", default="/var/lib/decom/plan.json"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    if p["all"] == bool(p["devices"]):
        module.fail_json(msg="give either devices or all: true")
    plan_out = p["plan_out"]
    parent = os.path.dirname(plan_out)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    cmd = [find_decom(module), "wipe", "--dry-run", "--plan-out", plan_out, "--output", "json"]
    if p["method"]:
        cmd += ["--method", p["method"]]
    if p["passes"]:
        cmd += ["--passes", p["passes"]]
    if p["rounds"] is not None:
        cmd += ["--rounds", str(p["rounds"])]
    if p["blank"]:
        cmd.append("--blank")
    if p["all"]:
        cmd.append("--all")
        if p["include_removable"]:
            cmd.append("--include-removable")
    else:
        cmd += ["--"] + p["devices"]
    rc, out, err = module.run_command(cmd)
    lines = json_lines(out)
    targets = of_type(lines, "plan")
    left_out = of_type(lines, "left_out")
    if rc != 0:
        refusals = ["%s: %s" % (t.get("device"), r) for t in targets for r in (t.get("refusals") or [])]
        msg = failure_message("wipe --dry-run --plan-out", rc, err)
        if refusals:
            msg += "; refused: " + "; ".join(refusals)
        module.fail_json(msg=msg, rc=rc, stderr=err, targets=targets, left_out=left_out, cmd=cmd)
    try:
        with open(plan_out) as f:
            plan = json.load(f)
    except (IOError, OSError, ValueError) as e:
        module.fail_json(msg="cannot read the plan decom wrote: %s" % e, rc=rc, stderr=err)
    module.exit_json(changed=False, rc=rc, plan=plan, plan_path=plan_out, targets=targets, left_out=left_out)


if __name__ == "__main__":
    main()
