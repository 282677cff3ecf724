"""The pages issue 18 items 1-4 built, in headless Chromium at 360, 768 and 1280 px: the
home page, a torrent page with each tab, a profile and the profile form fit the width (no
horizontal scroll), raise no console error and no CSP violation; a screenshot of each
is saved in the test's directory."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from domain.catalog.models import TorrentFile, TorrentMetadata
from domain.community.services import chat_message_post
from tests.e2e.cdp import Browser, Page
from tests.e2e.test_chat_browser import log_in
from tests.factories import make_torrent, make_user

WIDTHS = (360, 768, 1280)

GUARD = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__problems.push('csp ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
window.addEventListener('error', (e) => window.__problems.push('error ' + e.message));
const original = console.error;
console.error = (...args) => {
  window.__problems.push('console ' + args.join(' '));
  original(...args);
};
"""


def _visit(page: Page, url: str, width: int, shot: Path) -> None:
    page.send("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 768})
    page.navigate(url)
    page.wait_for(f"location.href === {url!r} && document.readyState === 'complete'",
                  what=f"{url} at {width}px")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    image = page.send("Page.captureScreenshot", {"format": "png"})
    shot.write_bytes(base64.b64decode(image["data"]))
    assert overflow <= 0, f"{url} at {width}px scrolls sideways by {overflow}px ({shot})"
    problems = page.evaluate("window.__problems")
    assert problems == [], f"{url} at {width}px: {problems}"


@pytest.mark.django_db(transaction=True)
def test_front_pages_fit_every_width(browser: Browser, asgi_server: str,
                                     tmp_path: Path) -> None:
    member, uploader = make_user("elite"), make_user("uploader")
    t = make_torrent(name="A.Rather.Long.Release.Name.With.Dots.2024.1080p.BluRay.x264-GRP",
                     uploader=uploader, is_freeleech=True, is_featured=True)
    TorrentMetadata.objects.create(torrent=t, year=2024, imdb_id="tt0000001")
    TorrentFile.objects.create(torrent=t, file_index=0, size=123456789,
                               path="A very long folder name that goes on/Sub folder/file.mkv")
    chat_message_post(user=uploader, room_name="general", body="x" * 300)
    page = browser.new_page()
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": GUARD})
    log_in(page, asgi_server, member.username)
    paths = {
        "home": "/",
        "torrent": f"/torrents/{t.pk}/",
        "torrent-files": f"/torrents/{t.pk}/?tab=files",
        "torrent-peers": f"/torrents/{t.pk}/?tab=peers",
        "torrent-snatches": f"/torrents/{t.pk}/?tab=snatches",
        "profile": f"/users/{uploader.username}/",
        "profile-edit": "/settings/profile/",
    }
    for name, path in paths.items():
        for width in WIDTHS:
            _visit(page, asgi_server + path, width, tmp_path / f"{name}-{width}.png")
