"""Schemathesis against a live hub: `st run` on the API's own OpenAPI document, every
check, with a read-and-write token of a demo brand admin.

The hub runs in a child process (uvicorn) on a fresh database with the demo data: SQLite,
or a throwaway PostgreSQL database when HUB_TEST_DATABASE_URL is set. st runs as a
subprocess with `--checks all` and one worker, within a time budget (`--max-time`: a busy
machine runs fewer examples, not for longer), so the whole test takes under a minute. Its
seed is random, so each run tries other inputs; on a failure st's output names the seed,
and `st run ... --seed <seed>` replays the run.

One tuning, and no check left out: `positive_data_acceptance` also accepts 422 for
POST /reports. The document describes every field of a report, but some rules of a
report are not JSON Schema: a TLP:RED report needs recipients who are active hub members,
and an indicator must be a phone number, web address, e-mail address or domain that
really is one (phone numbers by their country's numbering plan). Schema-valid bodies
can break those rules, and the API rightly answers them with 422; every other operation,
and every other status of this one, is held to the check as it is.
"""

import os
import subprocess
import sys
from pathlib import Path

from hub.api import tokens
from hub.api.models import Scope, TokenKind
from hub.members.models import Role
from tests.databases import throwaway_database
from tests.live import LiveHub, live_hub

ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 30  # per operation, phase and round; st runs rounds until MAX_TIME is spent
MAX_TIME = 25  # seconds of testing
TIMEOUT = 75  # seconds; st stops after MAX_TIME and a few seconds of loading and reporting

# What no JSON Schema can say about POST /reports (see above): 422 is a right answer too.
CONFIG = """\
[[operations]]
include-name = "POST /reports"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx",
]
"""


def _brand_admin_token(hub: LiveHub) -> str:
    """A read-and-write personal token of a demo brand admin whose brand is in a working
    group (so it can post, and sees boards, campaigns and events)."""
    with hub.session() as session:
        actor = hub.actor_in_a_group(session, Role.brand_admin)
        return tokens.create(session, actor, "Schemathesis", TokenKind.personal, Scope.write)


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(tmp_path: Path) -> None:
    assert ST.exists(), f"{ST} is missing: install the test extras (pip install -e '.[test]')"
    # No rate limit worth the name: st calls far more often than the 300 a minute allowed.
    limits = {
        "HUB_API_REQUESTS_PER_MINUTE": "1000000",
        "HUB_API_REQUESTS_PER_MINUTE_PER_IP": "1000000",
    }
    with throwaway_database(tmp_path) as url, live_hub(tmp_path, url, limits) as hub:
        token = _brand_admin_token(hub)
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            str(ST),
            "--config-file",
            str(config),
            "run",
            f"{hub.base_url}/api/v1/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {token}",
            "--workers",
            "1",  # Hypothesis is not thread-safe enough for more (st's own runtime errors)
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_TIME),
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
            "--no-color",
        ]
        env = {**os.environ, "NO_COLOR": "1"}
        try:
            result = subprocess.run(
                command,
                cwd=tmp_path,  # st's own files (reports, replays) stay in the test's folder
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired as error:
            output = error.stdout or b""
            text = output.decode() if isinstance(output, bytes) else output
            raise AssertionError(
                f"st did not finish in {TIMEOUT} s:\n{text}\n{_server_log(hub)}"
            ) from error
    assert result.returncode == 0, (
        f"st found problems (exit code {result.returncode}):\n{result.stdout}\n{result.stderr}"
        f"\n{_server_log(hub)}"
    )
    assert "No issues found" in result.stdout, result.stdout


def _server_log(hub: LiveHub) -> str:
    """The end of the hub's own log: the tracebacks of any server errors."""
    text = hub.log_path.read_text(errors="replace") if hub.log_path.exists() else ""
    return "--- the hub's log (last 200 lines) ---\n" + "\n".join(text.splitlines()[-200:])
