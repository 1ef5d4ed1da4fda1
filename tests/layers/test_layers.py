#!/usr/bin/env python3
"""test_layers.py BUILD_DIR - the layers of docs/architecture.md, as the build
enforces them: for each layer, a file compiled with that layer's own flags
(taken from BUILD_DIR/compile_commands.json) can include the headers of the
layers it may use and fails to compile when it includes one it may not.
TAP on stdout."""
import json
import os
import shlex
import subprocess
import sys
import tempfile

build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")

# layer -> (a source file of that layer, headers it may include, headers it may not)
LIB_INTERNAL = "smtp/smtp_reply.h"  # any header of src/lib: nothing above the library sees them
LAYERS = {
    "bulk": ("src/bulk/runner.c", ["bouncecheck.h", "bulk.h", "state.h", "recheck.h"],
             ["store.h", "worker.h", "coord.h", "cli.h", "sv.h", "server.h", LIB_INTERNAL]),
    "store": ("src/store/store.c", ["store.h"],
              ["bouncecheck.h", "bulk.h", "worker.h", "cli.h", "sv.h", LIB_INTERNAL]),
    "work": ("src/work/worker.c", ["bouncecheck.h", "bulk.h", "store.h", "worker.h", "coord.h", "log.h"],
             ["cli.h", "settings.h", "sv.h", "server.h", LIB_INTERNAL]),
    "cli": ("src/cli/cli.c", ["bouncecheck.h", "bulk.h", "store.h", "worker.h", "coord.h", "cli.h"],
            ["sv.h", "server.h", "selfcheck.h", LIB_INTERNAL]),
    "server": ("src/server/serve.c", ["bouncecheck.h", "store.h", "worker.h", "cli.h", "sv.h"],
               [LIB_INTERNAL]),
}


def command_for(src):
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    for e in entries:
        path = os.path.normpath(os.path.join(e["directory"], e["file"]))
        # the layer's own target, not a test that compiles the file again
        if path.endswith(src) and "libbc_" in e["command"]:
            return e["directory"], shlex.split(e["command"])
    return None, None


def compiles(directory, argv, header):
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.c")
        with open(probe, "w") as f:
            f.write('#include "%s"\nint layer_probe(void);\nint layer_probe(void) { return 0; }\n' % header)
        out = []
        skip = False
        for a in argv:
            if skip:
                skip = False
                continue
            if a in ("-o", "-MF", "-MQ"):
                skip = True
                continue
            if a == "-c" or a.endswith(".c"):
                continue
            out.append(a)
        out += ["-c", probe, "-o", os.path.join(tmp, "probe.o")]
        r = subprocess.run(out, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0


n = 0
failed = 0
lines = []
for layer, (src, allowed, forbidden) in LAYERS.items():
    directory, argv = command_for(src)
    if not argv:
        n += 1
        failed += 1
        lines.append("not ok %d - %s: no compile command for %s in compile_commands.json" % (n, layer, src))
        continue
    for h in allowed:
        n += 1
        ok = compiles(directory, argv, h)
        failed += not ok
        lines.append("%s %d - %s may include %s" % ("ok" if ok else "not ok", n, layer, h))
    for h in forbidden:
        n += 1
        ok = not compiles(directory, argv, h)
        failed += not ok
        lines.append("%s %d - %s cannot include %s" % ("ok" if ok else "not ok", n, layer, h))

# A relative include would walk around the include paths.
src_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
sideways = []
for root, _, files in os.walk(src_root):
    for name in files:
        if name.endswith((".c", ".h")):
            with open(os.path.join(root, name), errors="replace") as f:
                for i, line in enumerate(f, 1):
                    if line.lstrip().startswith("#include") and '"../' in line:
                        sideways.append("%s:%d" % (os.path.relpath(os.path.join(root, name), src_root), i))
n += 1
failed += bool(sideways)
lines.append("%s %d - no file includes a header by a relative path (%s)"
             % ("not ok" if sideways else "ok", n, ", ".join(sideways[:5]) or "none"))

# Inside the library, the folders are stages that use only the stages below
# them (docs/architecture.md): the include paths cannot tell, so the
# includes are read.
LIB_STAGES = {
    "core": set(),
    "syntax": {"core"},
    "smtp": {"core", "syntax"},
    "data": {"core", "syntax", "smtp"},
    "dns": {"core", "syntax", "smtp", "data"},
    "verify": {"core", "syntax", "smtp", "data", "dns"},
    "health": {"core", "syntax", "smtp", "data", "dns"},
    "extract": {"core", "syntax"},
}
lib_root = os.path.join(src_root, "lib")
present = sorted(d for d in os.listdir(lib_root) if os.path.isdir(os.path.join(lib_root, d)))
n += 1
unknown = [d for d in present if d not in LIB_STAGES]
failed += bool(unknown)
lines.append("%s %d - every folder of src/lib is a known stage (%s)"
             % ("not ok" if unknown else "ok", n, ", ".join(unknown) or "none unknown"))
for stage, may in LIB_STAGES.items():
    bad = []
    folder = os.path.join(lib_root, stage)
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(folder, name), errors="replace") as f:
            for i, line in enumerate(f, 1):
                t = line.strip()
                if t.startswith("#include \"") and "/" in t:
                    used = t.split('"')[1].split("/")[0]
                    if used != stage and used not in may:
                        bad.append("%s/%s:%d uses %s" % (stage, name, i, used))
    n += 1
    failed += bool(bad)
    lines.append("%s %d - lib/%s uses only %s (%s)" % ("not ok" if bad else "ok", n, stage,
                 ", ".join(sorted(may)) or "nothing else", "; ".join(bad[:5]) or "so it does"))

print("1..%d" % n)
print("\n".join(lines))
sys.exit(1 if failed else 0)
