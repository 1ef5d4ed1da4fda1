#!/usr/bin/env python3
"""openapi_check.py - check HTTP responses of the BounceCheck server against
its OpenAPI 3.1 document (src/server/openapi.json), and lint that document.

Library use (the API tests import it):

    doc = load(path)
    problems = check_response(doc, "GET", "/v1/jobs/0123.../results", 200,
                              "application/x-ndjson", body_bytes)
    problems = validate(doc, "Result", value)      # a components.schemas entry
    problems = lint(doc)

Every function returns a list of problem strings; [] means fine.

Schemas are validated with jsonschema's Draft202012Validator after every
local "$ref" ("#/...") has been inlined here, so no RefResolver or
`referencing` is needed (works with Debian 12's jsonschema 4.10 and newer).
A "$ref" with sibling keywords becomes {"allOf": [target], ...siblings}.

Responses are looked up like this:
- the path (query string dropped) is matched against the path templates,
  literal segments before {templated} ones; a {param} matches one segment;
- a method the path does not document may only answer 405, and a path no
  template matches may only answer 404 (both with the Error schema), since
  those answers cannot be listed under an operation;
- the status must be documented (exactly, as "4XX" or as "default");
- a response without "content" must have an empty body; otherwise the
  Content-Type must match a documented media type: same type/subtype and
  every parameter of the documented key present with the same value
  ("application/json" accepts "application/json; charset=utf-8", but
  "text/csv; charset=utf-8" does not accept a bare "text/csv");
- JSON bodies (application/json, */*+json) are parsed and validated against
  the media type's schema; application/x-ndjson bodies are validated line by
  line against the media type's "x-ndjson-item" schema when there is one;
- when `headers` (a dict, case-insensitive names) is passed, each documented
  response header with "required": true must be present and match its schema.

Command line:
    openapi_check.py DOC                       lint DOC; exit 1 on problems
    openapi_check.py DOC --schema NAME [FILE]  validate the JSON in FILE (or
                                               stdin) against schema NAME
    openapi_check.py DOC --schema NAME --lines [FILE]
                                               the same, each non-empty line
    openapi_check.py DOC --response METHOD PATH STATUS CONTENT_TYPE [FILE]
                                               check_response on FILE's bytes
Exit status: 0 fine, 1 problems (printed one per line), 2 usage error.
"""
import copy
import json
import re
import sys

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover - reported by callers
    Draft202012Validator = None
    SchemaError = Exception

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class RefError(Exception):
    """A "$ref" that does not resolve (or loops)."""


def load(path):
    """The parsed document at `path`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _pointer(doc, ref):
    """The value a local "$ref" ("#/a/b") points to; RefError when none."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise RefError(f"$ref {ref!r} is not local (only #/... is supported)")
    node = doc
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise RefError(f"$ref {ref!r} does not resolve")
    return node


def inline(doc, node, _stack=()):
    """A deep copy of `node` with every local "$ref" replaced by its target
    (recursively). Raises RefError on a dangling or circular "$ref"."""
    if isinstance(node, list):
        return [inline(doc, v, _stack) for v in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    if "$ref" in node:
        ref = node["$ref"]
        if ref in _stack:
            raise RefError(f"$ref {ref!r} is circular")
        target = inline(doc, _pointer(doc, ref), _stack + (ref,))
        rest = {k: inline(doc, v, _stack) for k, v in node.items() if k != "$ref"}
        if not rest:
            return target
        rest.setdefault("allOf", [])
        rest["allOf"] = [target] + rest["allOf"]
        return rest
    return {k: inline(doc, v, _stack) for k, v in node.items()}


def _errors(schema, value, where):
    """Validation problems of `value` against an already inlined schema."""
    if Draft202012Validator is None:
        return ["python3-jsonschema is not installed"]
    v = Draft202012Validator(schema)
    out = []
    for e in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path)):
        at = "/".join(str(p) for p in e.absolute_path)
        out.append(f"{where}: at /{at}: {e.message}")
    return out


def validate(doc, name, value):
    """Problems of `value` against components.schemas[name]."""
    schemas = doc.get("components", {}).get("schemas", {})
    if name not in schemas:
        return [f"no schema {name!r} in components.schemas"]
    try:
        schema = inline(doc, schemas[name])
    except RefError as e:
        return [f"schema {name}: {e}"]
    return _errors(schema, value, name)


# ---- finding the operation and the response

def _split_path(path):
    path = path.split("?", 1)[0].split("#", 1)[0]
    return [s for s in path.split("/")][1:] if path.startswith("/") else None


def match_path(doc, path):
    """(template, params) of the path template matching `path` (an actual
    path or a template itself), or (None, None)."""
    segs = _split_path(path)
    if segs is None:
        return None, None
    best = None
    for tmpl in doc.get("paths", {}):
        tsegs = _split_path(tmpl)
        if tsegs is None or len(tsegs) != len(segs):
            continue
        params = {}
        literal = 0
        for t, s in zip(tsegs, segs):
            m = re.fullmatch(r"\{([^{}]+)\}", t)
            if m:
                if s == "":
                    break
                params[m.group(1)] = s
            elif t == s:
                literal += 1
            else:
                break
        else:
            if best is None or literal > best[0]:
                best = (literal, tmpl, params)
    return (best[1], best[2]) if best else (None, None)


def _media(ct):
    """(type/subtype, {param: value}) of a Content-Type, lower-cased."""
    if not ct:
        return None, {}
    parts = ct.split(";")
    base = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return base, params


def _media_matches(key, actual):
    kbase, kparams = _media(key)
    abase, aparams = _media(actual)
    if abase is None:
        return False
    if kbase != abase and kbase != "*/*":
        if not (kbase.endswith("/*") and abase.split("/")[0] == kbase[:-2]):
            return False
    # charset values are case-insensitive; other parameters compare exactly
    for k, v in kparams.items():
        a = aparams.get(k)
        if a is None or (a.lower() != v.lower() if k == "charset" else a != v):
            return False
    return True


def _is_json(base):
    return base == "application/json" or (base or "").endswith("+json")


def _find_response(responses, status):
    s = str(status)
    if s in responses:
        return responses[s]
    wild = s[0] + "XX"
    for k in responses:
        if k.upper() == wild:
            return responses[k]
    return responses.get("default")


def _check_body(doc, where, media_key, media, base, body):
    problems = []
    try:
        media = inline(doc, media)
    except RefError as e:
        return [f"{where}: {e}"]
    if _is_json(base):
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return [f"{where}: body is not valid JSON: {e}"]
        if "schema" in media:
            problems += _errors(media["schema"], value, where)
    elif base == "application/x-ndjson":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            return [f"{where}: body is not UTF-8: {e}"]
        if text and not text.endswith("\n"):
            problems.append(f"{where}: NDJSON body does not end with a newline")
        item = media.get("x-ndjson-item")
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as e:
                problems.append(f"{where}: line {n} is not JSON: {e}")
                continue
            if item is not None:
                problems += _errors(item, value, f"{where} line {n}")
    return problems


def _check_headers(doc, where, resp, headers):
    problems = []
    have = {k.lower(): v for k, v in headers.items()}
    for name, h in resp.get("headers", {}).items():
        try:
            h = inline(doc, h)
        except RefError as e:
            problems.append(f"{where}: header {name}: {e}")
            continue
        value = have.get(name.lower())
        if value is None:
            if h.get("required"):
                problems.append(f"{where}: required header {name} is missing")
            continue
        if "schema" in h:
            problems += _errors(h["schema"], value, f"{where} header {name}")
    return problems


def check_response(doc, method, path, status, content_type, body, headers=None):
    """Problems of one HTTP response against the document. `path` is an
    actual request path (query allowed) or a template; `body` is bytes (or
    str); `content_type` the Content-Type header or None; `headers` an
    optional dict of response headers."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    body = body or b""
    method = method.lower()
    where = f"{method.upper()} {path} -> {status}"
    tmpl, _ = match_path(doc, path)
    base, _ = _media(content_type)

    def error_only(why):
        if base is None or not _is_json(base):
            return [f"{where}: {why}, and the body is not application/json ({content_type!r})"]
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return [f"{where}: body is not valid JSON: {e}"]
        return [f"{where}: {p}" for p in validate(doc, "Error", value)]

    if tmpl is None:
        if int(status) == 404:
            return error_only("path not documented")
        return [f"{where}: no path template matches {path!r} (only 404 is allowed for it)"]
    item = doc["paths"][tmpl]
    op = item.get(method)
    if op is None:
        if int(status) == 405:
            return error_only("method not documented")
        return [f"{where}: {method.upper()} is not documented for {tmpl} (only 405 is allowed)"]
    where = f"{method.upper()} {tmpl} -> {status}"
    responses = op.get("responses", {})
    resp = _find_response(responses, status)
    if resp is None:
        return [f"{where}: status {status} is not documented (documented: {', '.join(responses)})"]
    try:
        resp = inline(doc, resp)
    except RefError as e:
        return [f"{where}: {e}"]
    problems = []
    if headers is not None:
        problems += _check_headers(doc, where, resp, headers)
    content = resp.get("content")
    if not content:
        if body:
            problems.append(f"{where}: the response documents no body but {len(body)} bytes came")
        return problems
    if content_type is None:
        return problems + [f"{where}: no Content-Type (documented: {', '.join(content)})"]
    for key, media in content.items():
        if _media_matches(key, content_type):
            return problems + _check_body(doc, where, key, media, base, body)
    return problems + [f"{where}: Content-Type {content_type!r} is not documented "
                       f"(documented: {', '.join(content)})"]


# ---- lint

def _walk(node, path=""):
    """Yields (json-pointer-ish path, dict) for every dict in `node`."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}/{i}")


def _check_schema(doc, where, schema):
    if Draft202012Validator is None:
        return ["python3-jsonschema is not installed"]
    try:
        Draft202012Validator.check_schema(inline(doc, schema))
    except RefError as e:
        return [f"{where}: {e}"]
    except SchemaError as e:
        return [f"{where}: schema does not compile: {e.message}"]
    return []


def lint(doc):
    """Problems of the document itself: version, every operation has
    responses, operation ids are unique, path parameters are declared, every
    "$ref" resolves, security schemes exist, and every schema compiles."""
    problems = []
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    if doc.get("openapi") != "3.1.0":
        problems.append(f"openapi is {doc.get('openapi')!r}, want '3.1.0'")
    info = doc.get("info", {})
    for k in ("title", "version"):
        if not info.get(k):
            problems.append(f"info.{k} is missing")
    for where, d in _walk(doc):
        if "$ref" in d and isinstance(d["$ref"], str):
            try:
                _pointer(doc, d["$ref"])
            except RefError as e:
                problems.append(f"#{where}: {e}")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    ids = {}
    paths = doc.get("paths")
    if not isinstance(paths, dict) or not paths:
        problems.append("no paths")
        paths = {}
    for tmpl, item in paths.items():
        if not tmpl.startswith("/"):
            problems.append(f"path {tmpl!r} does not start with /")
        wanted = set(re.findall(r"\{([^{}]+)\}", tmpl))
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = f"{method.upper()} {tmpl}"
            if not op.get("responses"):
                problems.append(f"{where}: no responses")
            oid = op.get("operationId")
            if oid:
                if oid in ids:
                    problems.append(f"{where}: operationId {oid!r} also used by {ids[oid]}")
                ids[oid] = where
            declared = set()
            for p in item.get("parameters", []) + op.get("parameters", []):
                try:
                    p = inline(doc, p)
                except RefError:
                    continue  # reported above
                if p.get("in") == "path":
                    declared.add(p.get("name"))
                    if not p.get("required"):
                        problems.append(f"{where}: path parameter {p.get('name')} is not required: true")
            for name in wanted - declared:
                problems.append(f"{where}: path parameter {{{name}}} is not declared")
            for name in declared - wanted:
                problems.append(f"{where}: path parameter {name} is not in the template")
            for req in op.get("security", doc.get("security", [])):
                for name in req:
                    if name not in schemes:
                        problems.append(f"{where}: unknown security scheme {name!r}")
    for req in doc.get("security", []):
        for name in req:
            if name not in schemes:
                problems.append(f"security: unknown security scheme {name!r}")
    # Every schema compiles: named ones, and every "schema"/"x-ndjson-item"
    # found anywhere else (parameters, headers, media types).
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        problems += _check_schema(doc, f"components.schemas.{name}", s)
    for where, d in _walk({k: v for k, v in doc.items() if k != "components"} |
                          {"components": {k: v for k, v in doc.get("components", {}).items()
                                          if k != "schemas"}}):
        for key in ("schema", "x-ndjson-item"):
            if key in d and isinstance(d[key], (dict, bool)):
                problems += _check_schema(doc, f"#{where}/{key}", d[key])
    return problems


# ---- command line

def _read(arg):
    if arg is None or arg == "-":
        return sys.stdin.buffer.read()
    with open(arg, "rb") as f:
        return f.read()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("Command line:")[1].rstrip(), file=sys.stderr)
        return 2
    try:
        doc = load(argv[1])
    except (OSError, ValueError) as e:
        print(f"{argv[1]}: {e}", file=sys.stderr)
        return 1
    args = argv[2:]
    if not args:
        problems = lint(doc)
    elif args[0] == "--schema" and len(args) >= 2:
        name, rest = args[1], args[2:]
        lines = "--lines" in rest
        rest = [a for a in rest if a != "--lines"]
        if len(rest) > 1:
            print("too many arguments", file=sys.stderr)
            return 2
        data = _read(rest[0] if rest else None).decode("utf-8")
        chunks = [l for l in data.split("\n") if l.strip()] if lines else [data]
        if not chunks:
            print("no input", file=sys.stderr)
            return 1
        problems = []
        for n, c in enumerate(chunks, 1):
            try:
                value = json.loads(c)
            except ValueError as e:
                problems.append(f"input {n}: not JSON: {e}")
                continue
            problems += [f"input {n}: {p}" for p in validate(doc, name, value)]
    elif args[0] == "--response" and len(args) in (5, 6):
        method, path, status, ctype = args[1:5]
        if not status.isdigit():
            print(f"bad status {status!r}", file=sys.stderr)
            return 2
        body = _read(args[5] if len(args) == 6 else None)
        problems = check_response(doc, method, path, int(status), ctype or None, body)
    else:
        print("usage: see openapi_check.py --help", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
