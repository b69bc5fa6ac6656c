"""docs/serve.md's example runs as written: its captioned files are built with the real CLI, `pds serve`
is started, and each documented curl request gets the documented answer (the snapshot id aside)."""

from __future__ import annotations

import json
import re
import shlex

import httpx

from tests.conftest import ROOT, run_pds
from tests.test_serve_cli import pds_serve

DOC = ROOT / "docs" / "serve.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)
CURL_THEN_JSON = re.compile(r"```bash\n(curl .*?)```\n\n```json\n(.*?)\n```", re.S)


def _request(command: str, base: str) -> tuple[str, str, dict]:
    words = shlex.split(command.replace("\\\n", " "))
    method, body = "GET", None
    if "-X" in words:
        method = words[words.index("-X") + 1]
    if "-d" in words:
        body = json.loads(words[words.index("-d") + 1])
    url = next(w for w in words if w.startswith("http://127.0.0.1:8080"))
    return method, url.replace("http://127.0.0.1:8080", base), body


def test_the_serving_example_runs_as_documented(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    files = dict(CAPTIONED.findall(text))
    assert set(files) == {"pds_project.yml", "profiles.yml", "models/customers.sql", "models/churn_scores.py",
                          "models/schema.yml"}
    root = tmp_path / "churn"
    for path, body in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body, encoding="utf-8")
    built = run_pds("build", "--project-dir", str(root))
    assert built.returncode == 0, built.stdout + built.stderr
    assert re.search(r"6 of 6 OK    serve churn_scores \(snapshot \S+; scoring on customers\) 3 rows", built.stdout)
    examples = CURL_THEN_JSON.findall(text)
    assert len(examples) == 2
    with pds_serve(root) as (url, log), httpx.Client(timeout=30) as client:
        assert re.match(r"Serving churn at http://127\.0\.0\.1:\d+/  \(API docs at /docs; no tokens: loopback only; "
                        r"Ctrl-C to stop\)", log[0])
        for command, documented in examples:
            method, target, body = _request(command, url)
            got = client.request(method, target, json=body)
            assert got.status_code == 200, got.text
            expected = json.loads(documented)
            answer = got.json()
            if "snapshot" in expected:
                assert answer.pop("snapshot") == got.headers["x-pds-snapshot"]
                expected.pop("snapshot")
            assert answer == expected, command
