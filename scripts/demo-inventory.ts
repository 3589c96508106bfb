// The demo's inventory: the lab's hosts and connection settings, plus the example BGP cluster's
// variables (kube-proxy in nftables mode: the lab's kernel has no IPVS).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const root = join(import.meta.dirname, '..');
const out = join(root, '.lab', 'demo-inventory');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'group_vars', 'all'), { recursive: true });
cpSync(join(root, 'inventory/lab/hosts.yaml'), join(out, 'hosts.yaml'));
cpSync(join(root, 'inventory/lab/group_vars/all.yaml'), join(out, 'group_vars/all/lab.yaml'));
const cluster = parse(readFileSync(join(root, 'inventory/example-bgp/group_vars/all.yaml'), 'utf8')) as Record<string, unknown>;
const { ansible_user: _user, ...clusterVars } = cluster;
writeFileSync(join(out, 'group_vars/all/cluster.yaml'), `# inventory/example-bgp's variables, for the lab (no IPVS in its kernel)\n${stringify({ ...clusterVars, kube_proxy_mode: 'nftables' })}`);
console.log(out);
