"""ansible-core itself, asked what an inventory means: for each case (an inventory folder, host
patterns, --limit pairs, variable names), the hosts Ansible selects, in order, each group's hosts
and every host's variables. One process for all cases: importing Ansible costs a second.

Reads a JSON list of cases on stdin, writes a JSON list of answers on stdout."""
import json
import sys
import tempfile

from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager, split_host_pattern
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager


def hosts(inventory, pattern):
    try:
        return [h.name for h in inventory.get_hosts(pattern)]
    except AnsibleError as e:
        return {"error": str(e)}


def empty_term(inventory, pattern):
    """Whether a term of the pattern matches nothing (Ansible warns and goes on without it)."""
    for term in split_host_pattern(pattern):
        if term in inventory._inventory.hosts:
            continue
        try:
            if not inventory._match_one_pattern(term):
                return True
        except AnsibleError:
            return True
    return False


EMPTY = tempfile.mkdtemp()


def answer(case):
    loader = DataLoader()
    # What ansible-playbook reads beside the playbook: group_vars/ and host_vars/ of its folder.
    loader.set_basedir(case.get("playbook_dir") or EMPTY)
    inventory = InventoryManager(loader=loader, sources=[case["dir"]])
    variables = VariableManager(loader=loader, inventory=inventory)
    patterns = {p: hosts(inventory, p) for p in case["patterns"]}
    empty = {p: empty_term(inventory, p) for p in case["patterns"]}
    limited = []
    for pattern, limit in case["limits"]:
        inventory.subset(limit)
        limited.append(hosts(inventory, pattern))
        inventory.subset(None)
        empty[limit] = empty_term(inventory, limit)
    groups = {name: [h.name for h in g.get_hosts()] for name, g in inventory.groups.items()}
    names = set(case["vars"])
    host_vars = {}
    for host in inventory.get_hosts("all"):
        found = variables.get_vars(host=host, include_hostvars=False)
        host_vars[host.name] = {k: found[k] for k in sorted(names) if k in found}
    return {"patterns": patterns, "empty": empty, "limited": limited, "groups": groups, "vars": host_vars}


print(json.dumps([answer(c) for c in json.load(sys.stdin)]))
