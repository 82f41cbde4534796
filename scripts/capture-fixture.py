#!/usr/bin/env python3
"""Captures one reply of a real UrBackup server into fixtures/real-2.5/ (or --out DIR, e.g.
fixtures/real-2.4; the format of the existing captures: request, status line, headers, body;
the session id replaced by <SESSION>).

A parameter value may hold bytes that are not UTF-8 (`path=/caf$'\xe9'`): it is sent as those
bytes and recorded base64-encoded in `params_base64`. A body that is not UTF-8 is recorded
exactly in `body_raw_base64` (`body_raw` then holds it decoded with U+FFFD replacements).

  URBACKUP_URL=http://127.0.0.1:55414/x URBACKUP_USER=admin URBACKUP_PASSWORD=... \\
    scripts/capture-fixture.py CASE ACTION [key=value ...] [--notes TEXT] [--out DIR]

CASE names the file (`logs__restore-log-success` -> logs__restore-log-success.json). The
login (salt + PBKDF2, as the web interface) is not captured. Standard library only.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse


def post(url, action, params):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
    body = urllib.parse.urlencode(params)
    conn.request("POST", f"{u.path}?a={action}", body,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    status_line = f"HTTP/1.1 {r.status} {r.reason}"
    headers = [[k, v] for k, v in r.getheaders()]
    conn.close()
    return status_line, r.status, headers, data


def login(url, user, pw):
    if not user:
        _, _, _, d = post(url, "login", {})
        return json.loads(d)["session"]
    _, _, _, d = post(url, "salt", {"username": user})
    s = json.loads(d)
    md5bin = hashlib.md5((s["salt"] + pw).encode()).digest()
    h = md5bin.hex()
    rounds = int(s.get("pbkdf2_rounds", 0))
    if rounds > 0:
        h = hashlib.pbkdf2_hmac("sha256", md5bin, s["salt"].encode(), rounds).hex()
    proof = hashlib.md5((s["rnd"] + h).encode()).hexdigest()
    _, _, _, d = post(url, "login", {"username": user, "password": proof, "ses": s["ses"]})
    r = json.loads(d)
    if not r.get("success"):
        sys.exit(f"login refused: {r}")
    return s["ses"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("action")
    ap.add_argument("params", nargs="*")
    ap.add_argument("--notes", default="")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "real-2.5"))
    a = ap.parse_args()
    url = os.environ["URBACKUP_URL"]
    ses = login(url, os.environ.get("URBACKUP_USER", ""), os.environ.get("URBACKUP_PASSWORD", ""))
    params = {}
    raw_params = {}
    for p in a.params:
        k, v = p.split("=", 1)
        b = os.fsencode(v)  # the bytes given on the command line
        try:
            params[k] = b.decode("utf-8")
        except UnicodeDecodeError:
            params[k] = b
            raw_params[k] = base64.b64encode(b).decode()
    params["ses"] = ses
    status_line, status, headers, data = post(url, a.action, params)
    data = data.replace(ses.encode(), b"<SESSION>")
    text = data.decode("utf-8", "replace")
    try:
        data.decode("utf-8")
        exact = None
    except UnicodeDecodeError:
        exact = base64.b64encode(data).decode()
    try:
        body_json = json.loads(text)
        is_json = True
    except ValueError:
        body_json, is_json = None, False
    shown = {k: ("<SESSION>" if k == "ses" else v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
             for k, v in params.items()}
    doc = {
        "case": a.case,
        "request": {
            "method": "POST",
            "path": f"/x?a={a.action}",
            "action": a.action,
            "params": shown,
            "body_encoding": "application/x-www-form-urlencoded",
        },
        "response": {
            "status_line": status_line,
            "http_status": status,
            "headers": headers,
            "body_length": len(data),
            "body_is_json": is_json,
            "body_raw": text,
            "body_json": body_json,
        },
        "notes": a.notes,
        "captured_at_unix": int(time.time()),
    }
    if raw_params:
        doc["request"]["params_base64"] = raw_params
    if exact is not None:
        doc["response"]["body_raw_base64"] = exact
    path = os.path.join(a.out, a.case + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(path)


if __name__ == "__main__":
    main()
