# -*- coding: utf-8 -*-
"""Shared helpers of the decom.sanitize modules: running decom, reading its JSON
lines, and the meaning of its exit codes (cmd/decom/exitcode.go; README "Exit codes")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# decom's exit codes are an interface: each keeps its meaning forever.
EXIT_CODES = {
    0: "success",
    1: "internal error (a bug, or the system refused something basic)",
    2: "usage error: unknown command or flag, bad value, missing argument",
    3: "device error: no such device, not a block device, vanished, unreadable",
    4: "refused by a safety gate; nothing was written",
    5: "wipe failed",
    6: "verification failed",
    7: "completed with exceptions",
    8: "certificate verification failed: altered, untrusted key, wrong type or schema",
    9: "bad input file or key: missing, unreadable, malformed, or a wrong passphrase",
    10: "registry unreachable: certificates wait in the certificate directory",
    130: "interrupted (SIGINT or SIGTERM)",
}


def exit_meaning(rc):
    """What decom's exit code rc means, in the words of decom's own help."""
    return EXIT_CODES.get(rc, "unknown exit code")


def decom_common_spec():
    """Options every module takes."""
    return dict(
        decom_path=dict(type="path", default="decom"),
    )


def find_decom(module):
    """The decom executable: decom_path as given when it has a slash, else from PATH."""
    path = module.params["decom_path"]
    if "/" in path:
        return path
    found = module.get_bin_path(path, required=False, opt_dirs=["/usr/local/sbin", "/usr/sbin", "/sbin"])
    if not found:
        module.fail_json(msg="decom not found on the host (set decom_path)")
    return found


def json_lines(text):
    """The JSON objects of decom's --output json, one per line; lines that are not
    JSON objects (there should be none) are left out."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def of_type(lines, typ):
    """The lines of one type, without their "type" key."""
    res = []
    for line in lines:
        if line.get("type") == typ:
            item = dict(line)
            item.pop("type", None)
            res.append(item)
    return res


def failure_message(cmd_name, rc, stderr, drift=None):
    """One message for a failed decom run: the exit code and its meaning, decom's own
    error lines, and each drift between the approved plan and the host."""
    msg = "decom %s exited with %d: %s" % (cmd_name, rc, exit_meaning(rc))
    errs = [l for l in (stderr or "").splitlines() if l.startswith("decom:") or l.startswith("drift:")]
    if errs:
        msg += "; " + "; ".join(errs)
    for d in drift or []:
        what = d.get("device") or "host"
        msg += "; drift: %s: %s: approved %r, now %r" % (what, d.get("field"), d.get("planned"), d.get("now"))
    return msg
