#!/usr/bin/env bash
# Run a command inside a throw-away network sandbox, so tests never touch the real host's network:
#   - a new network namespace (the sandbox "host": only lo) and a new mount namespace,
#   - every mount made private, so nothing mounted inside propagates out,
#   - a private tmpfs on /run/netns (named namespaces created inside live and die with the sandbox),
#   - a private tmpfs on /etc/netns (the files `ip netns exec` binds over /etc: tests never write the real /etc),
#   - a fresh sysfs on /sys (so /sys/class/net shows the sandbox's links, not the host's),
#   - lo up.
# The sandbox ends when the command ends; its exit code is the command's.
# Usage: tests/sandbox.sh CMD [ARGS...]
set -euo pipefail
if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  exec sudo -E "$0" "$@"
fi
# The mount points must exist before the sandbox can cover them; an empty directory changes nothing (an existing
# one is left as it is: mkdir -p, and nothing here ever removes it).
mkdir -p /run/netns /etc/netns
exec unshare --net --mount -- bash -c '
  set -euo pipefail
  mount --make-rprivate /
  mount -t tmpfs -o mode=0755 netns-sandbox /run/netns
  mount -t tmpfs -o mode=0755 netns-etc-sandbox /etc/netns
  mount -t sysfs sysfs-sandbox /sys
  ip link set lo up
  export NETNS_CORE_SANDBOX=1
  exec "$@"
' netns-sandbox "$@"
