"""apitest.py - helpers for the HTTP API tests of `bouncecheck serve`.

Server starts a server on a free loopback port with its own data directory
and captures its stderr; req() performs one request with curl (a real HTTP
client, in a subprocess) and checks every answer against the OpenAPI document
(src/server/openapi.json, through tests/api/openapi_check.py); Tap prints the
TAP lines. Used by test_api.py and by the world test's small Python parts.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("BC_SOURCE_ROOT") or os.path.abspath(os.path.join(HERE, "..", ".."))
OPENAPI_PATH = os.path.join(SOURCE_ROOT, "src", "server", "openapi.json")
# Every wait here (a request, a server's start and stop, a job's end) is
# multiplied by BC_TEST_TIME_SCALE: tests/run-all.sh sets it for the
# ThreadSanitizer build, whose servers run several times slower.
TIME_SCALE = float(os.environ.get("BC_TEST_TIME_SCALE") or 1)


class Tap:
    """TAP output: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        """Prints one result line; diag (a string or list) goes out as '# '
        lines when the check failed. Returns cond as a bool."""
        self.n += 1
        desc = desc.replace("\n", " ")
        if cond:
            print(f"ok {self.n} - {desc}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {desc}", flush=True)
            self.diag(diag)
        return bool(cond)

    def skip(self, desc, reason):
        self.n += 1
        print(f"ok {self.n} - {desc} # SKIP {reason}", flush=True)

    def diag(self, text):
        if text is None:
            return
        if not isinstance(text, (list, tuple)):
            text = [text]
        lines = [ln for t in text for ln in str(t).splitlines()]
        for line in lines[:25]:
            print(f"# {line}", flush=True)

    def done(self):
        """Prints the plan; returns the exit status (0 when all passed)."""
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def latency_stats(state, name, pid):
    """(connections, peak) of the world's latency proxy NAME (its output in
    STATE/NAME.out, process PID) since the previous call, from its SIGUSR1
    report, or None."""
    out = os.path.join(state, f"{name}.out")
    before = open(out, encoding="utf-8", errors="replace").read().count("stats ")
    try:
        os.kill(int(pid), signal.SIGUSR1)
    except (ValueError, OSError):
        return None
    for _ in range(50):
        lines = [ln for ln in open(out, encoding="utf-8", errors="replace") if ln.startswith("stats ")]
        if len(lines) > before:
            f = lines[-1].split()
            try:
                return int(f[1].partition("=")[2]), int(f[2].partition("=")[2])
            except (IndexError, ValueError):
                return None
        time.sleep(0.1)
    return None


class Response:
    def __init__(self, status, headers, body, error=""):
        self.status = status          # int, 0 when no answer came
        self.headers = headers        # {lower-case name: [values]}
        self.body = body              # bytes
        self.error = error            # curl's complaint, if any

    def header(self, name, default=None):
        v = self.headers.get(name.lower())
        return v[-1] if v else default

    @property
    def content_type(self):
        return self.header("content-type", "")

    def json(self):
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def short(self):
        """One line describing the answer, for diagnostics."""
        b = self.body[:300].decode("utf-8", "replace").replace("\n", "\\n")
        return f"HTTP {self.status} {self.content_type!r} {b!r}" + (f" curl: {self.error}" if self.error else "")


class OpenAPIChecker:
    """Checks answers against the OpenAPI document with openapi_check.py.
    Problems (or the checker's absence) are collected; the test reports
    them as one check at the end."""

    def __init__(self, doc_path=OPENAPI_PATH):
        self.problems = []
        self.checked = 0
        self.doc = None
        self.fn = None
        self.missing = None
        try:
            sys.path.insert(0, HERE)
            import openapi_check  # noqa: E402  (beside this file)
            self.fn = openapi_check.check_response
        except Exception as e:  # ImportError or a broken module
            self.missing = f"openapi checker missing: tests/api/openapi_check.py ({e})"
        if self.fn is not None:
            try:
                with open(doc_path, encoding="utf-8") as f:
                    self.doc = json.load(f)
            except (OSError, ValueError) as e:
                self.missing = f"openapi document unusable: {doc_path}: {e}"
                self.fn = None

    def check(self, method, path, resp):
        if resp.status == 0:
            return
        self.checked += 1
        if self.fn is None:
            return
        try:
            hdrs = {k: v[-1] for k, v in resp.headers.items()}
            probs = self.fn(self.doc, method, path, resp.status, resp.content_type or None, resp.body,
                            headers=hdrs)
        except Exception as e:
            probs = [f"checker raised {type(e).__name__}: {e}"]
        for p in probs or []:
            self.problems.append(str(p))

    def report(self, tap):
        """One TAP line: every answer matched the document."""
        if self.fn is None:
            tap.ok(False, f"every response ({self.checked}) matches src/server/openapi.json",
                   self.missing)
            return
        tap.ok(not self.problems,
               f"every response ({self.checked}) matches src/server/openapi.json",
               [f"{len(self.problems)} problems"] + self.problems[:20])


CHECKER = None


def checker():
    global CHECKER
    if CHECKER is None:
        CHECKER = OpenAPIChecker()
    return CHECKER


class Server:
    """A `bouncecheck serve` on a free loopback port.

    bin: the bouncecheck binary; data: the data directory (made when None);
    args: more serve options; env: extra environment. tls: a (cert, key)
    pair for HTTPS; cacert is then what curl trusts."""

    def __init__(self, bin, workdir, args=(), data=None, tls=None, env=None, name="server", wrap=(),
                 host="127.0.0.1"):
        self.bin = bin
        self.workdir = workdir
        self.args = list(args)
        self.data = data or tempfile.mkdtemp(prefix="data-", dir=workdir)
        self.tls = tls
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.name = name
        self.wrap = list(wrap)        # a command prefix (ip netns exec NS)
        self.host = host              # the loopback address it listens on
        self.port = None
        self.proc = None
        self.errpath = os.path.join(workdir, f"{name}.stderr")
        self.starts = 0

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def base(self):
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self, wait=30.0):
        """Starts the server (same port as before on a restart) and waits for
        /healthz; returns an error string or None."""
        if self.port is None:
            self.port = free_port()
        cmd = self.wrap + [self.bin, "serve", "--listen", f"{self.host}:{self.port}", "--data", self.data]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        cmd += self.args
        self.starts += 1
        err = open(self.errpath, "ab")
        err.write(f"---- start {self.starts}: {' '.join(cmd)}\n".encode())
        err.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                     env=self.env)
        err.close()
        deadline = time.time() + wait * TIME_SCALE
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return f"the server exited with status {self.proc.returncode}: {self.stderr_tail()}"
            r = self.req("GET", "/healthz", check=False, timeout=2)
            if r.status == 200:
                return None
            time.sleep(0.1)
        return f"no 200 from /healthz within {wait:.0f}s: {self.stderr_tail()}"

    def stderr_text(self):
        try:
            with open(self.errpath, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_tail(self, lines=8):
        return " | ".join(self.stderr_text().splitlines()[-lines:])

    def stop(self, timeout=15.0):
        """SIGTERM, then waits; SIGKILL if it did not stop. Returns the exit
        status, or None when it had to be killed."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout * TIME_SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def req(self, method, path, headers=None, body=None, body_file=None, form=None,
            key=None, check=True, timeout=60):
        """One request with curl. body: bytes or str (sent with --data-binary
        from a file); body_file: a file to send; form: a list of curl -F
        specifications (multipart). key: an API key (Bearer). Every answer is
        checked against the OpenAPI document unless check is False."""
        return req(self.base, method, path, headers=headers, body=body, body_file=body_file,
                   form=form, key=key, check=check, timeout=timeout, workdir=self.workdir,
                   cacert=self.tls[0] if self.tls else None, wrap=self.wrap)

    def wait_job(self, job_id, key=None, timeout=120.0, until=("done", "failed", "cancelled")):
        """Polls GET /v1/jobs/ID until its status is in until; returns the
        last job object (None when none came)."""
        deadline = time.time() + timeout * TIME_SCALE
        last = None
        while time.time() < deadline:
            r = self.req("GET", f"/v1/jobs/{job_id}", key=key)
            if r.status == 200 and r.json() is not None:
                last = r.json()
                if last.get("status") in until:
                    return last
            elif r.status != 200:
                return last
            time.sleep(0.1)
        return last


def req(base, method, path, headers=None, body=None, body_file=None, form=None, key=None,
        check=True, timeout=60, workdir=None, cacert=None, wrap=()):
    """Performs METHOD BASE+PATH with curl; returns a Response."""
    timeout *= TIME_SCALE
    workdir = workdir or tempfile.gettempdir()
    fd, hdr_path = tempfile.mkstemp(prefix="hdr-", dir=workdir)
    os.close(fd)
    fd, out_path = tempfile.mkstemp(prefix="body-", dir=workdir)
    os.close(fd)
    tmp_body = None
    cmd = list(wrap) + ["curl", "-sS", "--max-time", str(timeout), "-X", method,
                        "-D", hdr_path, "-o", out_path, "-w", "%{http_code}"]
    if cacert:
        cmd += ["--cacert", cacert]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if key is not None:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    if body is not None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        fd, tmp_body = tempfile.mkstemp(prefix="req-", dir=workdir)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        body_file = tmp_body
    if body_file is not None:
        cmd += ["--data-binary", "@" + body_file]
    for spec in form or []:
        cmd += ["-F", spec]
    cmd.append(base + path)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
        code = p.stdout.decode("ascii", "replace").strip()
        status = int(code) if code.isdigit() else 0
        with open(hdr_path, "rb") as f:
            raw = f.read().decode("latin-1")
        with open(out_path, "rb") as f:
            data = f.read()
        error = p.stderr.decode("utf-8", "replace").strip()
    except subprocess.TimeoutExpired:
        status, raw, data, error = 0, "", b"", "curl did not return"
    finally:
        for pth in (hdr_path, out_path, tmp_body):
            if pth:
                try:
                    os.unlink(pth)
                except OSError:
                    pass
    # The last header block is the final answer (after any 100 Continue).
    blocks = [b for b in raw.replace("\r\n", "\n").split("\n\n") if b.strip()]
    hdrs = {}
    if blocks:
        for line in blocks[-1].split("\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    resp = Response(status, hdrs, data, error)
    if check:
        checker().check(method, urllib.parse.urlsplit(path).path, resp)
    return resp


def is_error(resp, status, code=None):
    """True when resp is the contract's error answer: STATUS with
    {"error": {"code": CODE, "message": "..."}} as JSON."""
    if resp.status != status:
        return False
    j = resp.json()
    if not isinstance(j, dict) or not isinstance(j.get("error"), dict):
        return False
    e = j["error"]
    if not isinstance(e.get("message"), str) or not e["message"]:
        return False
    if not resp.content_type.startswith("application/json"):
        return False
    return code is None or e.get("code") == code


def q(s):
    """URL-encodes a query value."""
    return urllib.parse.quote(s, safe="")
