"""The web page in Debian's Chromium, driven by Playwright, against a real server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
# README screenshots: YUYIN_SCREENSHOTS=docs/screenshots make test
SHOTS = os.environ.get("YUYIN_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is installed by scripts/setup.sh --dev"
)


@pytest.fixture(scope="module")
def base_url(serve) -> Iterator[str]:
    with serve(preload=("tiny.en",)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def pw() -> Iterator[object]:
    # One Playwright driver per module: a second sync_playwright() cannot start inside it.
    with playwright.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw) -> Iterator[object]:
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="en-US")
    page = context.new_page()
    page.goto(base_url)
    page.wait_for_selector("#model option", state="attached")
    yield page
    context.close()


def shot(page, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)


def test_upload_shows_the_transcript_and_working_downloads(page, data_dir, tmp_path):
    page.select_option("#model", "tiny.en")
    page.set_input_files("#file", str(data_dir / "en.wav"))
    page.wait_for_selector("#segments li", timeout=120_000)
    text = page.inner_text("#segments").lower()
    for word in ("read", "good", "book", "morning", "happy"):
        assert word in text
    assert page.is_hidden("#progress")
    assert page.is_hidden("#error")
    srt = page.evaluate("fetch(document.getElementById('dl-srt').href).then(r => r.text())")
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert page.get_attribute("#dl-srt", "download") == "en.srt"
    data = page.evaluate("fetch(document.getElementById('dl-json').href).then(r => r.json())")
    assert data["segments"][0]["words"]
    shot(page, "upload", tmp_path)


def test_clicking_a_word_seeks_the_player(page, data_dir):
    page.set_input_files("#file", str(data_dir / "en.wav"))
    page.wait_for_selector("#segments .word", timeout=120_000)
    word = page.locator("#segments li").nth(1).locator(".word").first
    start = float(word.get_attribute("data-start") or "nan")
    assert start > 1.0
    # Playback would move past a short word before the check on a busy machine: hold it.
    page.evaluate("HTMLMediaElement.prototype.play = function () { return Promise.resolve(); }")
    word.click()
    position = page.evaluate("document.getElementById('player').currentTime")
    assert abs(position - start) < 0.3
    page.evaluate("document.getElementById('player').dispatchEvent(new Event('timeupdate'))")
    assert "current" in (word.get_attribute("class") or "")


def test_a_bad_file_shows_a_clear_error(page, data_dir):
    page.set_input_files("#file", str(data_dir / "not_audio.wav"))
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    message = page.inner_text("#error")
    assert "not a media file" in message
    assert "not_audio.wav" in message
    assert page.is_hidden("#result")


def test_a_pasted_link_is_downloaded_by_the_server_and_plays(page, media_server):
    assert page.is_visible("#url-form")
    page.select_option("#model", "tiny.en")
    page.fill("#url", f"{media_server}/en.mp3")
    page.click("#url-form button")
    page.wait_for_selector("#segments li", timeout=120_000)
    assert "morning" in page.inner_text("#segments").lower()
    assert page.get_attribute("#dl-srt", "download") == "en.srt"
    assert page.evaluate("document.getElementById('player').src") == f"{media_server}/en.mp3"
    assert page.is_hidden("#analysis")  # the picture is drawn for uploads only
    page.fill("#url", f"{media_server}/missing.mp3")
    page.click("#url-form button")
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert "missing.mp3" in page.inner_text("#error")


def test_traditional_chinese_interface_and_phone_layout(page, data_dir, tmp_path):
    page.click("#ui-lang")
    assert page.inner_text("#tab-file") == "檔案"
    assert page.get_attribute("html", "lang") == "zh-Hant"
    page.select_option("#model", "base")
    page.select_option("#language", "zh-TW")
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_input_files("#file", str(data_dir / "zh.wav"))
    page.wait_for_selector("#segments li", timeout=120_000)
    assert "我們一起去" in page.inner_text("#segments")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(page, "phone-zh-TW", tmp_path)


def test_every_control_has_an_accessible_label(page):
    unlabeled = page.evaluate(
        """[...document.querySelectorAll('input, select, button')].filter(el => {
             const label = el.labels && el.labels.length ? el.labels[0].innerText.trim() : '';
             return !(label || el.getAttribute('aria-label') || el.innerText.trim());
           }).map(el => el.id)"""
    )
    assert unlabeled == []


def test_analysis_view_shows_waveform_and_mel_image(page, data_dir):
    page.set_input_files("#file", str(data_dir / "en.wav"))
    page.wait_for_selector("#analysis:not([hidden])", timeout=120_000)
    page.click("#analysis summary")
    size = page.evaluate(
        "(() => { const i = document.getElementById('analysis-img');"
        " return [i.naturalWidth, i.naturalHeight]; })()"
    )
    assert size[0] > 400
    assert size[1] > 200


def test_live_tab_with_a_fake_microphone_shows_committed_text(pw, base_url, data_dir, tmp_path):
    # Chromium plays this WAV as its microphone (looped), through getUserMedia.
    mic = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={data_dir / 'en_long.wav'}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS + mic)
    try:
        context = browser.new_context(permissions=["microphone"])
        page = context.new_page()
        page.goto(base_url)
        page.wait_for_selector("#model option", state="attached")
        page.select_option("#model", "tiny.en")
        page.click("#tab-live")
        page.click("#live-start")
        page.wait_for_function(
            "document.getElementById('live-committed').textContent.split(' ').length > 6",
            timeout=120_000,
        )
        assert page.evaluate("document.getElementById('level').value") >= 0
        shot(page, "live", tmp_path)
        page.click("#live-stop")
        text = page.inner_text("#live-committed").lower()
    finally:
        browser.close()
    assert any(w in text for w in ("sun", "park", "children", "cake", "dog", "birds", "warm"))
