"""``MLFLOW_TRACKING_URI=http://user:password@host:port``: a real ``mlflow server`` behind
basic auth (``tests.mlflow_server``) records runs from the Backtest page, the Runs and
System pages read it, and no page shows the password; wrong credentials are said as such."""

from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import MLFLOW_PASSWORD, ROOT

# the server is shared with the secrets scan (one mlflow server per test session)
pytestmark = pytest.mark.xdist_group("postgres")

APP = str(ROOT / "app.py")
CRED_VARS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


@pytest.fixture
def auth_env(lab_env, mlflow_auth, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_auth.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for var in CRED_VARS:
        monkeypatch.delenv(var, raising=False)
    mlflow_auth.refused.clear()        # one server per worker: count this test's requests
    yield mlflow_auth
    for var in CRED_VARS:              # set by lab.tracking from the URI in this process
        os.environ.pop(var, None)


def page_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "error", "warning", "info",
                 "success", "code", "text_input", "exception"):
        parts += [str(getattr(e, "value", getattr(e, "message", ""))) for e in getattr(at, kind)]
    return "\n".join(parts)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_backtest_runs_and_system_pages_work_behind_basic_auth_and_hide_the_password(auth_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("LTCUSD_BITSTAMP")
    at.button(key="bt_run").click().run()
    outcome = at.session_state["bt_last"]["future"].result(timeout=180)
    assert outcome.recorded, outcome.error
    assert outcome.uri == auth_env.clean_url
    at.run()
    assert any(outcome.run_id in c.value for c in at.caption)
    assert MLFLOW_PASSWORD not in page_text(at)

    runs = open_page("app_pages/runs.py")
    text = page_text(runs)
    assert f"store `{auth_env.clean_url}`" in text and MLFLOW_PASSWORD not in text
    assert not runs.error, [e.value for e in runs.error]
    assert outcome.run_id in set(runs.dataframe[0].value["run_id"])

    system = open_page("app_pages/system.py")
    text = page_text(system)
    assert f"remote server {auth_env.clean_url}, working, as user alice" in text, text
    assert MLFLOW_PASSWORD not in text and "not recorded yet" not in text
    assert auth_env.refused == []


def test_wrong_credentials_are_said_without_the_password(auth_env, monkeypatch):
    from lab.tracking import TrackingError, store

    wrong = auth_env.url.replace(MLFLOW_PASSWORD, "wrong-pw-123")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", wrong)
    with pytest.raises(TrackingError) as err:
        store.client(store.tracking_uri())
    assert "refused the credentials (HTTP 401)" in str(err.value)
    assert "wrong-pw-123" not in str(err.value) and auth_env.clean_url in str(err.value)
    assert auth_env.refused == ["/health"]
    auth_env.refused.clear()        # the server is shared by the worker's later tests
