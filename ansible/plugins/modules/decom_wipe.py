#!/usr/bin/python
# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: decom_wipe
short_description: Wipe exactly the drives an approved decom plan lists
description:
  - Runs C(decom wipe --approved PLAN --output json) on the host. decom takes the
    targets and the method from this host's section of the approved plan (one host's
    plan, or many merged with C(decom plan merge)), compares them with the host as it
    is now, and wipes, verifies and certifies exactly those drives.
  - Any difference between the plan and the host (a drive missing or added, a changed
    serial, WWN, model or size, another method, a plan with no section for this host)
    refuses the whole run before anything is written; the module then fails with
    decom's exit code 4 and each difference in C(drift).
  - On any non-zero exit the module fails with the exit code's meaning
    (see decom's README, "Exit codes"), and still returns the records decom printed.
  - In check mode decom only compares the plan with the host (C(--approved --dry-run));
    nothing is written and C(changed) is false.
version_added: "0.1.0"
author:
  - decom project
options:
  decom_path:
    description:
      - The decom executable on the host, a path or a name looked up in C(PATH).
    type: path
    default: decom
  approved:
    description:
      - The approved plan file on the host.
    type: path
    required: true
  key:
    description:
      - The signing key for the certificates on the host (a key file from
        C(decom keys generate), or a KMS URI). Without it decom uses its configuration.
    type: str
  key_passphrase:
    description:
      - The key file's passphrase, handed to decom in its environment
        (C(DECOM_KEY_PASSWORD)), never on the command line.
    type: str
  operator:
    description:
      - The name of the person responsible for the wipe, for the certificates.
    type: str
  cert_dir:
    description:
      - Where decom writes the certificates on the host.
    type: path
    default: /var/lib/decom/certificates
  no_certificate:
    description:
      - Write no certificate (C(--no-certificate)); C(key) and C(operator) are then unused.
    type: bool
    default: false
  registry:
    description:
      - URL of the registry the certificates are uploaded to. A registry that cannot be
        reached leaves them in I(cert_dir) and the module fails with exit code 10.
    type: str
  registry_token:
    description:
      - The registry's API token, handed to decom in its environment (C(DECOM_REGISTRY_TOKEN)).
    type: str
  verify:
    description:
      - How the result is read back.
    type: str
    choices: [sample, full, none]
  coverage:
    description:
      - Share of each drive a sampled verification reads, such as C(10%).
    type: str
  extra_args:
    description:
      - More arguments for C(decom wipe), such as C(--job) or C(--notes).
        Arguments that choose targets or methods are refused by decom with an approved plan.
    type: list
    elements: str
    default: []
notes:
  - Needs root on the host (become).
  - No terminal and no C(--yes) are needed; the approved plan is the consent.
seealso:
  - module: decom.sanitize.decom_plan
  - module: decom.sanitize.decom_inventory
"""

EXAMPLES = r"""
- name: Copy the approved plan
  ansible.builtin.copy:
    src: approved/rack12.json
    dest: /var/lib/decom/approved.json
    mode: "0600"

- name: Wipe what the plan approves
  decom.sanitize.decom_wipe:
    approved: /var/lib/decom/approved.json
    key: /var/lib/decom/site.key
    key_passphrase: "{{ vault_decom_key_passphrase }}"
    operator: Jane Doe
    cert_dir: /var/lib/decom/certificates
    registry: https://registry.example.net
    registry_token: "{{ vault_decom_registry_token }}"
  register: wiped

- name: Fetch the certificates
  ansible.builtin.fetch:
    src: "{{ item }}"
    dest: "certificates/{{ inventory_hostname }}/"
    flat: true
  loop: "{{ wiped.certificates + wiped.certificate_pdfs }}"
"""

RETURN = r"""
records:
  description: decom's C(record) lines, one per target that ran (wipe record,
    verification, certificate, registry receipt).
  returned: always
  type: list
  elements: dict
certificates:
  description: The certificate files written on the host.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/decom/certificates/2026-12-03T13-31-12Z-S3Z9NB0K123456.sigstore.json]
certificate_pdfs:
  description: Their PDF renderings on the host.
  returned: always
  type: list
  elements: str
receipts:
  description: The registry's receipts (log index, inclusion proof, checkpoint), one per
    uploaded certificate, each with the C(device) and C(certificate) it is for.
  returned: always
  type: list
  elements: dict
registry_errors:
  description: Why certificates were not uploaded (they wait in I(cert_dir) for C(decom cert push)).
  returned: always
  type: list
  elements: dict
drift:
  description: Each difference between the approved plan and the host (C(device), C(field),
    C(planned), C(now)); not empty only when decom refused the run.
  returned: always
  type: list
  elements: dict
  sample: [{"device": "/dev/sdb", "field": "size_bytes", "planned": "8388608", "now": "12582912"}]
targets:
  description: decom's C(plan) lines, one per target.
  returned: always
  type: list
  elements: dict
rc:
  description: decom's exit code.
  returned: always
  type: int
exit_meaning:
  description: What the exit code means.
  returned: always
  type: str
  sample: refused by a safety gate; nothing was written
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.decom.sanitize.plugins.module_utils.decom import (
    decom_common_spec,
    exit_meaning,
    failure_message,
    find_decom,
    json_lines,
    of_type,
)


def main():
    spec = decom_common_spec()
    spec.update(
        approved=dict(type="path", required=True),
        key=dict(type="str", no_log=False),
        key_passphrase=dict(type="str", no_log=True),
        operator=dict(type="str"),
        cert_dir=dict(type="path", default="/var/lib/decom/certificates"),
        no_certificate=dict(type="bool", default=False),
        registry=dict(type="str"),
        registry_token=dict(type="str", no_log=True),
        verify=dict(type="str", choices=["sample", "full", "none"]),
        coverage=dict(type="str"),
        extra_args=dict(type="list", elements="str", default=[]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    cmd = [find_decom(module), "wipe", "--approved", p["approved"], "--output", "json"]
    if module.check_mode:
        cmd.append("--dry-run")
    if p["no_certificate"]:
        cmd.append("--no-certificate")
    else:
        if p["key"]:
            cmd += ["--key", p["key"]]
        if p["operator"]:
            cmd += ["--operator", p["operator"]]
        cmd += ["--cert-dir", p["cert_dir"]]
    if p["registry"]:
        cmd += ["--registry", p["registry"]]
    if p["verify"]:
        cmd += ["--verify", p["verify"]]
    if p["coverage"]:
        cmd += ["--coverage", p["coverage"]]
    cmd += p["extra_args"]
    env = {}
    if p["key_passphrase"] is not None:
        env["DECOM_KEY_PASSWORD"] = p["key_passphrase"]
    if p["registry_token"] is not None:
        env["DECOM_REGISTRY_TOKEN"] = p["registry_token"]

    rc, out, err = module.run_command(cmd, environ_update=env)
    lines = json_lines(out)
    records = of_type(lines, "record")
    drift = of_type(lines, "plan_drift")
    certs, pdfs, receipts, reg_errors = [], [], [], []
    for r in records:
        dev = r.get("device")
        if r.get("certificate"):
            certs.append(r["certificate"])
        if r.get("certificate_pdf"):
            pdfs.append(r["certificate_pdf"])
        if r.get("registry_receipt"):
            rec = dict(r["registry_receipt"])
            rec.update(device=dev, certificate=r.get("certificate"))
            receipts.append(rec)
        if r.get("registry_error"):
            reg_errors.append(dict(device=dev, certificate=r.get("certificate"), error=r["registry_error"]))
    result = dict(
        changed=bool(records) and not module.check_mode,
        rc=rc,
        exit_meaning=exit_meaning(rc),
        records=records,
        certificates=certs,
        certificate_pdfs=pdfs,
        receipts=receipts,
        registry_errors=reg_errors,
        drift=drift,
        targets=of_type(lines, "plan"),
        cmd=cmd,
    )
    if rc != 0:
        module.fail_json(msg=failure_message("wipe --approved", rc, err, drift), stderr=err, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
