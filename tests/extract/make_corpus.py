#!/usr/bin/env python3
"""make_corpus.py OUTDIR - writes the labelled corpus for the extraction
format tests: for every case a file CASE.EXT and either CASE.expect (the
exact set of addresses, one per line, sorted) or CASE.error (a text the
error message must contain)."""
import base64
import io
import os
import sys
import zipfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def case(name, ext, data, expect=None, error=None):
    with open(os.path.join(out, name + "." + ext), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    if error is not None:
        with open(os.path.join(out, name + ".error"), "w") as f:
            f.write(error + "\n")
    else:
        with open(os.path.join(out, name + ".expect"), "w") as f:
            f.write("".join(a + "\n" for a in sorted(set(expect))))


case("plain", "txt", "Hello alice@example.com and\nbob.smith@example.org, bye.\n",
     ["alice@example.com", "bob.smith@example.org"])
case("csv", "csv", "name,email\nCarol,carol@example.com\nDan,dan@example.net\n",
     ["carol@example.com", "dan@example.net"])
case("tsv", "tsv", "name\temail\nEve\teve@example.com\n", ["eve@example.com"])
case("json", "json",
     '{"users": [{"mail": "frank@example.com"}, {"mail": "grace\\u0040example.org"}],'
     ' "heidi@example.net": 1}\n',
     ["frank@example.com", "grace@example.org", "heidi@example.net"])
case("html", "html",
     "<!DOCTYPE html><html><head><title>t</title><style>.x{} a@style.example.com</style></head>"
     "<body><p>Write to ivan&#64;example.com or judy&#x40;example.org.</p>\n"
     '<p><a href="mailto:kate%40example.com?subject=Hi%20there">mail us</a></p>\n'
     '<p><a href="MAILTO:leo@example.net">x</a> <a href="http://example.com/">web</a></p>\n'
     "<!-- hidden@example.com --></body></html>\n",
     ["ivan@example.com", "judy@example.org", "kate@example.com", "leo@example.net"])

qp_body = "Contact mallory=40example.com today.=\r\nContinued.\r\n"
b64_body = base64.encodebytes("Base64 body: niaj@example.org\n".encode()).decode()
eml = ("From: =?UTF-8?B?" + base64.b64encode("Oscar Ünal <oscar@example.com>".encode()).decode()
       + "?=\r\n"
       "To: peggy@example.org\r\n"
       "Subject: =?utf-8?q?Hello_rupert=40example=2Enet?=\r\n"
       "Message-ID: <1234.5678@mail.example.com>\r\n"
       "References: <abc@ref.example.com>\r\n"
       "MIME-Version: 1.0\r\n"
       "Content-Type: multipart/mixed; boundary=\"OUTER\"\r\n\r\n"
       "--OUTER\r\n"
       "Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n"
       "--ALT\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp_body +
       "--ALT\r\n"
       "Content-Type: text/html; charset=iso-8859-1\r\n"
       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       "<p>Caf=E9 <a href=3D\"mailto:sybil%40example.com\">sybil</a> trent&#64;example.org</p>\r\n"
       "--ALT--\r\n"
       "--OUTER\r\n"
       "Content-Type: text/plain; charset=us-ascii\r\n"
       "Content-Transfer-Encoding: base64\r\n"
       "Content-ID: <part1@cid.example.com>\r\n\r\n" + b64_body.replace("\n", "\r\n") +
       "--OUTER--\r\n")
case("message", "eml", eml,
     ["oscar@example.com", "peggy@example.org", "rupert@example.net", "mallory@example.com",
      "sybil@example.com", "trent@example.org", "niaj@example.org"])
mbox = ("From victor@example.com Mon Jan  1 00:00:00 2024\n"
        "From: victor@example.com\nTo: walter@example.org\nSubject: one\n"
        "Message-ID: <x1@mid.example.com>\n\nBody one mentions xavier@example.net.\n\n"
        "From yves@example.com Mon Jan  1 00:00:01 2024\n"
        "From: yves@example.com\nSubject: two\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(b"zoe@example.org writes\n").decode() + "\n")
case("mailbox", "mbox", mbox,
     ["victor@example.com", "walter@example.org", "xavier@example.net", "yves@example.com",
      "zoe@example.org"])


def pdf(text_lines, extra_trailer=""):
    stream = "BT /F1 12 Tf 72 720 Td 14 TL\n" + "".join(
        "(" + t + ") Tj T*\n" for t in text_lines) + "ET\n"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    buf = io.BytesIO()
    buf.write(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(buf.tell())
        buf.write(("%d 0 obj\n%s\nendobj\n" % (i, o)).encode("latin-1"))
    xref = buf.tell()
    buf.write(("xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)).encode())
    for o in offs:
        buf.write(("%010d 00000 n \n" % o).encode())
    buf.write(("trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
               % (len(objs) + 1, extra_trailer, xref)).encode())
    return buf.getvalue()


case("doc", "pdf", pdf(["Invoice for alan@example.com", "cc: betty@example.org"]),
     ["alan@example.com", "betty@example.org"])
enc = ("/Encrypt << /Filter /Standard /V 1 /R 2 /O <" + "11" * 32 + "> /U <" + "22" * 32 +
       "> /P -4 >> /ID [<" + "33" * 16 + "> <" + "33" * 16 + ">] ")
case("encrypted", "pdf", pdf(["secret@example.com"], enc), error="encrypted PDF")
case("damaged", "pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog\n", error="PDF")


def zipdoc(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
docx = zipdoc([
    ("[Content_Types].xml", "<Types/>"),
    ("word/document.xml",
     '<?xml version="1.0"?><w:document %s><w:body>'
     "<w:p><w:r><w:t>Split </w:t></w:r><w:r><w:t>carl</w:t></w:r><w:r><w:t>@example.com</w:t></w:r></w:p>"
     "<w:p><w:r><w:t>second&#64;example.org</w:t></w:r><w:r><w:tab/><w:t>x</w:t></w:r></w:p>"
     "</w:body></w:document>" % W),
    ("word/header1.xml", '<w:hdr %s><w:p><w:r><w:t>head@example.net</w:t></w:r></w:p></w:hdr>' % W),
    ("word/_rels/document.xml.rels",
     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
     '<Relationship Id="rId1" Type="hyperlink" Target="mailto:link%40example.com?subject=x"'
     ' TargetMode="External"/></Relationships>'),
])
case("word", "docx", docx,
     ["carl@example.com", "second@example.org", "head@example.net", "link@example.com"])
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
xlsx = zipdoc([
    ("xl/workbook.xml", "<workbook %s/>" % S),
    ("xl/worksheets/sheet1.xml",
     '<worksheet %s><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
     '<c r="B1" t="inlineStr"><is><t>inline@example.com</t></is></c></row></sheetData></worksheet>' % S),
    ("xl/sharedStrings.xml",
     '<sst %s><si><t>shared@example.org</t></si><si><r><t>rich</t></r><r><t>@example.net</t></r></si></sst>' % S),
])
case("sheet", "xlsx", xlsx, ["inline@example.com", "shared@example.org", "rich@example.net"])
odt = zipdoc([
    ("mimetype", "application/vnd.oasis.opendocument.text"),
    ("content.xml",
     '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
     ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
     ' xmlns:xlink="http://www.w3.org/1999/xlink"><office:body><office:text>'
     "<text:p>Reach <text:span>odette</text:span>@example.com<text:s/>now</text:p>"
     '<text:p><text:a xlink:href="mailto:paul%40example.org">Paul</text:a></text:p>'
     "</office:text></office:body></office:document-content>"),
])
case("writer", "odt", odt, ["odette@example.com", "paul@example.org"])

# A zip bomb: a document member declaring (and holding) 300 MiB of zeros.
bomb = io.BytesIO()
with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("word/document.xml", "w", force_zip64=True) as m:
        block = b"\0" * (1 << 20)
        for _ in range(300):
            m.write(block)
case("bomb", "docx", bomb.getvalue(), error="zip bomb")
case("notdoc", "zip", zipdoc([("readme.txt", "a@example.com")]), error="not a DOCX")
case("truncated", "docx", docx[: len(docx) // 2], error="zip")
case("binary", "bin", bytes(range(256)) * 8 + b"bin@example.com", error="binary file: not text")
case("latin1", "txt", b"caf\xe9 quentin@example.com \xff\xfe\n", ["quentin@example.com"])
case("empty", "txt", b"", [])
