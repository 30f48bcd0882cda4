"""Classroom mode: on a network address, starting/stopping/deleting runs and the GPT-2 download need
the teacher key; students keep everything read-only. Rules (ui/classroom.py) and pages (AppTest)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import open_page
from run_fixtures import make_run
from streamlit import config
from streamlit.testing.v1 import AppTest

from gpt.runs.reader import read_run
from tests.app.test_train_and_runs_pages import fake_worker, no_exceptions, open_with_run  # noqa: F401 - fake_worker is a fixture
from ui.classroom import KEY_ENV, configured_key, is_classroom, is_local_address, key_matches

KEY = "Correct-Horse-42"
STUDENT_MESSAGE = "is for the teacher in classroom mode. Ask your teacher, or enter the teacher key in the sidebar."

# ----------------------------------------------------------------------------------------- rules


@pytest.mark.parametrize("address", ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]", " localhost "])
def test_loopback_addresses_are_local(address: str) -> None:
    assert is_local_address(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "school-pc.example", "", None])
def test_network_and_unset_addresses_are_not_local(address: str | None) -> None:
    assert not is_local_address(address)  # unset: Streamlit listens on every interface


def test_classroom_mode_follows_the_address_and_can_be_forced_on_localhost() -> None:
    assert not is_classroom("localhost", {})
    assert is_classroom("0.0.0.0", {})
    assert is_classroom("localhost", {"ATTN_EXPLORER_CLASSROOM": "1"})  # behind a tunnel or proxy
    assert not is_classroom("localhost", {"ATTN_EXPLORER_CLASSROOM": "0"})


def test_the_environment_key_wins_over_secrets_and_blank_keys_are_no_key() -> None:
    assert configured_key({"teacher_key": "from-file"}, {KEY_ENV: "from-env"}) == "from-env"
    assert configured_key({"teacher_key": "from-file"}, {}) == "from-file"
    assert configured_key({"teacher_key": "from-file"}, {KEY_ENV: "  "}) == "from-file"
    assert configured_key({"teacher_key": "  from-file \n"}, {}) == "from-file"
    assert configured_key({"teacher_key": 1234}, {}) == "1234"  # TOML without quotes
    for secrets, environ in [({}, {}), ({"teacher_key": ""}, {KEY_ENV: ""}), ({"teacher_key": "   "}, {})]:
        assert configured_key(secrets, environ) is None
    for not_a_key in ({"a": 1}, ["x"], True):
        assert configured_key({"teacher_key": not_a_key}, {}) is None


def test_only_the_exact_key_matches() -> None:
    assert key_matches(KEY, KEY)
    assert key_matches(f"  {KEY}\n", KEY)  # pasted with a space or newline
    assert not key_matches("Correct-Horse-43", KEY)  # same length, one character off
    assert not key_matches("Correct-Horse", KEY)  # shorter
    assert not key_matches(KEY + "0", KEY)  # longer
    assert not key_matches(KEY.lower(), KEY)
    assert not key_matches("", KEY)
    assert not key_matches("", "")  # no key configured never unlocks
    assert key_matches("Schlüssel-ß", "Schlüssel-ß")


# ----------------------------------------------------------------------------------------- pages


@pytest.fixture
def classroom() -> None:
    """The server listens on every interface (the autouse local_server fixture puts it back)."""
    config.set_option("server.address", "0.0.0.0")


@pytest.fixture
def teacher_key(classroom, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def everything_shown(at: AppTest) -> str:
    """Every element of the page and sidebar as text: labels, values, help texts, messages."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(parts)


def assert_key_kept_secret(at: AppTest) -> None:
    assert KEY not in everything_shown(at)
    assert KEY not in repr(at.session_state.to_dict())


def enter_key(at: AppTest, key: str) -> None:
    at.sidebar.text_input(key="teacher_key_input").input(key).run()


def launch_button(at: AppTest):
    return at.button(key="train_launch")


def force_click(button) -> None:
    """Click a disabled button, as a hand-crafted websocket message could: nothing may happen.

    Streamlit 1.67 drops such a value itself; the pages check again, as older versions may not.
    """
    button.proto.disabled = False
    button.click().run()


def test_without_a_configured_key_nothing_can_be_started_and_the_teacher_is_told_how(classroom) -> None:
    at = open_page("train")
    no_exceptions(at)
    assert launch_button(at).disabled
    warning = " ".join(w.value for w in at.warning)
    assert "no teacher key is set" in warning and "secrets.toml" in warning and KEY_ENV in warning
    assert not [t for t in at.sidebar.text_input if t.key == "teacher_key_input"]  # nothing to type a key into


def test_a_student_sees_why_the_start_button_is_off_and_a_forced_click_starts_nothing(
    teacher_key, isolated_runs_dir: Path
) -> None:
    at = open_page("train")
    no_exceptions(at)
    assert launch_button(at).disabled
    assert any(STUDENT_MESSAGE in i.value for i in at.info)
    force_click(launch_button(at))
    no_exceptions(at)
    assert "run" not in at.session_state
    assert not list(isolated_runs_dir.iterdir())


def test_a_wrong_key_gives_an_error_and_starts_nothing(teacher_key, isolated_runs_dir: Path) -> None:
    at = open_page("train")
    for wrong in ("Correct-Horse-43", "nope"):  # same length and another length
        enter_key(at, wrong)
        no_exceptions(at)
        assert [e.value for e in at.sidebar.error] == ["That is not the teacher key."]
        assert launch_button(at).disabled
        assert at.sidebar.text_input(key="teacher_key_input").value == ""  # not echoed back
        assert "Teacher key" in everything_shown(at)  # the check sees the sidebar's widgets
        assert wrong not in everything_shown(at)
    assert_key_kept_secret(at)
    assert not list(isolated_runs_dir.iterdir())


@pytest.mark.usefixtures("fake_worker")
def test_the_right_key_unlocks_starting_a_run_and_lock_closes_it_again(teacher_key, isolated_runs_dir: Path) -> None:
    at = open_page("train")
    enter_key(at, KEY)
    no_exceptions(at)
    assert not at.sidebar.error
    assert not launch_button(at).disabled
    assert not any(STUDENT_MESSAGE in i.value for i in at.info)
    assert_key_kept_secret(at)
    at.number_input(key="w_train_max_iters").set_value(5).run()
    launch_button(at).click().run()
    no_exceptions(at)
    run_id = at.session_state["run"]
    assert (isolated_runs_dir / run_id).is_dir()
    assert_key_kept_secret(at)
    deadline = time.time() + 30  # let the fake worker finish, so no process outlives the test
    while read_run(isolated_runs_dir / run_id).state != "finished" and time.time() < deadline:
        time.sleep(0.1)
    at.sidebar.button(key="teacher_lock").click().run()
    no_exceptions(at)
    assert launch_button(at).disabled
    assert at.sidebar.text_input(key="teacher_key_input")


def test_runs_page_stop_resume_and_delete_are_for_the_teacher(teacher_key, isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "cut-short", state="running", pid=999_999_999, checkpoint=False)  # interrupted
    at = open_page("runs")
    no_exceptions(at)
    assert any(STUDENT_MESSAGE in i.value for i in at.info)
    assert at.button(key="runs_resume").disabled
    assert at.checkbox(key="runs_confirm_cut-short").disabled
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_confirm_cut-short").proto.disabled = False
    at.checkbox(key="runs_confirm_cut-short").check()
    force_click(at.button(key="runs_delete"))
    assert (isolated_runs_dir / "cut-short").is_dir()
    enter_key(at, KEY)
    assert not at.button(key="runs_resume").disabled
    at.checkbox(key="runs_confirm_cut-short").check().run()
    at.button(key="runs_delete").click().run()
    no_exceptions(at)
    assert not (isolated_runs_dir / "cut-short").exists()
    assert_key_kept_secret(at)


def test_the_live_dashboard_resume_button_is_for_the_teacher(teacher_key, isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "cut-short", state="running", pid=999_999_999)
    at = open_with_run("train", "cut-short")
    no_exceptions(at)
    assert at.button(key="resume_cut-short").disabled
    assert any(STUDENT_MESSAGE in i.value for i in at.info)


def test_students_still_watch_runs_and_open_checkpoints_in_the_explorer(teacher_key, isolated_runs_dir: Path) -> None:
    make_run(isolated_runs_dir, "trained")
    watch = open_with_run("watch", "trained")
    no_exceptions(watch)
    assert watch.get("plotly_chart")
    at = open_page("runs")
    at.button(key="runs_open").click().run()
    no_exceptions(at)
    assert at.session_state["model"] == "run:trained"


def test_the_gpt2_download_is_for_the_teacher(teacher_key, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(tmp_path / "gpt2"))
    at = open_page("overview")
    no_exceptions(at)
    assert at.sidebar.button(key="gpt2_download").disabled
    assert any(f"Downloading GPT-2's weights {STUDENT_MESSAGE}" == i.value for i in at.sidebar.info)
    enter_key(at, KEY)
    assert not at.sidebar.button(key="gpt2_download").disabled  # not clicked: that would download
    assert_key_kept_secret(at)


def test_on_localhost_no_key_is_asked_for(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)  # a key is set, but this computer is the only one that can connect
    monkeypatch.setenv("ATTN_EXPLORER_GPT2_DIR", str(tmp_path / "gpt2"))
    at = open_page("overview")
    assert not at.sidebar.button(key="gpt2_download").disabled
    assert not [t for t in at.sidebar.text_input if t.key == "teacher_key_input"]
    assert not any(STUDENT_MESSAGE in i.value for i in at.sidebar.info)


@pytest.mark.usefixtures("fake_worker")
def test_a_student_cannot_slow_the_class_run_with_a_speed_probe(teacher_key, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_STEP_S", "0.2")
    at = open_page("train")
    enter_key(at, teacher_key)
    at.number_input(key="w_train_max_iters").set_value(200).run()
    launch_button(at).click().run()  # the teacher starts the class's run
    student = open_page("train")
    student.number_input(key="w_train_n_embd").set_value(64).run()  # a size nobody has timed yet
    no_exceptions(student)
    assert any("appears when it has finished" in i.value for i in student.info)
    assert not [b for b in student.button if b.key == "train_probe_anyway"]
    at.button(key=f"stop_{at.session_state['run']}").click().run()
