#!/bin/sh
# Runs one build step with the build-only settings that `limr-kit build` passes as build arguments:
#   LIMR_WHEELHOUSE_URL  wheels served from the build host: pip installs from there only (--no-index)
#   LIMR_CA_BUNDLE_URL   a TLS-intercepting proxy's CA bundle, trusted by pip, curl and apt for this step
# The CA bundle is fetched into a temporary file that is deleted before the step ends, so no layer keeps it.
set -eu
if [ -n "${LIMR_WHEELHOUSE_URL:-}" ]; then
    PIP_NO_INDEX=1
    PIP_FIND_LINKS="$LIMR_WHEELHOUSE_URL"
    export PIP_NO_INDEX PIP_FIND_LINKS
fi
if [ -n "${LIMR_CA_BUNDLE_URL:-}" ]; then
    ca_file=$(mktemp /tmp/limr-build-ca.XXXXXX)
    apt_conf=/etc/apt/apt.conf.d/99limr-build-ca
    trap 'rm -f "$ca_file" "$apt_conf"' EXIT
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        cat /etc/ssl/certs/ca-certificates.crt > "$ca_file"
    fi
    python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
        "$LIMR_CA_BUNDLE_URL" >> "$ca_file"
    echo "limr-build-env: trusting the build CA bundle for this step ($(grep -c 'BEGIN CERTIFICATE' "$ca_file") certificates)"
    PIP_CERT="$ca_file"
    SSL_CERT_FILE="$ca_file"
    REQUESTS_CA_BUNDLE="$ca_file"
    CURL_CA_BUNDLE="$ca_file"
    export PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
    if [ -d /etc/apt/apt.conf.d ]; then
        printf 'Acquire::https::CAInfo "%s";\n' "$ca_file" > "$apt_conf"
    fi
fi
"$@"
