/** K3s's auto-deploy directory on a server: it applies every manifest there (metallb-install writes one). */
export const K3S_MANIFESTS = '/var/lib/rancher/k3s/server/manifests';
