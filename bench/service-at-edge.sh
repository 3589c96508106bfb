#!/usr/bin/env bash
# Run in the lab's controller namespace after a first apply: creates the article's echo-lb (its
# two agnhost pods and the Service) and waits until the edge routes its address via both workers
# (the nodes with its ready pods). With the apply before it, the time from fresh hosts to a Service
# IP learnt at the edge.
set -euo pipefail
ssh cp1 k3s kubectl apply -f - < "$1" > /dev/null
for _ in $(seq 1500); do
  ip=$(ssh cp1 "k3s kubectl get svc echo-lb -o go-template='{{range .status.loadBalancer.ingress}}{{.ip}}{{end}}'")
  if [ -n "$ip" ] && [ "$(ssh edge "vtysh -c 'show ip route $ip/32'" | grep -c '192\.0\.2\.1[23],')" = 2 ]; then
    echo "echo-lb $ip routed by the edge"
    exit 0
  fi
  sleep 0.2
done
echo "echo-lb: no address routed by the edge after 5 minutes" >&2
exit 1
