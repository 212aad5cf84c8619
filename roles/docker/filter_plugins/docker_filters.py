"""Filters of the docker role: daemon.json key removal and pinned-version lookup in a repository index.

Pure functions on plain data, so tests/ansible/test_docker_role_helpers.py checks them with exact values.
"""

import re
from copy import deepcopy


def docker_daemon_json_remove(config, paths):
    """daemon.json with the given keys removed.

    A path is "key" or "parent.child" (dotted); "path=value" removes the key only while it holds
    that value (e.g. "default-runtime=nvidia": another default runtime set by someone else stays).
    A parent left empty by a removal goes too. Keys not named are kept as they are.
    """
    result = deepcopy(config)
    for spec in paths or []:
        path, sep, value = spec.partition("=")
        keys = path.split(".")
        parents = [result]
        for key in keys[:-1]:
            child = parents[-1].get(key)
            if not isinstance(child, dict):
                break
            parents.append(child)
        else:
            last = parents[-1]
            if keys[-1] in last and (not sep or str(last[keys[-1]]) == value):
                del last[keys[-1]]
                for depth in range(len(keys) - 1, 0, -1):
                    if parents[depth]:
                        break
                    del parents[depth - 1][keys[depth - 1]]
    return result


def docker_missing_versions(wanted, offered):
    """[{name, version, offered}] for each wanted package whose version the index does not offer.

    Repository versions carry an epoch and a release ("3:28.5.2-1.el9", "5:28.5.2-1~debian.12~bookworm"):
    the pinned upstream version must be the part between them.
    """
    missing = []
    for name, version in wanted.items():
        versions = list(offered.get(name, []))
        pattern = re.compile(r"^([0-9]+:)?" + re.escape(str(version)) + r"-")
        if not any(pattern.match(v) for v in versions):
            missing.append({"name": name, "version": str(version), "offered": versions})
    return missing


class FilterModule:
    def filters(self):
        return {
            "docker_daemon_json_remove": docker_daemon_json_remove,
            "docker_missing_versions": docker_missing_versions,
        }
