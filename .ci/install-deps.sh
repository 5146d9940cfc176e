#!/bin/sh
# Installs the Debian servers and client tools that the interop tests (test/interop/) run against:
# Postfix, nginx, nsd, unbound, ldns tools, dig, openssl, swaks, curl; and Postfix's smtp-source, which
# the end-to-end relay benchmark (bench/postfix-relay.bench.ts) injects mail with.
#
# Contract: idempotent. When every binary is already present it changes nothing but re-checks that the
# packages' own daemons are stopped and disabled (the tests start private instances from temp
# directories on loopback addresses; a system daemon bound to *:25 or *:53 would steal their ports).
# Exits non-zero when installation fails or a binary is still missing afterwards. Needs root for apt.
set -eu

# binary:package pairs; the binary is how we detect that the package is installed.
NEEDED="
postfix:postfix
posttls-finger:postfix
smtp-source:postfix
nginx:nginx
nsd:nsd
nsd-checkzone:nsd
unbound:unbound
unbound-checkconf:unbound
ldns-keygen:ldnsutils
ldns-signzone:ldnsutils
ldns-key2ds:ldnsutils
dig:bind9-dnsutils
openssl:openssl
swaks:swaks
curl:curl
"

# Daemons live in /usr/sbin, which a non-login PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
export PATH

missing_packages() {
  {
    for pair in $NEEDED; do
      bin=${pair%%:*}
      pkg=${pair#*:}
      command -v "$bin" >/dev/null 2>&1 || echo "$pkg"
    done
    # swaks only Recommends the Perl TLS module; without it `swaks --tls` exits "TLS not available".
    perl -MNet::SSLeay -e 1 >/dev/null 2>&1 || echo libnet-ssleay-perl
  } | sort -u
}

missing=$(missing_packages)
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: $missing" >&2
    exit 1
  fi
  echo "install-deps: installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks how it should be configured; "No configuration" leaves /etc/postfix alone, which
  # is fine because every test instance brings its own config directory.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086 # the list is whitespace-separated on purpose
  apt-get install -y -qq --no-install-recommends $missing
fi

# Stop and disable the packages' own daemons. Debian's policy-rc.d usually kept them from starting;
# where it did not (a full VM with systemd), they would hold ports 25, 53 and 80.
for service in postfix nginx nsd unbound unbound-resolvconf; do
  if command -v systemctl >/dev/null 2>&1; then
    # "disable" works offline too (it only removes the wants/ symlinks); "--now" needs a running systemd.
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$service" >/dev/null 2>&1 || true
    else
      systemctl disable "$service" >/dev/null 2>&1 || true
    fi
  fi
  if [ ! -d /run/systemd/system ] && command -v service >/dev/null 2>&1; then
    service "$service" stop >/dev/null 2>&1 || true
  fi
done

still=$(missing_packages)
if [ -n "$still" ]; then
  echo "install-deps: still missing after install: $still" >&2
  exit 1
fi
echo "install-deps: all interop binaries present"
