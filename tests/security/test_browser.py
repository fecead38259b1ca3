"""The screens under their Content-Security-Policy in a real headless Chromium: sign in through the login page,
see the analyst page; open the wall with a kiosk key. Chrome logs every CSP violation as a SEVERE console
entry ("Refused to ..." / "violates the following Content Security Policy directive"): there must be none.

The app's clock is frozen at 2021-06-30 12:00, so the default period (this year) holds the fixture's a1, a2, a5
and a8: 4 messages nationally, 2 in 河南 (tests/conftest.py, counted by hand).
"""

from __future__ import annotations

import pytest

from dashboard import ids as W
from dashboard.analyst import ids as A
from tests.security.support import PASSWORD, Site
from tests.test_analyst import CHROMEDRIVER, CHROMIUM, SETTLED, _driver, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # selenium 4.2 on urllib3 2
CLOCK = "2021-06-30T12:00:00"


@pytest.fixture
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromedriver are needed (installed by .ci/run)")
    driver = _driver()
    yield driver
    driver.quit()


@pytest.fixture
def site(fixture_store, tmp_path):
    s = Site(fixture_store, tmp_path, clock=CLOCK)
    yield s
    s.close()


def problems(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_login_then_analyst_page_without_csp_violations(browser, site):
    browser.get(site.url + "/analyst?lang=zh")
    wait_for(lambda: "/login" in browser.current_url, message="redirect to the login page")
    assert "登录" in browser.title
    browser.find_element("name", "username").send_keys("henan")
    browser.find_element("name", "password").send_keys(PASSWORD)
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: browser.current_url.startswith(site.url + "/analyst"), message="back on the analyst page")
    wait_for(lambda: browser.execute_script(SETTLED, A.KPIS), message="analyst page settled")
    value = A.kpi_value(A.KPIS, "messages")
    wait_for(lambda: browser.find_element("id", value).text == "2", message="河南's 2 messages (not the nation's 4)")
    bar = browser.find_element("id", "session-bar").text
    assert "henan" in bar and "退出" in bar
    assert problems(browser) == []
    # sign out through the page's own form (CSRF token included): back on the login page, data closed
    browser.find_element("css selector", "#session-bar button").click()
    wait_for(lambda: "/login" in browser.current_url, message="signed out")
    browser.get(site.url + "/api/v1/summary")
    assert "sign in first" in browser.page_source
    assert not [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]


def test_wall_with_a_kiosk_key_without_csp_violations(browser, site):
    browser.get(f"{site.url}/?key={site.wall_key}")
    messages = W.kpi_value("messages")
    wait_for(lambda: browser.find_element("id", messages).text.strip() == "4", message="the wall's 4 messages")
    wait_for(lambda: browser.execute_script("return document.querySelectorAll('.js-plotly-plot').length") >= 3)
    assert browser.find_element("id", "session-bar").text == ""  # no user corner on a kiosk
    assert problems(browser) == []
