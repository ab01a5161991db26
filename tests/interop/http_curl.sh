#!/usr/bin/env bash
# curl (Debian) against examples/http_echo on 127.0.0.1:$1: keep-alive reuse
# with --next, a chunked upload, Expect: 100-continue.
set -euo pipefail
url="http://127.0.0.1:$1"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAILED (curl): $*"; exit 1; }

# Three requests, one connection: the third is request number 3 on it.
curl -sS "$url/a" -d one -o /dev/null --next "$url/b" -d two -o /dev/null \
    --next "$url/c" -d three -D "$tmp/heads" -o "$tmp/third"
grep -qi '^X-Request-Number: 3' "$tmp/heads" || fail "--next did not reuse the connection: $(cat "$tmp/heads")"
[ "$(cat "$tmp/third")" = three ] || fail "third body: $(cat "$tmp/third")"
echo "curl: --next carried 3 requests on one keep-alive connection"

head -c 300000 /dev/urandom > "$tmp/upload"
curl -sS -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/upload" -D "$tmp/heads" -o "$tmp/echoed" "$url/up"
grep -qi '^X-Body-Framing: chunked' "$tmp/heads" || fail "the upload was not chunked"
cmp -s "$tmp/upload" "$tmp/echoed" || fail "chunked upload came back different"
echo "curl: a 300,000-byte chunked upload echoed byte for byte"

curl -sS -v -H 'Expect: 100-continue' --data-binary @"$tmp/upload" -o "$tmp/echoed" "$url/expect" 2> "$tmp/trace"
grep -q '< HTTP/1.1 100 Continue' "$tmp/trace" || fail "no 100 Continue: $(grep '^<' "$tmp/trace")"
cmp -s "$tmp/upload" "$tmp/echoed" || fail "body after 100 Continue came back different"
echo "curl: Expect: 100-continue answered with 100, then the body echoed"
