"""browser.py - headless Chromium for the web UI tests (tests/webui/test_webui.py).

Browser starts Debian's chromedriver and chromium (selenium's Chrome driver,
in the network namespace the caller runs in) with a fresh profile, a
download directory and the browser log at level ALL; it records every
Content-Security-Policy violation and uncaught error of each page (a script
added through the DevTools protocol before any page script runs, which the
page's CSP does not restrict), takes screenshots into the artefacts
directory, runs axe-core on the current page and waits for conditions.
"""

import base64
import json
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import (JavascriptException, NoSuchElementException,
                                        StaleElementReferenceException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (360, 740)

# Runs in every document before its own scripts: keeps the CSP violations and
# the uncaught errors and rejections where the test can read them.
WATCH_JS = r"""
window.__bcWatch = {csp: [], errors: []};
document.addEventListener('securitypolicyviolation', function (e) {
  window.__bcWatch.csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                            ' at ' + (e.sourceFile || '') + ':' + (e.lineNumber || 0));
});
window.addEventListener('error', function (e) {
  window.__bcWatch.errors.push('error: ' + (e.message || (e.target && e.target.outerHTML) || e));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  var r = e.reason;
  window.__bcWatch.errors.push('unhandled rejection: ' + (r && (r.stack || r.message) || r));
});
"""


class Browser:
    """One headless Chromium session driven through chromedriver.

    workdir: where the profile and downloads go (made fresh); shots: the
    screenshot directory."""

    def __init__(self, workdir, shots):
        self.workdir = workdir
        self.shots = shots
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
        self.downloads = os.path.join(workdir, "downloads")
        os.makedirs(self.downloads, exist_ok=True)
        self.log = []            # every browser log entry so far, in order
        self.driver = None
        self.phone = False

    def start(self):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--disable-features=Translate,MediaRouter",
                  f"--user-data-dir={self.profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {
            "download.default_directory": self.downloads,
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        })
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        svc = Service(CHROMEDRIVER, log_path=os.path.join(self.workdir, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=svc, options=opts)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(120)
        self.cdp("Browser.setDownloadBehavior", behavior="allow", downloadPath=self.downloads,
                 eventsEnabled=False)
        self.cdp("Page.addScriptToEvaluateOnNewDocument", source=WATCH_JS)

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except WebDriverException:
                pass
            self.driver = None

    def cdp(self, cmd, **params):
        return self.driver.execute_cdp_cmd(cmd, params)

    # ---- navigation and state -------------------------------------------------
    def get(self, url):
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def hash(self):
        return self.js("return location.hash;")

    def q(self, css):
        """The first element matching css, or None."""
        try:
            return self.driver.find_element(By.CSS_SELECTOR, css)
        except NoSuchElementException:
            return None

    def qa(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def attr(self, css, name):
        """An attribute of the first element matching css (None when there is
        no such element or attribute)."""
        return self.js("var e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                       css, name)

    def text(self, css):
        """The visible text of the first element matching css ('' when none)."""
        return self.js("var e = document.querySelector(arguments[0]); return e ? (e.innerText || '') : '';", css) or ""

    def visible(self, css):
        return bool(self.js("var e = document.querySelector(arguments[0]);"
                            "return !!(e && e.getClientRects().length && !e.closest('[hidden]'));", css))

    def busy(self):
        return bool(self.js("return !!document.querySelector('[aria-busy=\"true\"]');"))

    def heading(self):
        """The text of the current page's first h1 inside main (visible ones
        only), or ''."""
        return self.js("""
            for (const h of document.querySelectorAll('#main h1, #main h2')) {
              if (h.getClientRects().length && !h.closest('[hidden]')) return h.innerText.trim();
            }
            return '';""") or ""

    def wait(self, cond, timeout=30.0, step=0.05):
        """Calls cond() until it returns something true or timeout seconds
        passed; returns its last value. Exceptions of a page being redrawn
        count as false."""
        deadline = time.time() + timeout
        v = None
        while True:
            try:
                v = cond()
            except (StaleElementReferenceException, JavascriptException):
                v = None
            if v or time.time() >= deadline:
                return v
            time.sleep(step)

    def fill(self, css, value):
        """Clears the input matching css and types value into it."""
        el = self.q(css)
        if el is None:
            raise NoSuchElementException(css)
        el.clear()
        if value:
            el.send_keys(value)
        return el

    def click(self, css):
        el = self.q(css)
        if el is None:
            raise NoSuchElementException(css)
        self.js("arguments[0].scrollIntoView({block: 'center'});", el)
        el.click()
        return el

    # ---- problems seen by the page -------------------------------------------
    def drain_log(self):
        """The browser log entries that arrived since the last call (also
        kept in self.log)."""
        try:
            new = self.driver.get_log("browser")
        except WebDriverException:
            new = []
        self.log.extend(new)
        return new

    def watched(self):
        """{'csp': [...], 'errors': [...]}: what the current document reported
        since the last call (the lists start again empty)."""
        try:
            w = self.js("var w = window.__bcWatch || null;"
                        "if (w) window.__bcWatch = {csp: [], errors: []};"
                        "return w;")
        except WebDriverException:
            w = None
        return w or {"csp": [], "errors": ["the watch script did not run in this document"]}

    def problems(self, entries, allow=()):
        """The SEVERE log entries and CSP reports among entries, minus those
        whose message contains one of allow."""
        bad = []
        for e in entries:
            msg = e.get("message", "")
            if e.get("level") == "SEVERE" or "Content Security Policy" in msg or "Content-Security-Policy" in msg:
                if not any(a in msg for a in allow):
                    bad.append(f"{e.get('level')} {e.get('source', '')}: {msg}")
        return bad

    # ---- screenshots, phone size, downloads ------------------------------------
    def shot(self, name):
        """Saves a screenshot of the whole page as SHOTS/NAME.png; returns the
        path (None when it failed)."""
        path = os.path.join(self.shots, name + ".png")
        try:
            # The whole page, not just the viewport: the layout's size, at the
            # current width, for the one capture.
            m = self.cdp("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m.get("contentSize") or {}
            w = self.viewport()[0]
            h = int(min(max(size.get("height", 0), 100), 8000))
            self.cdp("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1,
                     mobile=self.phone)
            data = self.cdp("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))
            return path
        except (WebDriverException, KeyError, OSError):
            try:
                self.driver.save_screenshot(path)
                return path
            except WebDriverException:
                return None
        finally:
            try:
                self.set_viewport(PHONE if self.phone else DESKTOP)
            except WebDriverException:
                pass

    def viewport(self):
        return PHONE if self.phone else DESKTOP

    def set_viewport(self, size):
        self.cdp("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                 mobile=size == PHONE)

    def set_phone(self, on):
        self.phone = bool(on)
        self.set_viewport(PHONE if on else DESKTOP)

    def overflow(self):
        """(scrollWidth, innerWidth) of the current document."""
        return tuple(self.js("return [document.documentElement.scrollWidth, window.innerWidth];"))

    def wait_download(self, name, timeout=60.0):
        """Waits for DOWNLOADS/NAME to be complete; returns its bytes or None."""
        path = os.path.join(self.downloads, name)
        deadline = time.time() + timeout
        last = -1
        while time.time() < deadline:
            if os.path.exists(path) and not os.path.exists(path + ".crdownload"):
                size = os.path.getsize(path)
                if size == last:
                    with open(path, "rb") as f:
                        return f.read()
                last = size
            time.sleep(0.2)
        return None

    def downloaded(self):
        return sorted(os.listdir(self.downloads))

    def clear_downloads(self):
        shutil.rmtree(self.downloads, ignore_errors=True)
        os.makedirs(self.downloads, exist_ok=True)

    # ---- accessibility ---------------------------------------------------------
    def axe(self, axe_source, timeout=120):
        """Runs axe-core on the current document; returns its violations as
        [{id, impact, help, nodes: [target...]}], or raises WebDriverException."""
        self.driver.set_script_timeout(timeout)
        self.js(axe_source + "\n;window.__bcAxe = axe;")
        res = self.driver.execute_async_script("""
            var done = arguments[arguments.length - 1];
            window.__bcAxe.run(document, {resultTypes: ['violations']})
              .then(function (r) { done(JSON.stringify(r.violations)); })
              .catch(function (e) { done(JSON.stringify({error: String(e)})); });""")
        v = json.loads(res)
        if isinstance(v, dict) and "error" in v:
            raise WebDriverException("axe.run failed: " + v["error"])
        return [{"id": x.get("id"), "impact": x.get("impact"), "help": x.get("help"),
                 "nodes": [" ".join(map(str, n.get("target", []))) for n in x.get("nodes", [])][:5]}
                for x in v]
