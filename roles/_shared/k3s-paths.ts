/** K3s's auto-deploy directory on a server: it applies every manifest there (metallb-install writes one). */
export const K3S_MANIFESTS = '/var/lib/rancher/k3s/server/manifests';

/**
 * kubectl as play runs it on a server. Its discovery and HTTP caches go to /run (memory), not to
 * root's ~/.kube/cache: a read-only reading (check mode, play doctor) must leave the disk as it
 * was, and kubectl rewrites its cache as the API server's answers change.
 */
export const KUBECTL = 'k3s kubectl --cache-dir=/run/play/kubectl-cache';
