#!/usr/bin/env bash
# Run in the lab's controller namespace after a first apply: creates the article's echo-lb (its
# two agnhost pods and the Service) and waits until the edge routes its address via both workers
# (the nodes with its ready pods). With the apply before it, the time from fresh hosts to a Service
# IP learnt at the edge.
set -euo pipefail
ssh cp1 k3s kubectl apply -f - < "$1" > /dev/null
deadline=$((SECONDS + 300))
ip=
while [ "$SECONDS" -lt "$deadline" ]; do
  ip=$(ssh cp1 "k3s kubectl get svc echo-lb -o go-template='{{range .status.loadBalancer.ingress}}{{.ip}}{{end}}'")
  if [ -n "$ip" ] && [ "$(ssh edge "vtysh -c 'show ip route $ip/32'" | grep -c '192\.0\.2\.1[23],')" = 2 ]; then
    echo "echo-lb $ip routed by the edge"
    exit 0
  fi
  sleep 0.2
done
# What a reader of the failure needs: where the pods run, whether they are ready, what the
# speakers announce and what the edge has.
{
  echo "echo-lb: address '${ip}' not routed by the edge via both workers after 5 minutes"
  ssh cp1 "k3s kubectl get nodes -o wide; k3s kubectl get pods -A -o wide; k3s kubectl get svc,endpointslices -o wide; k3s kubectl get events -A --sort-by=.lastTimestamp | tail -40" || true
  ssh edge "vtysh -c 'show bgp summary' -c 'show ip route ${ip:-0.0.0.0}/32' -c 'show bfd peers brief'" || true
} >&2
exit 1
