#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ from the
project's test data: the pgoutput captures (tests/data/pgoutput/*.hex), the messages and
filters the unit tests use (read from their sources), WebSocket frames as the unit tests build
them, and tokens and JWKS documents minted here (HMAC with the fuzz targets' fixed keys; RSA,
EC and OKP keys from the openssl command). Run it again after changing that test data; the
output is checked in, so CI never runs it. Needs python3 and openssl."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")

# The keys of fuzz_jwt_hs256.cpp.
SECRET = b"walcast-fuzz-jwt-secret-0123456789abcdef"
OCT_KEY = b"walcast-fuzz-jwks-oct-key-0123456789abcd"
WRONG_KEY = b"walcast-fuzz-wrong-key-0123456789abcdef0"
NOW = 1_800_000_000

TARGETS = ["pgoutput", "websocket_frame", "phoenix_text", "phoenix_binary", "join_config",
           "filter_grammar", "jwt_hs256", "jwks", "utf8", "regex"]
SELECTED = set(TARGETS)  # the targets whose corpora this run rewrites (command line)


def write(target, name, data):
    assert target in TARGETS, target
    if target not in SELECTED:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def source(path):
    with open(os.path.join(TESTS, path), encoding="utf-8") as f:
        return f.read()


def cpp_literals(text):
    """The C++ string literals of a test source: raw R"(...)" and plain "..." with escapes."""
    out = [m.group(1) for m in re.finditer(r'R"\((.*?)\)"', text, re.S)]
    for m in re.finditer(r'(?<![R\w])"((?:[^"\\\n]|\\.)*)"', text):
        s = m.group(1)
        try:
            s = s.encode("latin-1", "backslashreplace").decode("unicode_escape")
            s = s.encode("latin-1").decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            continue
        out.append(s)
    return out


def pgoutput():
    for path in sorted(os.listdir(os.path.join(TESTS, "data", "pgoutput"))):
        if not path.endswith(".hex"):
            continue
        with open(os.path.join(TESTS, "data", "pgoutput", path)) as f:
            for i, line in enumerate(l for l in f if "\t" in l):
                msg = bytes.fromhex(line.split("\t")[1].strip())
                write("pgoutput", "%s-%02d-%s" % (path[:-4], i, chr(msg[0])), msg)


def client_frame(opcode, payload, fin=True, key=b"\x01\x02\x03\x04"):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n <= 125:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n <= 125:
        head += bytes([n])
    elif n <= 0xFFFF:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def websocket_frame():
    # Byte 0 of an input: bit 0 role (0 server parses client frames, 1 client), bits 1-2 the
    # message limit, bits 3-7 the split seed (see fuzz_websocket_frame.cpp).
    text = b'[null,"1","phoenix","heartbeat",{}]'
    streams = {
        "text": client_frame(1, text),
        "binary-16bit-length": client_frame(2, bytes(range(256)) * 2),
        "text-64bit-length": client_frame(1, b"x" * 70000),
        "fragmented-with-ping": client_frame(1, b"hel", fin=False) + client_frame(9, b"p")
        + client_frame(0, b"lo", fin=False) + client_frame(0, b"!"),
        "close-with-reason": client_frame(8, struct.pack(">H", 1000) + b"bye"),
        "close-empty": client_frame(8, b""),
        "ping-pong": client_frame(9, b"abc") + client_frame(10, b"abc"),
        "two-messages": client_frame(1, b"a") + client_frame(2, b"\x00\xff"),
        "unmasked-client-frame": server_frame(1, b"hello"),
        "rsv-bits": bytes([0xC1]) + client_frame(1, b"x")[1:],
        "unknown-opcode": bytes([0x83]) + client_frame(1, b"x")[1:],
        "non-minimal-length": bytes([0x81, 0x80 | 126, 0, 5]) + b"\x01\x02\x03\x04" + b"hello",
        "close-one-byte": client_frame(8, b"\x03"),
        "close-code-1005": client_frame(8, struct.pack(">H", 1005)),
        "continuation-first": client_frame(0, b"x"),
        "control-too-long": client_frame(9, b"p" * 126),
    }
    for i, (name, stream) in enumerate(sorted(streams.items())):
        write("websocket_frame", "server-" + name, bytes([(i % 32) << 3]) + stream)
    server = {
        "text": server_frame(1, text),
        "binary-16bit": server_frame(2, b"\x07" * 300),
        "fragmented": server_frame(1, b"ab", fin=False) + server_frame(0, b"c"),
        "close": server_frame(8, struct.pack(">H", 1008) + b"client too slow: queue"),
        "masked-server-frame": client_frame(1, b"x"),
    }
    for i, (name, stream) in enumerate(sorted(server.items())):
        write("websocket_frame", "client-" + name, bytes([1 | (i % 32) << 3]) + stream)
    write("websocket_frame", "server-limit-64", bytes([4]) + client_frame(1, b"y" * 100))
    write("websocket_frame", "server-limit-0", bytes([6]) + client_frame(1, b"y"))


def phoenix():
    text = source("unit/protocol/phoenix_decoder_test.cpp")
    seen = set()
    for lit in cpp_literals(text):
        s = lit.strip()
        if not s or s[0] not in "[{" or s in seen:
            continue
        seen.add(s)
        h = hashlib.sha1(s.encode()).hexdigest()[:10]
        # byte 0: bit 0 set = V1 (objects), clear = V2 (arrays); both for every literal.
        write("phoenix_text", "v2-" + h, b"\x00" + s.encode())
        write("phoenix_text", "v1-" + h, b"\x01" + s.encode())

    def kind3(join_ref, ref, topic, event, meta, encoding, payload):
        fields = [join_ref, ref, topic, event, meta]
        return (bytes([3] + [len(f) for f in fields] + [encoding]) + b"".join(fields) + payload)

    frames = {
        "captured": kind3(b"6", b"7", b"realtime:room1", b"cursor", b"", 1, b'{"x":1}'),
        "metadata": kind3(b"1", b"2", b"realtime:r", b"e", b'{"id":"a"}', 1, b"[1,2]"),
        "binary-payload": kind3(b"", b"", b"realtime:r", b"bin", b"", 0, b"\x00\x01\xff"),
        "empty-refs": kind3(b"", b"", b"t", b"e", b"", 1, b"{}"),
        "bad-json-payload": kind3(b"6", b"7", b"realtime:room1", b"cursor", b"", 1, b"{x:1}"),
        "bad-metadata": kind3(b"1", b"", b"t", b"e", b"{{{", 1, b"{}"),
        "truncated-header": bytes([3, 0, 0]),
        "kind-4": bytes([4, 1, 1, 0, 1]) + b"te{}",
        "unknown-encoding": kind3(b"", b"", b"t", b"e", b"", 2, b"x"),
    }
    for name, f in frames.items():
        write("phoenix_binary", name, f)


def realtime_js():
    """The frames the pinned realtime-js sends (realtime_js_frames.cjs): text frames into
    phoenix_text (V2), kind-3 pushes into phoenix_binary, the phx_join payloads into
    join_config."""
    out = subprocess.run(["node", os.path.join(HERE, "realtime_js_frames.cjs")], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        frame = json.loads(line)
        name = "rtjs-" + frame["name"]
        if "hex" in frame:
            write("phoenix_binary", name, bytes.fromhex(frame["hex"]))
            continue
        write("phoenix_text", name, b"\x00" + frame["text"].encode())
        msg = json.loads(frame["text"])
        if msg[3] == "phx_join":
            write("join_config", name, json.dumps(msg[4], separators=(",", ":")))


def join_configs():
    """Join payloads: the objects of the JoinConfig unit tests and the phx_join payloads of the
    decoder tests, plus the edge cases of the flexible booleans and replay."""
    seen = set()
    for path in ("unit/protocol/join_config_test.cpp", "unit/protocol/phoenix_decoder_test.cpp"):
        for lit in cpp_literals(source(path)):
            try:
                doc = json.loads(lit)
            except ValueError:
                continue
            if isinstance(doc, list) and len(doc) == 5 and doc[3] == "phx_join":
                doc = doc[4]
            elif isinstance(doc, dict) and doc.get("event") == "phx_join":
                doc = doc.get("payload")
            if not isinstance(doc, dict):
                continue
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
            if text in seen:
                continue
            seen.add(text)
            write("join_config", "unit-" + hashlib.sha1(text.encode()).hexdigest()[:10], text)
    extras = {
        "flexible-strings": {"config": {"broadcast": {"ack": "true", "self": "TRUE"},
                                        "private": "false", "replication_ready": "true",
                                        "presence": {"enabled": "true", "key": 7}}},
        "replay-double-since": {"config": {"broadcast": {"replay": {"since": 1.7e12,
                                                                    "limit": "10"}}}},
        "replay-huge-since": {"config": {"broadcast": {"replay": {"since": 18446744073709551615}}}},
        "presence-key-object": {"config": {"presence": {"key": {"a": [1, None]}}}},
        "bindings-mixed": {"config": {"postgres_changes": [1, {"event": "*"}, None, []],
                                      "postgres_changes_options": {"wait": "true"}}},
        "config-not-object": {"config": [True]},
    }
    for name, doc in extras.items():
        write("join_config", name, json.dumps(doc, separators=(",", ":")))


def filters():
    seen = set()
    for path in ("unit/protocol/supabase_filter_grammar_test.cpp", "unit/core/filter_eval_test.cpp",
                 "unit/protocol/supabase_binding_test.cpp"):
        for lit in cpp_literals(source(path)):
            if "=" not in lit or len(lit) > 200 or lit in seen or lit.startswith(("[", "{")):
                continue
            seen.add(lit)
            write("filter_grammar", hashlib.sha1(lit.encode()).hexdigest()[:12], lit)
    for extra in ["", "   ", "a=eq.\"x,y\"", "a=in.(\"a,b\",c)", "a=eq.\"unterminated",
                  "name=eq.\"quoted \\\" inside\"", "\u3000id=eq.1\u3000", "a=not.eq.1,b=gt.2"]:
        write("filter_grammar", "extra-" + hashlib.sha1(extra.encode()).hexdigest()[:8], extra)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(header, claims, key=SECRET, digest=hashlib.sha256):
    h, c = json.dumps(header, separators=(",", ":")), json.dumps(claims, separators=(",", ":"))
    signing = b64(h.encode()) + "." + b64(c.encode())
    return signing + "." + b64(hmac.new(key, signing.encode(), digest).digest())


def jwt():
    claims = {"role": "authenticated", "exp": NOW + 3600, "sub": "u1", "iss": "walcast-fuzz"}
    tokens = {
        "hs256": token({"alg": "HS256", "typ": "JWT"}, claims),
        "hs384": token({"alg": "HS384"}, claims, digest=hashlib.sha384),
        "hs512": token({"alg": "HS512"}, dict(claims, iss="other"), digest=hashlib.sha512),
        "kid-oct": token({"alg": "HS256", "kid": "k-oct"}, claims, key=OCT_KEY),
        "kid-unknown-uses-secret": token({"alg": "HS256", "kid": "nope"}, {"role": "anon", "exp": NOW + 1}),
        "expired": token({"alg": "HS256"}, {"role": "anon", "exp": NOW - 10}),
        "nbf-future": token({"alg": "HS256"}, {"role": "anon", "exp": NOW + 60, "nbf": NOW + 30}),
        "fractional-exp": token({"alg": "HS256"}, {"role": "anon", "exp": NOW + 0.5}),
        "no-role": token({"alg": "HS256"}, {"exp": NOW + 60}),
        "aud-array": token({"alg": "HS256"}, {"role": "anon", "exp": NOW + 60, "aud": ["a", "b"]}),
        "wrong-key": token({"alg": "HS256"}, claims, key=WRONG_KEY),
        "alg-none": token({"alg": "none"}, claims).rsplit(".", 1)[0] + ".",
        "alg-rs256": token({"alg": "RS256"}, claims),
        "crit": token({"alg": "HS256", "crit": ["exp"]}, claims),
        "sb-key": "sb_publishable_abc123",
    }
    tokens["percent-encoded"] = tokens["hs256"].replace(".", "%2E", 1)
    tokens["whitespace"] = " " + tokens["hs256"][:20] + "\n" + tokens["hs256"][20:] + "\t"
    for name, t in tokens.items():
        write("jwt_hs256", "raw-" + name, b"\x00" + t.encode())
    parts = {
        "hs256": ({"alg": "HS256"}, claims),
        "hs512-kid-oct": ({"alg": "HS512", "kid": "k-oct"}, claims),
        "validators-iss": ({"alg": "HS256"}, {"role": "anon", "exp": NOW + 5, "iss": "walcast-fuzz"}),
        "exp-string": ({"alg": "HS256"}, {"role": "anon", "exp": "soon"}),
        "iat-bool": ({"alg": "HS384"}, {"role": "anon", "exp": NOW + 5, "iat": True}),
    }
    for name, (h, c) in parts.items():
        body = json.dumps(h).encode() + b"\x00" + json.dumps(c).encode()
        write("jwt_hs256", "signed-" + name, b"\x01" + body)
        write("jwt_hs256", "wrongkey-" + name, b"\x02" + body)


def openssl_pub(algorithm, *opts):
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", algorithm, *opts, "-out", pem],
                       check=True, capture_output=True)
        text = subprocess.run(["openssl", "pkey", "-in", pem, "-text_pub", "-noout"], check=True,
                              capture_output=True, text=True).stdout
    def hexblock(label):
        m = re.search(label + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
        return bytes.fromhex(re.sub(r"[\s:]", "", m.group(1)))
    if algorithm == "RSA":
        n = hexblock("Modulus").lstrip(b"\x00")
        e = int(re.search(r"Exponent: (\d+)", text).group(1))
        return {"n": b64(n), "e": b64(e.to_bytes((e.bit_length() + 7) // 8, "big"))}
    pub = hexblock("pub")
    if algorithm == "EC":
        half = (len(pub) - 1) // 2
        return {"x": b64(pub[1:1 + half]), "y": b64(pub[1 + half:])}
    return {"x": b64(pub)}


def jwks():
    rsa = dict(kty="RSA", kid="rsa-1", alg="RS256", **openssl_pub("RSA", "-pkeyopt", "rsa_keygen_bits:2048"))
    p256 = dict(kty="EC", crv="P-256", kid="ec-256", **openssl_pub("EC", "-pkeyopt", "ec_paramgen_curve:P-256"))
    p384 = dict(kty="EC", crv="P-384", kid="ec-384", **openssl_pub("EC", "-pkeyopt", "ec_paramgen_curve:P-384"))
    p521 = dict(kty="EC", crv="P-521", kid="ec-521", alg="ES512", **openssl_pub("EC", "-pkeyopt", "ec_paramgen_curve:P-521"))
    ed25519 = dict(kty="OKP", crv="Ed25519", kid="ed-1", **openssl_pub("ED25519"))
    ed448 = dict(kty="OKP", crv="Ed448", kid="ed-2", alg="EdDSA", **openssl_pub("ED448"))
    oct_ = {"kty": "oct", "kid": "k-oct", "k": b64(OCT_KEY)}
    docs = {
        "all-types": [rsa, p256, p384, p521, ed25519, ed448, oct_],
        "rsa": [rsa], "ec-p256": [p256], "ed25519": [ed25519], "oct": [oct_],
        "oct-alg-hs384": [dict(oct_, alg="HS384")],
        "enc-key-skipped": [dict(rsa, use="enc"), dict(p256, use="sig")],
        "duplicate-kid": [oct_, dict(oct_, k=b64(b"another"))],
        "alg-mismatch": [dict(p256, alg="ES384")],
        "ec-point-off-curve": [dict(p256, y=p256["x"])],
        "rsa-too-small": [dict(rsa, n=b64(b"\xc3" * 128))],
        "no-kid": [{k: v for k, v in ed25519.items() if k != "kid"}],
        "unknown-kty": [{"kty": "XYZ", "kid": "x"}],
        "empty": [],
    }
    for name, keys in docs.items():
        write("jwks", name, json.dumps({"keys": keys}))
    write("jwks", "not-an-object", "[1,2]")
    write("jwks", "keys-not-array", '{"keys":{}}')


def utf8():
    # The byte sequences the unit tests of common/utf8 use (tests/unit/common/utf8_test.cpp):
    # each length at its boundaries, then the malformed forms, and mixed text.
    good = ["\x00\x7f", "\u0080\u07ff", "\u0800\ud7ff\ue000\uffff", "\U00010000\U0010ffff",
            "h\u00e9llo \u20ac \U0001d11e", "plain ascii, long enough for the 8-byte fast path"]
    for i, t in enumerate(good):
        write("utf8", "good-%d" % i, t.encode("utf-8"))
    bad = [b"\x80", b"\xc3\x28", b"\xe2\x82\x28", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf",
           b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
           b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
           b"\xfc\x80\x80\x80", b"\xfe\xff", b"abc\xe2\x82", b"\xf0\x9d\x84"]
    for i, b in enumerate(bad):
        write("utf8", "bad-%d" % i, b"12345678" + b + "\u00e9".encode("utf-8"))


def regex():
    # fuzz_regex.cpp: flags byte (bit 0 ~*, bit 1 C ctype), pattern, NUL, text. The patterns
    # of the unit tests and the abuse suite (tests/abuse/regex_filters.test.mjs): ARE syntax,
    # refusals and the patterns catastrophic for a backtracking engine.
    patterns = ["^abc$", "a.c", "\\yabc\\y", "\\mab\\M|c", "(?i)^abc", "***=a.(b", "(?ix)a b # c\nd",
                "(?n)^[^a]$", "\\x41\\u00e9\\U0001F600\\012\\cA\\e", "\\d\\S[\\w-]", "[]a^$]$",
                "a{2,3}b{c}", "[[.-.][=e=]]", "[[:alpha:]][[:upper:]][[:space:]]", "k[a-c_]",
                "(a)\\1", "a(?=b)", "(?<!a)b", "\\m(ab)", "x\\yab", "[[:graph:]]", "[[.space.]]",
                "(?p)a", "^(a+)+b$", "(a|aa)+c", "(a*)*b", "^(a|a?)+b$", "(.*a){20}b",
                "(\\w+\\s?)*#", "[\u00e0-\u00e9]", "\u00e9t\u00e9"]
    texts = ["abc", "x abc y\nline", "a" * 200, "a" * 40 + "b", "\u00c9T\u00c9 cat \u212a", "a\nb\tc"]
    for i, p in enumerate(patterns):
        for flags in (0, 1, 2, 3):
            data = bytes([flags]) + p.encode("utf-8") + b"\x00" + texts[(i + flags) % len(texts)].encode("utf-8")
            write("regex", "p%02d-f%d" % (i, flags), data)


def abuse():
    """Issue 11's hostile inputs (tests/abuse/), as seeds of the targets that parse them: a
    ping flood and invalid UTF-8 in text frames, refs numbers cannot hold, a filter value with
    NUL and catastrophic patterns, a join with more bindings than MAX_BINDINGS_PER_CHANNEL,
    live-query configs with refresh conditions, exp as a string or 1e300, a superuser role."""
    flood = b"".join(client_frame(9, b"ping-%d" % i + b"." * (125 - len(b"ping-%d" % i)))
                     for i in range(200))
    write("websocket_frame", "abuse-ping-flood", bytes([0]) + flood)
    write("websocket_frame", "abuse-invalid-utf8-text", bytes([8]) + client_frame(1, b'["1","1","t",\xff"e",{}]'))
    write("websocket_frame", "abuse-utf8-split-across-fragments",
          bytes([16]) + client_frame(1, b"\xe2\x82", fin=False) + client_frame(0, b"\xac"))
    for name, ref in {"huge-exponent": "1e999999", "negative-zero": "-0", "fraction": "1.50",
                      "big-integer": "123456789012345678901234567890", "exponent": "2E+3"}.items():
        write("phoenix_text", "abuse-v2-ref-" + name,
              b"\x00" + ('["1",%s,"realtime:t","heartbeat",{}]' % ref).encode())
        write("phoenix_text", "abuse-v1-ref-" + name,
              b"\x01" + ('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":%s}' % ref).encode())
    for name, f in {"nul": "task=eq.a\u0000b", "nul-in": "task=in.(a,\u0000)",
                    "catastrophic": "task=match.(\\w+\\s?)*#", "backreference": "t=imatch.(a)\\1",
                    "many-in": "id=in.(" + ",".join(str(i) for i in range(150)) + ")",
                    "refresh-result-ref": "order_id=eq.:result/id,status=eq.$1"}.items():
        write("filter_grammar", "abuse-" + name, f)
    many = [{"event": "*", "schema": "public", "table": "t", "filter": "id=eq.%d" % i} for i in range(101)]
    live = {"live_query": {"name": "pending_orders", "params": [7, None, 1.5], "throttle_ms": 0,
                           "refresh": {"items": "order_id=eq.:result/id", "": 3}}}
    for name, doc in {"too-many-bindings": {"config": {"postgres_changes": many}},
                      "live-query-refresh": {"config": {"broadcast": live}},
                      "slow-filter-rejoin": {"config": {"postgres_changes": [
                          {"event": "*", "schema": "public", "table": "slow_filter", "filter": "v=eq.attempt-1"}]}},
                      }.items():
        write("join_config", "abuse-" + name, json.dumps(doc, separators=(",", ":")))
    for name, claims in {"exp-string": {"role": "anon", "exp": "1800000060"},
                         "exp-1e300": {"role": "anon", "exp": 1e300},
                         "superuser-role": {"role": "postgres", "exp": NOW + 60}}.items():
        body = json.dumps({"alg": "HS256"}).encode() + b"\x00" + json.dumps(claims).encode()
        write("jwt_hs256", "signed-abuse-" + name, b"\x01" + body)


def main():
    global SELECTED
    if len(sys.argv) > 1:
        unknown = [t for t in sys.argv[1:] if t not in TARGETS]
        if unknown:
            sys.exit("unknown target(s) %s; the targets are: %s" % (unknown, " ".join(TARGETS)))
        SELECTED = set(sys.argv[1:])
    for t in SELECTED:
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    pgoutput()
    websocket_frame()
    phoenix()
    if SELECTED & {"phoenix_text", "phoenix_binary", "join_config"}:
        realtime_js()
    join_configs()
    filters()
    utf8()
    regex()
    abuse()
    if SELECTED & {"jwt_hs256", "jwks"}:
        jwt()
        jwks()
    for t in sorted(SELECTED):
        print("%-16s %3d seeds" % (t, len(os.listdir(os.path.join(CORPUS, t)))))


if __name__ == "__main__":
    main()
