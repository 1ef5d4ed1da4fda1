#!/usr/bin/env bash
# test_extract_formats.sh DRIVER - the format decoders of the extractor
# (src/lib/extract/extract_formats.c) against a labelled corpus that
# tests/extract/make_corpus.py writes: every case's file must give exactly
# the expected address set, or fail with the expected message. Also reads
# one case from standard input (a pipe). DRIVER is tests/extract/driver.c
# built (one address per line; "FILE: message" on standard error).
set -uo pipefail
drv=${1:?usage: test_extract_formats.sh DRIVER}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }

if ! "$py" "$here/extract/make_corpus.py" "$tmp/c" 2>"$tmp/gen.err"; then
  echo "1..1"; echo "not ok 1 - corpus generated"; sed 's/^/# /' "$tmp/gen.err"; exit 1
fi

for f in "$tmp"/c/*; do
  case "$f" in *.expect|*.error) continue ;; esac
  base=${f%.*}; name=$(basename "$f")
  "$drv" "$f" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [[ -f "$base.expect" ]]; then
    sort -u "$tmp/out" >"$tmp/got"
    if [[ $rc -eq 0 ]] && cmp -s "$tmp/got" "$base.expect"; then
      ok "$name: exact address set ($(wc -l <"$base.expect") addresses)"
    else
      nok "$name: exact address set (rc=$rc)"
      diff "$base.expect" "$tmp/got" | sed 's/^/# /'; sed 's/^/# stderr: /' "$tmp/err"
    fi
  else
    want=$(head -n1 "$base.error")
    if [[ $rc -ne 0 ]] && grep -qF -- "$want" "$tmp/err" && grep -qF -- "$f" "$tmp/err"; then
      ok "$name: refused with \"$want\""
    else
      nok "$name: refused with \"$want\" (rc=$rc)"; sed 's/^/# /' "$tmp/err" "$tmp/out"
    fi
  fi
done

# the bad files do not stop the others: good, bad, good in one run
"$drv" "$tmp/c/plain.txt" "$tmp/c/binary.bin" "$tmp/c/word.docx" >"$tmp/out" 2>"$tmp/err"; rc=$?
sort -u "$tmp/out" >"$tmp/got"
sort -u "$tmp/c/plain.expect" "$tmp/c/word.expect" >"$tmp/want"
if [[ $rc -eq 1 ]] && cmp -s "$tmp/got" "$tmp/want" && [[ $(wc -l <"$tmp/err") -eq 1 ]]; then
  ok "a binary file between two good ones: one error, both others read"
else
  nok "a binary file between two good ones (rc=$rc)"; sed 's/^/# /' "$tmp/err" "$tmp/got"
fi

# standard input, through a pipe (not seekable): email, docx, pdf
for c in message.eml word.docx doc.pdf html.html; do
  base=${c%.*}
  cat "$tmp/c/$c" | "$drv" - >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [[ $rc -eq 0 ]] && cmp -s <(sort -u "$tmp/out") "$tmp/c/$base.expect"; then
    ok "$c from a pipe (-)"
  else
    nok "$c from a pipe (-) (rc=$rc)"; sed 's/^/# /' "$tmp/err"
  fi
done

# kinds: headers, body, html and mailto in the email; docx and mailto in the document
"$drv" -k "$tmp/c/message.eml" "$tmp/c/word.docx" "$tmp/c/html.html" >"$tmp/kinds" 2>&1
for want in "peggy@example.org	header" "mallory@example.com	body" "trent@example.org	html" \
            "sybil@example.com	mailto" "carl@example.com	docx" "link@example.com	mailto" \
            "kate@example.com	mailto" "ivan@example.com	html"; do
  if grep -qxF -- "$want" "$tmp/kinds"; then ok "kind: ${want/	/ as }"; else
    nok "kind: ${want/	/ as }"; sed 's/^/# /' "$tmp/kinds"; fi
done

# the identifiers of the message are never reported
if grep -qE 'mid\.example|cid\.example|ref\.example' "$tmp/kinds"; then
  nok "Message-ID, Content-ID and References not reported"; else
  ok "Message-ID, Content-ID and References not reported"; fi

# HTML line numbers are the source's (comments, scripts and blank lines included)
printf '<html><body>\n<p>\nline3 a3@example.com\n</p>\n<div>\n\n<b>x</b> b7@example.com</div>\n<!-- c\n\n -->\n<p>c11@example.com</p>\n<script>\nvar x="d13@example.com";\n</script>\n<p>line15\n<a href="mailto:e16@example.com">z</a></p></body></html>\n' >"$tmp/lines.html"
"$drv" -l "$tmp/lines.html" >"$tmp/lines" 2>&1
printf 'a3@example.com\t3\nb7@example.com\t7\nc11@example.com\t11\nd13@example.com\t13\ne16@example.com\t16\n' >"$tmp/lines.want"
if cmp -s "$tmp/lines" "$tmp/lines.want"; then ok "HTML: addresses on their source lines"; else
  nok "HTML: addresses on their source lines"; diff "$tmp/lines.want" "$tmp/lines" | sed 's/^/# /'; fi

# a JSON file larger than the parse bound is streamed whole (no byte lost at the bound)
"$py" -c 'import sys; sys.stdout.write("[" + "\"x\", " * (64 * 1024 * 1024 // 5) + "\"big@example.com\"]\n")' >"$tmp/big.json"
"$drv" "$tmp/big.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 0 ]] && [[ "$(sort -u "$tmp/out")" == "big@example.com" ]]; then ok "JSON over 64 MiB: streamed"; else
  nok "JSON over 64 MiB: streamed (rc=$rc)"; sed 's/^/# /' "$tmp/err"; fi

echo "1..$n"
