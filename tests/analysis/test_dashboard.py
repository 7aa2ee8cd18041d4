"""The classroom dashboard: its settings and figures, the `concession dashboard` command, and
the page itself driven in Debian's Chromium (the `browser` test)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("solara", reason="the dashboard needs the viz extra")

from analysis.dashboard import (  # noqa: E402
    DEFAULT_SETTINGS,
    PRESETS,
    DashboardModel,
    build_config,
    deal_summary,
    ensure_frontend_assets,
    frontend_packages,
    network_figure,
    plots_figure,
    seed_value,
    strategy_mix,
    strategy_rows,
    strategy_table_html,
)
from environments.config import ConfigError, load_config  # noqa: E402
from experiments.cli import app  # noqa: E402
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


# ------------------------------------------------------------------ settings and model


def test_the_mix_is_normalised_and_an_empty_mix_means_equal_shares():
    settings = {**DEFAULT_SETTINGS, "mix_strategic": 0.3, "mix_holdout": 0.1}
    assert strategy_mix(settings) == pytest.approx({"strategic": 0.75, "holdout": 0.25})
    equal = strategy_mix(DEFAULT_SETTINGS)
    assert len(equal) == 6 and sum(equal.values()) == pytest.approx(1.0)


def test_every_preset_is_a_valid_model_configuration():
    for preset in PRESETS.values():
        cfg = load_config(build_config(preset.settings))
        assert cfg.population.n == preset.settings["n"]
        assert cfg.deal.continuation == preset.settings["continuation"]
        assert cfg.reputation.referral_prob == preset.settings["referral"]
        assert cfg.deal.batna.high == preset.settings["batna"]


def test_an_unknown_setting_is_refused_by_name():
    with pytest.raises(ConfigError, match="'continuaton'"):
        build_config({"continuaton": 0.5})


def test_any_typed_seed_works_and_a_number_is_itself():
    assert seed_value("12") == 12
    assert seed_value(" 7 ") == 7
    assert seed_value("") == seed_value(None) == 1
    assert seed_value("lecture 3") == seed_value("lecture 3") != seed_value("lecture 4")


def test_the_model_takes_the_settings_from_anything_with_a_value():
    class Holder:
        value = {**PRESETS["precedent"].settings, "n": 40}

    model = DashboardModel(Holder(), seed="5")
    assert model.n == 40 and model.seed == 5
    assert model.settings["expectation_rate"] == 1.0
    model.release()


def test_a_step_records_referrals_by_strategy_and_the_layout_is_computed_once():
    model = DashboardModel(PRESETS["word of mouth"].settings, seed=1)
    pos = model.positions()
    assert pos.shape == (model.n, 2)
    model.run(5)
    assert model.positions() is pos
    frame = model.referrals_frame()
    assert frame.height == 5 * len(model.strategy_names)
    last = frame.filter(frame["step"] == 5)
    assert last["referrals_received"].sum() > 0
    model.release()


@pytest.mark.parametrize("name", list(PRESETS))
def test_figures_and_text_render_for_every_preset_before_and_after_steps(name):
    model = DashboardModel(PRESETS[name].settings, seed=1)
    for steps in (0, 3):
        model.run(steps)
        for figure in (
            network_figure(model, "wealth"),
            network_figure(model, "reputation"),
            plots_figure(model),
        ):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            assert buffer.getvalue().startswith(b"\x89PNG")
    summary = deal_summary(model)
    assert summary.startswith(f"Step 3 · {model.n} negotiators")
    assert "deals in the last step" in summary
    rows = strategy_rows(model)
    mixed = {
        k.removeprefix("mix_") for k, v in PRESETS[name].settings.items() if k[:4] == "mix_" and v
    }
    assert {row["strategy"] for row in rows} == mixed
    assert strategy_table_html(model).startswith("<table")
    model.release()


# ------------------------------------------------------------------ front-end files


def test_the_page_needs_the_vuetify_app_requirejs_and_font_awesome():
    packages = frontend_packages()
    assert any(p.startswith("@widgetti/solara-vuetify") for p in packages)
    assert any(p.startswith("requirejs@") for p in packages)
    assert any(p.startswith("font-awesome@") for p in packages)


def test_missing_front_end_files_are_fetched_with_npm_into_solaras_cache(tmp_path, monkeypatch):
    import solara.server.settings as server_settings

    # A stand-in for npm: `npm pack SPEC --json --pack-destination DIR` writes a tarball.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npm"
    fake.write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            dest="$5"
            mkdir -p "$dest/build/package/dist"
            echo '{"name": "x"}' > "$dest/build/package/package.json"
            echo 'js' > "$dest/build/package/dist/app.js"
            tar czf "$dest/x.tgz" -C "$dest/build" package
            echo '[{"filename": "x.tgz"}]'
            """
        )
    )
    fake.chmod(0o755)
    cache = tmp_path / "cdn"
    monkeypatch.setattr(server_settings.assets, "proxy_cache_dir", cache)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    messages: list[str] = []
    assert ensure_frontend_assets(echo=messages.append) == []
    for spec in frontend_packages():
        assert (cache / spec / "package.json").is_file()
        assert (cache / spec / "dist" / "app.js").read_text() == "js\n"
    assert messages and "npm registry" in messages[0]
    # Once cached, nothing is fetched again.
    messages.clear()
    assert ensure_frontend_assets(echo=messages.append) == [] and not messages


def test_without_npm_the_missing_files_are_reported_not_raised(tmp_path, monkeypatch):
    import solara.server.settings as server_settings

    monkeypatch.setattr(server_settings.assets, "proxy_cache_dir", tmp_path / "cdn")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ensure_frontend_assets(echo=lambda _: None) == frontend_packages()


# ------------------------------------------------------------------ the command


def test_dashboard_help_names_port_and_host():
    result = runner.invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--host" in result.output


@pytest.mark.parametrize(
    ("args", "message"), [(["--port", "0"], "--port"), (["--port", "70000"], "--port")]
)
def test_a_bad_port_exits_2(args, message):
    result = runner.invoke(app, ["dashboard", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_an_empty_host_exits_2_with_one_line():
    result = runner.invoke(app, ["dashboard", "--host", " "])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:") and "--host" in result.stderr


def test_running_a_model_does_not_import_solara():
    code = textwrap.dedent(
        """\
        import sys
        from typer.testing import CliRunner
        from experiments.cli import app
        result = CliRunner().invoke(app, ["run", "examples/first-run.toml", "--steps", "1"])
        assert result.exit_code == 0, result.output
        print("solara" in sys.modules, "mesa.visualization" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ in the browser


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing is a failure, not a skip: `make browser` installs it."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: run `make browser` (it installs Debian's chromium) "
            "to run the browser tests"
        )
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"the dashboard did not listen on port {port} within {timeout:.0f} s")


def _settled_text(locator, wait: float = 1.0, tries: int = 20) -> str:
    """The locator's text once it stays the same for `wait` seconds."""
    text = locator.inner_text()
    for _ in range(tries):
        time.sleep(wait)
        now = locator.inner_text()
        if now == text:
            return text
        text = now
    pytest.fail(f"the page kept changing: {text!r}")


@pytest.fixture
def dashboard_url(tmp_path):
    """`concession dashboard --port P` in a subprocess, stopped (its process group) at the end."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments.cli", "dashboard", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that the end stops all of it
        )
    try:
        _wait_for_port(port, proc, log, timeout=180)
        yield f"http://127.0.0.1:{port}/"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


@pytest.mark.browser
def test_a_class_picks_a_preset_steps_plays_moves_a_slider_and_resets(
    chromium, dashboard_url, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(dashboard_url)
            summary = page.locator(".concession-summary")
            # The first page load starts a Solara kernel and builds the first model.
            expect(summary).to_contain_text("Step 0 ·", timeout=120_000)

            # A preset: its sentence appears and its model is built.
            page.locator(".v-select").filter(has_text="teaching preset").click()
            page.locator(".v-overlay .v-list-item").filter(has_text="word of mouth").click()
            expect(page.locator("h3.concession-lesson")).to_have_text("word of mouth")
            expect(page.get_by_text("satisfied partners refer each other").first).to_be_visible()
            expect(page.get_by_text("gossip probability q: 0.3")).to_be_visible()

            network = page.locator(".concession-network img")
            plots = page.locator(".concession-plots img")
            expect(network).to_be_visible()
            network_before = network.get_attribute("src")
            plots_before = plots.get_attribute("src")

            # Step: the counter, the summary of the deals, the network and the plots change.
            step = page.get_by_role("button", name="Step", exact=True)
            for i in (1, 2, 3):
                step.click()
                expect(summary).to_contain_text(f"Step {i} ·", timeout=30_000)
            expect(summary).to_contain_text("deals in the last step")
            expect(network).not_to_have_attribute("src", network_before)
            expect(plots).not_to_have_attribute("src", plots_before)
            assert plots.evaluate("img => img.naturalWidth") > 500
            assert network.evaluate("img => img.naturalWidth") > 300
            expect(page.locator("table.concession-strategies")).to_contain_text("strategic")

            # Play, then pause: the model runs on its own and stops when told.
            page.get_by_role("button", name="▶").click()
            expect(summary).to_contain_text("Step 5 ·", timeout=60_000)
            page.get_by_role("button", name="❚❚").click()
            expect(step).to_be_enabled(timeout=30_000)
            paused = _settled_text(summary)  # a step under way when paused still lands
            time.sleep(2.0)
            assert summary.inner_text() == paused, "the model went on after pause"
            page.screenshot(path=str(tmp_path / "dashboard-stepped.png"), full_page=True)

            # A slider, then Reset: the model is rebuilt with the new value.
            slider = page.locator(".v-slider").filter(has_text="negotiators").get_by_role("slider")
            slider.focus()
            page.keyboard.press("ArrowRight")
            expect(page.get_by_text("negotiators: 70")).to_be_visible()
            expect(page.get_by_text("press Reset to apply")).to_be_visible()
            page.get_by_role("button", name="Reset").click()
            expect(summary).to_contain_text("Step 0 · 70 negotiators", timeout=30_000)
            expect(page.get_by_text("press Reset to apply")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "dashboard-reset.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "dashboard-stepped.png").stat().st_size > 10_000
    assert not errors, errors
