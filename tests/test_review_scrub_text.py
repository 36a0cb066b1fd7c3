"""Review: secrets inside strings and in unusual places: name=value in any text (error
messages, exception reprs), URL fragments, XML CDATA, encrypted JWTs (JWE), a secret used as
a JSON key, and the parameters of every major vendor's signed URLs. Each is planted in the
answers of a real HTTP server on 127.0.0.1 and searched for in the recorded cassette."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tight.testing.http import HttpRecorder
from tight.testing.scrub import MARKER, ScrubPolicy

PASSWORD = "hunter2-db-pass"
TOKEN = "frag-access-token-77c1"
CDATA = "cdata-password-]x[-3f0a"
JWE = (  # RFC 7516 appendix A.1
    "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg."
    "48V1_ALb6US04U3b."
    "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A."
    "XFBoMYUZodetZdvTiFvSkQ"
)
AS_KEY = "key-used-as-json-key-91d2"
SIGNATURES = {
    "azure": "sv=2022-11-02&se=2030-01-01&sp=r&sig=azure%2Fsas%2Bsig%3D",
    "google": (
        "X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=svc%40proj.iam%2F20300101%2Fauto"
        "&X-Goog-Date=20300101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host"
        "&X-Goog-Signature=9a8b7c6d5e4f"
    ),
    "cloudfront": "Expires=1893456000&Signature=cf~sig~Zz09&Key-Pair-Id=K2JCJMDEHXQW5F"
    "&Policy=eyJTdGF0ZW1lbnQiOltdfQ__",
    "aws": (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQ2EXAMPLE%2F20300101%2Fus"
        "&X-Amz-Date=20300101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
        "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=f00dfeed"
        "&x-amz-server-side-encryption-customer-key=c3NlLWMta2V5"
    ),
}
SIGNED_SECRETS = (
    "azure%2Fsas%2Bsig%3D",
    "svc%40proj.iam",
    "9a8b7c6d5e4f",
    "cf~sig~Zz09",
    "K2JCJMDEHXQW5F",
    "eyJTdGF0ZW1lbnQiOltdfQ__",
    "ASIAQ2EXAMPLE",
    "IQoJb3JpZ2luX2VjEXAMPLE",
    "f00dfeed",
    "c3NlLWMta2V5",
)
READABLE = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    "X-Amz-Expires=300",
    "X-Amz-SignedHeaders=host",
    "X-Goog-Expires=900",
    "Expires=1893456000",
    "sv=2022-11-02",
    "se=2030-01-01",
)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        (
            f"connect failed: password={PASSWORD} host=db",
            f"connect failed: password={MARKER} host=db",
        ),
        (f"DB error: DB_PASS: {PASSWORD}, retrying", f"DB error: DB_PASS: {MARKER}, retrying"),
        (
            f'bad config {{"api_key": "{PASSWORD}", "n": 2}}',
            f'bad config {{"api_key": "{MARKER}", "n": 2}}',
        ),
        (
            f"KeyError in {{'password': '{PASSWORD}', 'user': 'ann'}}",
            f"KeyError in {{'password': '{MARKER}', 'user': 'ann'}}",
        ),
        (f"sent Authorization: Bearer {PASSWORD} to x", f"sent Authorization: {MARKER} to x"),
        # what stays: error codes, pagination tokens, paths with verbs, times, plain names
        ("error code: 403 (ThrottlingException) at 12:30", None),
        ("NextToken: abc123, page_token=p2, token_type=Bearer", None),
        ("POST /v1/sessions:batchCreate failed", None),
        ("User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole", None),
    ],
)
def test_named_values_in_any_string(text, clean):
    assert ScrubPolicy().data({"Message": text}) == {"Message": clean or text}


def test_url_fragments():
    policy = ScrubPolicy()
    url = f"https://app.example/cb#access_token={TOKEN}&state=xyz&expires_in=3600"
    clean = f"https://app.example/cb#access_token={MARKER}&state=xyz&expires_in=3600"
    assert policy.url(url) == clean
    assert policy.headers({"Location": url}) == {"Location": clean}
    assert ScrubPolicy().data({"redirect": url}) == {"redirect": clean}
    assert policy.url("https://h/docs#section-2") == "https://h/docs#section-2"


def test_cdata_jwe_and_secret_keys():
    policy = ScrubPolicy()
    xml = f"<R><Password><![CDATA[{CDATA}]]></Password><Name><![CDATA[ann]]></Name></R>"
    assert policy.body(xml, "text/xml") == (
        f"<R><Password><![CDATA[{MARKER}]]></Password><Name><![CDATA[ann]]></Name></R>"
    )
    assert CDATA in policy.learned
    assert ScrubPolicy().data({"t": f"token {JWE}."}) == {"t": f"token {MARKER}."}
    hunting = ScrubPolicy(values=[AS_KEY])
    quotas = {AS_KEY: {"quota": 5}, "other-key": {"quota": 1}, "n": 2}
    assert hunting.data(quotas) == {MARKER: {"quota": 5}, "other-key": {"quota": 1}, "n": 2}
    # two keys masked alike stay two keys
    two = ScrubPolicy(values=[AS_KEY, "second-key-as-key"])
    assert two.data({AS_KEY: 1, "second-key-as-key": 2}) == {MARKER: 1, f"{MARKER}-2": 2}
    assert hunting.url(f"http://h/p?{AS_KEY}=1") == f"http://h/p?{MARKER}=1"


@pytest.mark.parametrize("vendor", list(SIGNATURES))
def test_signed_url_parameters_of_every_vendor(vendor):
    query = SIGNATURES[vendor]
    url = f"https://files.example/o.bin?{query}"
    for clean in (
        ScrubPolicy().url(url),
        ScrubPolicy().text(f"download from {url} now"),
        ScrubPolicy().body(query, "application/x-www-form-urlencoded"),  # S3's POST policy form
    ):
        assert [s for s in SIGNED_SECRETS if s in clean] == []
        assert MARKER in clean
        assert [r for r in READABLE if r in query and r not in clean] == []


class Leaky(BaseHTTPRequestHandler):
    """Answers with secrets in text, fragments, CDATA, JWE, keys and signed URLs; echoes
    the request's api_key as a key of its answer."""

    def do_GET(self) -> None:
        api_key = self.path.split("api_key=", 1)[-1]
        if self.path.startswith("/xml"):
            body = f"<R><Password><![CDATA[{CDATA}]]></Password></R>".encode()
            kind = "text/xml"
        else:
            body = json.dumps(
                {
                    "error": f"connect failed: password={PASSWORD} host=db",
                    "jwe": JWE,
                    "quotas": {api_key: {"quota": 5}},
                    "links": [f"https://f.example/o?{q}" for q in SIGNATURES.values()],
                }
            ).encode()
            kind = "application/json"
        self.send_response(302 if self.path.startswith("/login") else 200)
        self.send_header("Location", f"https://app.example/cb#access_token={TOKEN}&state=s")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_recorded_cassette_holds_none_of_them(tmp_path):
    import requests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Leaky)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def exercise() -> tuple:
        login = requests.get(f"{url}/login", allow_redirects=False, timeout=5)
        data = requests.get(f"{url}/data", params={"api_key": AS_KEY}, timeout=5).json()
        xml = requests.get(f"{url}/xml", timeout=5).text
        return login.headers["Location"], data, xml

    cassette = tmp_path / "leaky.yaml"
    recorder = HttpRecorder(cassette, "record", ScrubPolicy())
    recorder.start()
    try:
        location, data, xml = exercise()
    finally:
        recorder.finish()
    assert TOKEN in location and AS_KEY in data["quotas"] and CDATA in xml  # the real answers
    written = cassette.read_text()
    planted = (PASSWORD, TOKEN, CDATA, JWE[:40], AS_KEY, *SIGNED_SECRETS)
    assert [s for s in planted if s in written] == [], written
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in written and "state=s" in written

    server.shutdown()
    server.server_close()
    replay = HttpRecorder(cassette, "playback", ScrubPolicy())
    replay.start()
    try:
        location, data, xml = exercise()
    finally:
        replay.finish()
    assert replay.problems == []
    assert location == f"https://app.example/cb#access_token={MARKER}&state=s"
    assert data["error"] == f"connect failed: password={MARKER} host=db"
    assert data["quotas"] == {MARKER: {"quota": 5}}
    assert xml == f"<R><Password><![CDATA[{MARKER}]]></Password></R>"
