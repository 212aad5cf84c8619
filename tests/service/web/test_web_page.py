"""The upload page in headless Chromium: choose a file, see the lines listed and the boxes drawn.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package; skipped without them.
Set OCR_TEST_SCREENSHOT=/some/file.png to keep a screenshot of the result page.
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pytest
import requests
from ocrstack_testing.web import encode, text_page
from PIL import Image

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
]
FIRST_BOX_RGB = (0xE6, 0x19, 0x4B)  # COLORS[0] in app.js


@pytest.fixture
def browser(tmp_path, monkeypatch):
    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager look for downloads
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_upload_lists_the_lines_and_draws_the_boxes(server, browser, make_sample, tmp_path):
    sample = make_sample(3)
    path = tmp_path / "sample.png"
    path.write_bytes(encode(sample.image))
    api = requests.post(server.url + "/v1/ocr", files={"image": path.read_bytes()}, timeout=60).json()

    browser.get(server.url + "/")
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#lines .line-text")))

    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lines .line-text")]
    assert texts == [line["text"] for line in api["lines"]]
    assert sample.matches("\n".join(texts))
    confidences = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lines .line-confidence")]
    assert all(re.fullmatch(r"\d{1,3}\.\d%", c) for c in confidences)
    assert browser.find_element(By.ID, "error").is_displayed() is False

    canvas = browser.find_element(By.ID, "canvas")
    assert canvas.get_attribute("data-boxes") == str(len(api["lines"]))
    assert (int(canvas.get_attribute("width")), int(canvas.get_attribute("height"))) == sample.image.size
    (x0, y0), (x1, _), _, _ = api["lines"][0]["box"]
    pixel = browser.execute_script(
        "const c = document.getElementById('canvas').getContext('2d');"
        "return Array.from(c.getImageData(arguments[0], arguments[1], 1, 1).data);",
        round((x0 + x1) / 2),
        round(y0),
    )
    assert tuple(pixel[:3]) == FIRST_BOX_RGB  # the first box's outline is drawn on its top edge
    page_pixel = browser.execute_script(
        "return Array.from(document.getElementById('canvas').getContext('2d').getImageData(2, 2, 1, 1).data);"
    )
    assert tuple(page_pixel[:3]) == (255, 255, 255)  # and the image itself is under it

    screenshot = os.environ.get("OCR_TEST_SCREENSHOT")
    browser.save_screenshot(screenshot or str(tmp_path / "page.png"))


def test_api_error_is_shown_as_a_readable_message(server, browser, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not an image\n")
    browser.get(server.url + "/")
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    error = WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "error")))
    assert "not an image format we read" in error.text
    assert "HTTP 415" in error.text and "unsupported_media_type" in error.text
    assert browser.find_element(By.ID, "result").is_displayed() is False


def test_pdf_upload_shows_a_page_picker_and_the_chosen_page(server, browser, make_sample, tmp_path):
    from ocrstack_testing.pdf import image_pdf
    from selenium.webdriver.support.ui import Select

    samples = [make_sample(1), make_sample(2)]
    path = tmp_path / "two-pages.pdf"
    path.write_bytes(image_pdf([s.image for s in samples]))
    api = requests.post(server.url + "/v1/ocr", files={"image": path.read_bytes()}, timeout=120).json()

    browser.get(server.url + "/")
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    picker = WebDriverWait(browser, 120).until(ec.visibility_of_element_located((By.ID, "page-select")))
    choose = Select(picker)
    assert [o.get_attribute("value") for o in choose.options] == ["1", "2"]
    for page, sample in zip(api["pages"], samples, strict=True):
        choose.select_by_value(str(page["page"]))
        WebDriverWait(browser, 10).until(
            lambda b, n=page["page"]: b.find_element(By.ID, "canvas").get_attribute("data-page") == str(n)
        )
        texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lines .line-text")]
        assert texts == [line["text"] for line in page["lines"]]
        assert sample.matches("\n".join(texts))
        canvas = browser.find_element(By.ID, "canvas")
        assert canvas.get_attribute("data-boxes") == str(len(page["lines"]))
        size = (int(canvas.get_attribute("width")), int(canvas.get_attribute("height")))
        assert size == (page["width"], page["height"])  # the page as rendered at OCR_PDF_DPI


def test_a_page_sent_sideways_is_shown_with_the_turn_that_read_it(oriented_server, browser, tmp_path):
    page, _ = text_page()
    path = tmp_path / "sideways.png"
    path.write_bytes(encode(Image.fromarray(np.rot90(np.asarray(page), 3))))  # turned clockwise
    url = oriented_server.url
    api = requests.post(url + "/v1/ocr", files={"image": path.read_bytes()}, timeout=60).json()
    assert api["rotation"] == 270 and api["lines"]

    browser.get(url + "/")
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#lines .line-text")))
    texts = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#lines .line-text")]
    assert texts == [line["text"] for line in api["lines"]]
    assert "read turned 270° clockwise" in browser.find_element(By.ID, "timings").text
    canvas = browser.find_element(By.ID, "canvas")
    assert canvas.get_attribute("data-rotation") == "270"
    # drawn over the image as sent: the canvas has its size, not the upright page's
    size = (int(canvas.get_attribute("width")), int(canvas.get_attribute("height")))
    assert size == (page.height, page.width)
