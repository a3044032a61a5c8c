"""The whole journey in a real browser on the real stack with tiny models, at
desktop width (the owner) and on a 390 px phone (the listener), each of them
signing up, creating a song and watching its progress, playing it in the player
bar while moving to another page, downloading it, sharing its link (which
unfurls), searching, opening an artist and liking a song.

The owner also buys credits through the local checkout, creates a song in each
mode (the first in two takes, with the lyrics written first for free), extends
one, repaints a section of the extension on its waveform, downloads that as
MP3, renames and publishes, and finally deletes it; the listener finds it by its
category and among their liked songs, then changes their settings and deletes
their account. Every control is found by its accessible name; axe-core checks
every page, and Lighthouse the two pages a shared link lands on."""

import html
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.audits import Audits
from tests.integration.helpers import mailed_token
from tests.stacks import Product

PASSWORD = "correct horse battery"
# Tiny models make a 10-second song in seconds on a CPU; the first one also
# waits for the worker's first batch.
READY_TIMEOUT_MS = 180_000
PHONE = {"width": 390, "height": 844}


def shot(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=artifacts / f"{name}.png", full_page=True)


@pytest.fixture
def audits(artifacts: Path, figures: Callable[[str], None]) -> Iterator[Audits]:
    found = Audits(artifacts)
    yield found
    figures(found.report())


def play_buttons(page: Page) -> Locator:
    """The play buttons of the page's songs (not the player bar's)."""
    return page.get_by_role("main").get_by_role("button", name=re.compile(r"^(Play|Pause) "))


def play_here(page: Page, song_id: str) -> None:
    """Plays the song of the song page in the player bar, once its audio is loaded."""
    button = play_buttons(page)
    if button.get_attribute("aria-label", timeout=READY_TIMEOUT_MS).startswith("Play "):
        button.click()
    expect(page.get_by_test_id("player-audio")).to_have_attribute("data-song-id", song_id)


def sign_up(page: Page, product: Product, name: str) -> str:
    """Signs up, then opens the link the mail carries (written to the outbox)."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{product.url}/sign-up")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Display name").fill(name)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    token = mailed_token(product.outbox, email, "confirm-sign-up")
    page.goto(f"{product.url}/confirm-sign-up?token={token}")
    expect(page.get_by_role("heading", name="My songs")).to_be_visible()
    return email


def open_advanced_settings(page: Page) -> None:
    if not page.get_by_label("Duration (seconds)").is_visible():
        page.get_by_text("Advanced settings").click()


def create_song(
    page: Page, *, mode: str, fill: dict[str, str], instrumental: bool, takes: int = 1
) -> str:
    """Creates a song (or `takes` of it) from the Create page; returns the id of the
    newest once every song is READY."""
    page.get_by_role("link", name="Create", exact=True).click()
    page.get_by_role("radio", name=mode).check()
    for label, text in fill.items():
        page.get_by_label(label, exact=True).fill(text)
    if instrumental:
        page.get_by_role("switch", name="Instrumental (no vocals)").check()
    page.get_by_label("Takes").select_option(str(takes))
    open_advanced_settings(page)
    page.get_by_label("Duration (seconds)").fill("10")
    page.get_by_label("Inference steps").fill("4")
    if takes > 1:
        page.get_by_role("button", name=f"Create {takes} takes ({takes} credits)").click()
        # The takes are followed side by side in My songs.
        page.wait_for_url(re.compile(r"/songs$"))
        expect(page.get_by_text(f"Take {takes}", exact=True)).to_be_visible()
        # Progress shows while they are queued and made, then each announces itself.
        expect(page.get_by_role("progressbar").first).to_be_visible()
        expect(play_buttons(page)).to_have_count(takes, timeout=READY_TIMEOUT_MS)
        expect(page.get_by_role("link", name=re.compile("is ready$")).first).to_be_visible()
        href = page.locator("article h2 a").first.get_attribute("href") or ""
        return href.rsplit("/", 1)[1]
    page.get_by_role("button", name="Create song (1 credit)").click()
    return wait_for_new_song(page)


def wait_for_new_song(page: Page, *, after: str = "") -> str:
    """The id of the song page the app opened (another than `after`), once READY."""
    not_after = f"(?!{after})" if after else ""
    page.wait_for_url(re.compile(rf"/songs/{not_after}[0-9a-f-]{{36}}$"))
    song_id = page.url.rsplit("/", 1)[1]
    # Live status from WatchSong until it can be played: no reload, no polling.
    expect(play_buttons(page)).to_be_visible(timeout=READY_TIMEOUT_MS)
    return song_id


def audio_duration(page: Page, song_id: str) -> float:
    """The length of the song's audio as the player bar loads it through the signed URL."""
    play_here(page, song_id)
    return page.get_by_test_id("player-audio").evaluate(
        """audio => new Promise((resolve, reject) => {
            if (audio.readyState >= 1) return resolve(audio.duration);
            audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
            audio.addEventListener("error", () => reject(new Error("audio failed to load")));
        })"""
    )


def keeps_playing_elsewhere(page: Page) -> None:
    """Moves to Discover while the player bar plays, and checks the music goes on."""
    page.get_by_role("link", name="Discover").click()
    expect(page.get_by_role("heading", name="Discover")).to_be_visible()
    page.wait_for_function(
        """() => {
            const audio = document.querySelector('[data-testid="player-audio"]');
            return audio && !audio.paused && audio.currentTime > 0.2;
        }"""
    )
    expect(page.get_by_role("region", name="Player").get_by_role("link").first).to_be_visible()


def check_phone_navigation(page: Page) -> None:
    """On a phone, every page of the main navigation is a tab on screen, and the
    player bar sits on the tab bar rather than over it."""
    tabs = page.get_by_role("navigation", name="Main")
    expect(tabs.get_by_role("link")).to_have_text(
        ["Discover", "Create", "My songs", "Liked", re.compile(r"^Credits: \d+$")]
    )
    for tab in tabs.get_by_role("link").all():
        box = tab.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert box["width"] >= 44 and box["y"] + box["height"] <= PHONE["height"], box
    player = page.get_by_role("region", name="Player").bounding_box()
    tab_bar = tabs.bounding_box()
    assert player and tab_bar and player["y"] + player["height"] <= tab_bar["y"] + 1, (
        player,
        tab_bar,
    )


def download(page: Page, artifacts: Path, fmt: str, name: str) -> Path:
    """Downloads the song of the song page in `fmt` (the Format option's label) and
    saves it as `name`."""
    page.get_by_label("Format").select_option(label=fmt)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download").click()
    saved = artifacts / name
    downloading.value.save_as(saved)
    assert Path(downloading.value.suggested_filename).suffix == saved.suffix
    return saved


# Stands in for a phone's share sheet, which headless chromium has not: it keeps what
# the page asked to share.
SHARE_SHEET = """
    navigator.canShare = () => true;
    navigator.share = async (data) => { window.sharedWithSheet = data; };
"""


def share(page: Page) -> str:
    """Shares the song of the song page: the system's share sheet on a phone, the
    clipboard elsewhere. Returns the link shared."""
    page.get_by_role("button", name="Share").click()
    if page.evaluate("matchMedia('(pointer: coarse)').matches"):
        page.wait_for_function("() => window.sharedWithSheet !== undefined")
        return page.evaluate("window.sharedWithSheet.url")
    expect(page.get_by_text("Link copied")).to_be_attached()
    return page.evaluate("navigator.clipboard.readText()")


def expect_unfurls(page: Page, url: str, title: str) -> None:
    """The shared link's page carries the song's Open Graph card. A page opened moments
    ago while unpublished is known to the gateway as such for 2 s at most."""
    card = f'property="og:title" content="{html.escape(title)}"'
    deadline = time.monotonic() + 10
    while card not in (shared := page.request.get(url).text()):
        assert time.monotonic() < deadline, shared[:2000]
        time.sleep(0.5)


def search(page: Page, query: str, title: str) -> Locator:
    """Searches Discover for `query` as it is typed; the card of the song titled
    `title` among the results."""
    page.get_by_role("link", name="Discover").click()
    page.get_by_role("searchbox", name="Search songs").fill(query)
    found = page.get_by_role("region", name="Search results").locator("article")
    expect(found.filter(has_text=title)).to_be_visible()
    return found.filter(has_text=title)


def open_artist(page: Page, card: Locator, artist: str, title: str) -> Locator:
    """Opens the artist page from a song's card; the song's card there."""
    card.get_by_role("link", name=artist).click()
    expect(page.get_by_role("heading", name=artist)).to_be_visible()
    there = page.locator("article").filter(has_text=title)
    expect(there).to_be_visible()
    return there


def test_the_whole_journey(
    browser: Browser, product: Product, artifacts: Path, audits: Audits
) -> None:
    # The owner's system asks for the dark theme, the listener's for the light one:
    # axe-core checks both.
    owner_context = browser.new_context(
        color_scheme="dark", permissions=["clipboard-read", "clipboard-write"]
    )
    owner = owner_context.new_page()
    owner.goto(product.url)
    expect(owner.get_by_role("heading", name="Discover")).to_be_visible()
    audits.check_accessibility(owner, "discover-signed-out")
    audits.check_javascript_budget(owner, "discover-signed-out")
    shot(owner, artifacts, "01-feed-signed-out")

    owner.get_by_role("link", name="Sign up").click()
    expect(owner.get_by_role("heading", name="Create your account")).to_be_visible()
    audits.check_accessibility(owner, "sign-up")
    shot(owner, artifacts, "02-sign-up")
    owner_email = sign_up(owner, product, "Owner")
    audits.check_accessibility(owner, "my-songs-empty")
    shot(owner, artifacts, "03-my-songs-empty")

    # Buy credits: the local provider's checkout page, then back with a signed webhook applied.
    owner.get_by_role("link", name=re.compile("^Credits")).click()
    expect(owner.get_by_test_id("balance")).to_have_text("3")
    audits.check_accessibility(owner, "credits")
    shot(owner, artifacts, "04-credits")
    owner.get_by_role("button", name=re.compile("Buy 10 credits")).click()
    owner.wait_for_url(re.compile(r"/checkout/"))
    shot(owner, artifacts, "05-local-checkout")
    owner.get_by_role("button", name="Pay").click()
    owner.wait_for_url(re.compile(r"/credits\?checkout=success"))
    expect(owner.get_by_text("Payment received")).to_be_visible()
    expect(owner.get_by_test_id("balance")).to_have_text("13")
    expect(owner.get_by_role("cell", name="10 credits")).to_be_visible()
    shot(owner, artifacts, "06-credits-bought")

    # A page's code starts loading when the pointer reaches a link to it.
    with owner.expect_request(re.compile(r"/assets/CreatePage-[\w-]+\.js$")):
        owner.get_by_role("link", name="Create").hover()

    # A field violation from the server appears next to its field, and nothing is charged.
    owner.get_by_role("link", name="Create").click()
    owner.get_by_label("Song description").fill("too short a song")
    open_advanced_settings(owner)
    owner.get_by_label("Duration (seconds)").fill("5")
    owner.get_by_role("button", name=re.compile(r"^Create \d takes")).click()
    duration_error = owner.get_by_role("alert").filter(has_text="must be between 10 and 240")
    expect(duration_error).to_be_visible()
    expect(owner.get_by_label("Duration (seconds)")).to_have_attribute("aria-invalid", "true")
    audits.check_accessibility(owner, "create-with-field-error")
    shot(owner, artifacts, "07-create-field-error")

    # The lyrics step: the planner writes them for free, to edit before creating.
    owner.get_by_label("Duration (seconds)").fill("10")
    owner.get_by_role("button", name="Write the lyrics first (free)").click()
    expect(owner.get_by_text("The lyrics are written")).to_be_visible()
    expect(owner.get_by_role("radio", name="Style + my own lyrics")).to_be_checked()
    expect(owner.get_by_role("group", name="Style suggestions")).to_be_visible()
    audits.check_accessibility(owner, "create-lyrics-step")
    shot(owner, artifacts, "08-create-lyrics-step")
    expect(owner.get_by_role("link", name="Credits: 13")).to_be_visible()

    first = create_song(
        owner,
        mode="Describe the song",
        fill={"Song description": "an upbeat synth-pop song about summer nights"},
        instrumental=False,
        takes=2,
    )
    shot(owner, artifacts, "09-two-takes-ready")
    create_song(
        owner,
        mode="Style + what the lyrics are about",
        fill={"Style prompt": "lo-fi hip hop, 80 bpm", "What the lyrics are about": "rainy days"},
        instrumental=False,
    )
    create_song(
        owner,
        mode="Style + my own lyrics",
        fill={"Style prompt": "acoustic folk", "Lyrics": "[verse]\nla la la"},
        instrumental=True,
    )
    owner.get_by_role("link", name="My songs").click()
    expect(owner.locator("article")).to_have_count(4)
    expect(play_buttons(owner)).to_have_count(4, timeout=READY_TIMEOUT_MS)
    audits.check_accessibility(owner, "my-songs")
    shot(owner, artifacts, "10-my-songs")
    # Four songs (two of them takes of one request) at one credit each.
    expect(owner.get_by_role("link", name="Credits: 9")).to_be_visible()

    # Play the first song in the player bar: its audio loads through the signed media URL.
    owner.goto(f"{product.url}/songs/{first}")
    duration = audio_duration(owner, first)
    assert 9 <= duration <= 11, duration
    player = owner.get_by_role("region", name="Player")
    expect(player.get_by_role("button", name=re.compile("^Pause "))).to_be_visible()
    audits.check_accessibility(owner, "song-page-owner")
    shot(owner, artifacts, "11-song-page-playing")
    # It keeps playing while the owner moves to another page and back.
    keeps_playing_elsewhere(owner)
    shot(owner, artifacts, "12-playing-across-pages")
    owner.go_back()
    expect(owner.get_by_role("button", name="Publish")).to_be_enabled()

    # Extend it by ten seconds: a new song holding the first and its continuation.
    owner.get_by_role("radio", name="Extend").check()
    owner.get_by_label("Seconds to add").fill("10")
    owner.get_by_role("button", name="Extend (1 credit)").click()
    extended = wait_for_new_song(owner, after=first)
    expect(owner.get_by_text("Extension", exact=True)).to_be_visible()
    expect(owner.get_by_role("link", name="of the original song")).to_be_visible()
    assert 19 <= audio_duration(owner, extended) <= 21
    shot(owner, artifacts, "13-extended")

    # Repaint a section of the extension, chosen on its waveform.
    owner.get_by_role("radio", name="Repaint a section").check()
    owner.get_by_label("Section start (s)").fill("4")
    owner.get_by_label("Section end (s)").fill("8")
    expect(owner.get_by_role("img", name=re.compile("section 4-8 s chosen"))).to_be_visible()
    shot(owner, artifacts, "14-repaint-section")
    owner.get_by_role("button", name="Repaint (1 credit)").click()
    repainted = wait_for_new_song(owner, after=extended)
    expect(owner.get_by_text("Repaint", exact=True)).to_be_visible()
    assert 19 <= audio_duration(owner, repainted) <= 21

    # Download the repaint as MP3: made on request, saved under the song's title.
    info = soundfile.info(download(owner, artifacts, "MP3 (320 kbps)", "repaint.mp3"))
    assert info.format == "MP3" and 19 <= info.duration <= 21, info
    shot(owner, artifacts, "15-repainted")
    expect(owner.get_by_role("link", name="Credits: 7")).to_be_visible()

    # The first song lists what was made from it.
    owner.goto(f"{product.url}/songs/{first}")
    derived = owner.get_by_role("region", name="Made from this song")
    expect(derived.get_by_role("link")).to_have_count(1)
    owner.goto(f"{product.url}/songs/{extended}")
    expect(
        owner.get_by_role("region", name="Made from this song").get_by_role("link")
    ).to_have_count(1)
    assert repainted in (
        owner.get_by_role("region", name="Made from this song")
        .get_by_role("link")
        .get_attribute("href")
        or ""
    )
    owner.goto(f"{product.url}/songs/{first}")
    expect(play_buttons(owner)).to_be_visible()

    # Rename and publish.
    title = "Summer Nights (tiny edition)"
    owner.get_by_label("Title").fill(title)
    owner.get_by_role("button", name="Rename").click()
    expect(owner.get_by_role("heading", name=title)).to_be_visible()
    owner.get_by_role("button", name="Publish").click()
    expect(owner.get_by_role("button", name="Unpublish")).to_be_visible()
    category = (
        owner.get_by_role("list", name="Categories").get_by_role("listitem").first.inner_text()
    )
    shot(owner, artifacts, "16-song-published")

    # Its link, shared through the clipboard, unfurls: the page carries the song's card.
    shared = share(owner)
    assert shared == f"{product.url}/songs/{first}", shared
    expect_unfurls(owner, shared, title)
    # The pages a shared link lands on, opened signed out.
    audits.check_lighthouse(f"{product.url}/songs/{first}", "song-page")
    audits.check_lighthouse(product.url, "discover")

    # A second user, on a phone, makes a song of their own: two takes followed to
    # READY, one played in the bar while they move on, downloaded, published and
    # shared through the phone's share sheet.
    listener_context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="light"
    )
    listener_context.add_init_script(SHARE_SHEET)
    listener = listener_context.new_page()
    listener.goto(product.url)
    # A phone has the pages as tabs along the bottom; signed out, these three.
    expect(listener.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(
        ["Discover", "Sign in", "Sign up"]
    )
    sign_up(listener, product, "Listener")
    take = create_song(
        listener,
        mode="Describe the song",
        fill={"Song description": "a mellow piano ballad for a rainy bus ride"},
        instrumental=True,
        takes=2,
    )
    audits.check_accessibility(listener, "my-songs-phone")
    shot(listener, artifacts, "17-my-songs-phone")
    listener.goto(f"{product.url}/songs/{take}")
    play_here(listener, take)
    keeps_playing_elsewhere(listener)
    check_phone_navigation(listener)
    shot(listener, artifacts, "18-playing-across-pages-phone")
    listener.go_back()
    info = soundfile.info(download(listener, artifacts, "WAV", "take.wav"))
    assert info.format == "WAV" and 9 <= info.duration <= 11, info
    # A title of one word as long as titles may be wraps; the page stays phone-wide.
    listener.get_by_label("Title").fill("Rainy" * 16)
    listener.get_by_role("button", name="Rename").click()
    expect(listener.get_by_role("heading", name="Rainy" * 16)).to_be_visible()
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    listener_title = "Rainy Bus Ride"
    listener.get_by_label("Title").fill(listener_title)
    listener.get_by_role("button", name="Rename").click()
    expect(listener.get_by_role("heading", name=listener_title)).to_be_visible()
    listener.get_by_role("button", name="Publish").click()
    expect(listener.get_by_role("button", name="Unpublish")).to_be_visible()
    audits.check_accessibility(listener, "song-page-owner-phone")
    shot(listener, artifacts, "19-song-published-phone")
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shared = share(listener)
    assert shared == f"{product.url}/songs/{take}", shared
    expect_unfurls(listener, shared, listener_title)

    # The owner, at desktop width, searches for it, opens its artist and likes it
    # there, then finds it among their liked songs.
    card = open_artist(
        owner, search(owner, "rainy bus", listener_title), "Listener", listener_title
    )
    card.get_by_role("button", name=re.compile(f"^Like {re.escape(listener_title)}")).click()
    expect(card.get_by_role("button", name=re.compile("^Unlike"))).to_have_attribute(
        "aria-pressed", "true"
    )
    audits.check_accessibility(owner, "artist")
    shot(owner, artifacts, "20-artist-liked")
    owner.get_by_role("link", name="Liked").click()
    expect(owner.locator("article").filter(has_text=listener_title)).to_be_visible()
    shot(owner, artifacts, "21-liked")

    # The listener searches for the owner's song, opens its artist, finds it by
    # category, likes it and finds it among their liked songs.
    found = search(listener, "summ", title)
    audits.check_accessibility(listener, "discover-search-phone")
    shot(listener, artifacts, "22-search-phone")
    open_artist(listener, found, "Owner", title)
    audits.check_accessibility(listener, "artist-phone")
    shot(listener, artifacts, "23-artist-phone")
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    listener.get_by_role("link", name="Discover").click()
    song_card = listener.locator("article").filter(has_text=title)
    expect(song_card).to_be_visible()
    listener.get_by_label("Category").select_option(value=category)
    expect(listener.get_by_label("Category")).to_have_value(category)
    expect(song_card).to_be_visible()
    expect(song_card).to_contain_text("by Owner")
    expect(song_card).to_contain_text("1 play")
    like = song_card.get_by_role("button", name=re.compile("^Like Summer Nights"))
    like.click()
    expect(song_card.get_by_role("button", name=re.compile("^Unlike"))).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(song_card.get_by_role("button", name=re.compile(r", 1 like$"))).to_be_visible()
    audits.check_accessibility(listener, "discover-phone")
    shot(listener, artifacts, "24-feed-phone-liked")
    # Nothing on the phone-width page is wider than the screen.
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    listener.get_by_role("link", name="Liked").click()
    expect(listener.get_by_role("heading", name="Liked songs")).to_be_visible()
    liked_card = listener.locator("article").filter(has_text=title)
    expect(liked_card).to_be_visible()
    audits.check_accessibility(listener, "liked-phone")
    shot(listener, artifacts, "25-liked-phone")
    liked_card.get_by_role("link", name=title).click()
    expect(listener.get_by_role("heading", name=title)).to_be_visible()
    play_here(listener, first)
    expect(listener.get_by_role("region", name="Player")).to_be_visible()
    audits.check_accessibility(listener, "song-page-phone")
    shot(listener, artifacts, "26-song-phone-playing")
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    listener.get_by_role("link", name="Discover").click()

    # The owner deletes it; it leaves the feed.
    owner.goto(f"{product.url}/songs/{first}")
    owner.get_by_role("button", name="Delete").click()
    owner.get_by_role("button", name="Yes, delete").click()
    expect(owner.get_by_role("heading", name="My songs")).to_be_visible()
    expect(owner.locator("article")).to_have_count(5)
    shot(owner, artifacts, "27-after-delete")
    listener.reload()
    expect(listener.locator("article").filter(has_text=listener_title)).to_be_visible()
    expect(listener.locator("article").filter(has_text=title)).to_have_count(0)

    # Signing out ends the session for good.
    owner.get_by_role("button", name="Sign out").click()
    expect(owner.get_by_role("link", name="Sign in")).to_be_visible()
    owner.goto(f"{product.url}/songs")
    expect(owner.get_by_role("heading", name="Sign in")).to_be_visible()
    audits.check_accessibility(owner, "sign-in")
    shot(owner, artifacts, "28-sign-in")

    # A forgotten password, reset through the mailed link.
    owner.get_by_role("link", name="Forgot password?").click()
    # The page's code loads on the click; until it has, the sign-in form (with its
    # own Email field) is still the one on screen.
    expect(owner.get_by_role("heading", name="Reset your password")).to_be_visible()
    owner.get_by_label("Email").fill(owner_email)
    owner.get_by_role("button", name="Send reset link").click()
    expect(owner.get_by_role("status")).to_contain_text("we sent a link")
    audits.check_accessibility(owner, "forgot-password")
    shot(owner, artifacts, "29-forgot-password")
    token = mailed_token(product.outbox, owner_email, "reset-password")
    owner.goto(f"{product.url}/reset-password?token={token}")
    audits.check_accessibility(owner, "reset-password")
    shot(owner, artifacts, "30-reset-password")
    owner.get_by_label("New password").fill("a brand new password")
    owner.get_by_role("button", name="Set password").click()
    owner.get_by_role("link", name="Sign in with your new password").click()
    expect(owner.get_by_role("heading", name="Sign in")).to_be_visible()
    owner.get_by_label("Email").fill(owner_email)
    owner.get_by_label("Password").fill("a brand new password")
    owner.get_by_role("button", name="Sign in").click()
    expect(owner.get_by_role("heading", name="My songs")).to_be_visible()
    owner.goto(f"{product.url}/no-such-page")
    expect(owner.get_by_role("heading", name="Not found")).to_be_visible()
    audits.check_accessibility(owner, "not-found")
    shot(owner, artifacts, "31-not-found")

    # The listener's settings: a new name, an API key shown once, then the account
    # deleted for good.
    listener.get_by_role("link", name="Settings").click()
    profile = listener.get_by_role("region", name="Profile")
    profile.get_by_label("Display name").fill("Night Listener")
    profile.get_by_role("button", name="Save").click()
    expect(profile.get_by_role("status")).to_have_text("Saved.")
    keys = listener.get_by_role("region", name="API keys")
    keys.get_by_label("Key name").fill("my script")
    keys.get_by_role("button", name="Create key").click()
    expect(keys.get_by_text("This secret is shown only once")).to_be_visible()
    assert keys.get_by_label("Secret").input_value().startswith("ntk_")
    audits.check_accessibility(listener, "settings-phone")
    shot(listener, artifacts, "32-settings-phone")
    assert listener.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    deletion = listener.get_by_role("region", name="Delete account")
    deletion.get_by_label("Password").fill(PASSWORD)
    deletion.get_by_label("I understand this deletes my songs for good").check()
    deletion.get_by_role("button", name="Delete my account").click()
    expect(listener.get_by_role("link", name="Sign in")).to_be_visible()

    owner_context.close()
    listener_context.close()
