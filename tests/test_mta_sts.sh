#!/bin/bash
# test_mta_sts.sh - runs tests/test_mta_sts (argument 1) in its "https" mode
# against a real HTTPS server (python3 http.server + ssl) on 127.0.0.1 at a
# free port, with a test CA and a certificate for mta-sts.example.test (and
# the other test names) made here by openssl. Prints TAP.
set -u

exe=${1:?usage: test_mta_sts.sh path/to/test_mta_sts}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! command -v openssl >/dev/null 2>&1; then
    echo "1..0 # SKIP openssl (the command) is not installed"
    exit 0
fi

work=$(mktemp -d /tmp/bc-test-mta-sts.XXXXXX)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A test CA and a server certificate it signs.
names="mta-sts.example.test mta-sts.ctype.test mta-sts.redirect.test mta-sts.large.test mta-sts.short.test"
san=$(printf 'DNS:%s,' $names)
san=${san%,}
if ! {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=BounceCheck test CA" \
        -keyout "$work/ca.key" -out "$work/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=mta-sts.example.test" \
        -keyout "$work/server.key" -out "$work/server.csr" &&
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" > "$work/ext.cnf" &&
    openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
        -days 2 -extfile "$work/ext.cnf" -out "$work/server.pem"
} >"$work/openssl.log" 2>&1; then
    echo "not ok 1 - make the test CA and certificate"
    sed 's/^/# /' "$work/openssl.log"
    echo "1..1"
    exit 1
fi

cat > "$work/server.py" <<'EOF'
# The policy server: answers by Host (mta-sts.<case>.test) and path.
import http.server, ssl, sys, time

GOOD = (b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\n"
        b"mx: *.mx.example.test\r\nmax_age: 604800\r\n")
SHORT = b"version: STSv1\nmode: enforce\nmx: mx1.short.test\nmax_age: 3600\n"

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, ctype, body, length=True):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        path = self.path
        if path == "/slow":
            time.sleep(3)
            return self.send(200, "text/plain", GOOD)
        if path == "/chunked-large":
            # HTTP/1.0, no Content-Length: the body ends when the connection does
            return self.send(200, "text/plain", b"x" * 200000, length=False)
        if path != "/.well-known/mta-sts.txt":
            return self.send(404, "text/plain", b"not here\n")
        if host == "mta-sts.example.test":
            return self.send(200, "text/plain; charset=utf-8", GOOD)
        if host == "mta-sts.ctype.test":
            return self.send(200, "text/html", GOOD)
        if host == "mta-sts.redirect.test":
            self.send_response(301)
            self.send_header("Location", "https://elsewhere.test/policy")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if host == "mta-sts.large.test":
            return self.send(200, "text/plain", GOOD + b"# padding\n" * 10000)
        if host == "mta-sts.short.test":
            return self.send(200, "text/plain", SHORT)
        return self.send(404, "text/plain", b"unknown host\n")

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
srv.serve_forever()
EOF

"$py" "$work/server.py" "$work/server.pem" "$work/server.key" "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    [ -s "$work/port" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$work/port" ]; then
    echo "not ok 1 - start the HTTPS policy server"
    sed 's/^/# /' "$work/server.log"
    echo "1..1"
    exit 1
fi

"$exe" https "$(cat "$work/port")" "$work/ca.pem"
