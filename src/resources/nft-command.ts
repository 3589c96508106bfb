/**
 * Where K3s puts the nft it bundles (k3s-root's bin/aux), which its kube-proxy runs in nftables
 * mode.
 */
export const K3S_NFT = '/var/lib/rancher/k3s/data/current/bin/aux/nft';

/**
 * The nft play runs on a host, as a shell word: K3s's own where K3s is installed, else the
 * system's. Once kube-proxy has written its tables with K3s's nft (1.1.x), Debian 12's nft 1.0.6
 * crashes (SIGSEGV) on any `nft -f` or `delete table`, so the firewall could neither check nor
 * load its ruleset on a node with the system's.
 */
export const NFT = `"$(command -v ${K3S_NFT} || echo nft)"`;
