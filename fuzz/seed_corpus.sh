#!/usr/bin/env bash
# Seeds the fuzz corpora from the real server captures (fixtures/real-2.5, fixtures/real-2.4).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/decode_replies corpus/names corpus/text_parsers corpus/sim_request
python3 - <<'PY'
import base64, json, glob, os, hashlib
for f in glob.glob('../fixtures/real-2.*/*.json'):
    d = json.load(open(f))
    if d['response'].get('body_raw_base64'):
        # A body that is not UTF-8 (names in Latin-1): its exact bytes.
        body = base64.b64decode(d['response']['body_raw_base64'])
    else:
        body = (d['response'].get('body_raw') or '').encode('utf-8', 'surrogateescape')
    name = hashlib.sha1(f.encode()).hexdigest()[:16]
    open(f'corpus/decode_replies/{name}', 'wb').write(b'\x00' + body)
    if d['response'].get('body_json') and isinstance(d['response']['body_json'], dict):
        log = d['response']['body_json'].get('log')
        if isinstance(log, dict) and 'data' in log:
            open(f'corpus/text_parsers/{name}', 'wb').write(log['data'].encode())
    r = d['request']
    params = '&'.join(f"{k}={v}" for k, v in (r.get('params') or {}).items())
    req = f"{r.get('method','POST')} {r.get('path','/x')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(params)}\r\n\r\n{params}"
    open(f'corpus/sim_request/{name}', 'wb').write(req.encode())
for i, n in enumerate([b'caf\xe9-latin1.txt', b'\\xE9', b'\xff\xfe"\\', 'ä'.encode()]):
    open(f'corpus/names/seed{i}', 'wb').write(n)
for i, t in enumerate(['status=all;logs=1,2', 'all', 'every_c0=1&next_archival_0=5', 'http://u:p@h:1/sub/x?a=b']):
    open(f'corpus/text_parsers/seed{i}', 'w').write(t)
PY
echo "corpora: $(ls corpus/decode_replies | wc -l) replies, $(ls corpus/sim_request | wc -l) requests"
