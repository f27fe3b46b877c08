"""Two workers deciding at the same moment (issue 26): two `newsmon run` processes on one
PostgreSQL database are handed, at the same instant, (a) the same article text in two feeds (a
copy) and (b) two outlets' reports of one event. Whichever decides second must see what the
first decided, though neither has committed when both start deciding: one original and its
copy in the original's story (similarity 1.0), and the two reports in one story.

The race is made, not hoped for: each worker first stores an article of its own from a feed
that answers at once (its start-up done: the duplicate index opened, the story window read, the
extraction pool started, as in a run that has been going a while); the four feeds answer only
once all four were asked for and both workers' first articles are committed, then together, so
both workers decide within a fraction of a second of each other (0.1-0.3 s, traced), each in a
group transaction of its own just begun; and each worker also checks a slow feed that keeps its run going (as a run of many
feeds does), so, without the deciders' lock (Store.transaction(decides=True)), neither worker's
articles are committed when the other decides (the group commits half a second after it began).
Repeated over four rounds (EVENTS), each with a new copy and a new event."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import Callable

import pytest
from conftest import open_store, rows, write_config
from test_stories import _by_id, _today

from pipeline.config import load_config
from pipeline.demo.server import Page
from pipeline.demo.site import FeedItem, rss_feed

# one event a round, whose first two reports (two outlets) make one story when stored one after
# the other, and no two of them alike enough to join each other's stories
EVENTS = ("kharkiv-strike-0314", "istanbul-talks-open", "uae-grain-0318", "eu-loan-0319")
SLOW_SECONDS = 2.0      # the slow feed answers this long after the held ones: a group held open


@pytest.fixture
def engine():
    return "postgresql"       # workers overlap on PostgreSQL only: SQLite keeps one run at a time


class Gate:
    """Feeds that answer only when `parties` of them were asked for and `ready()` (polled) says
    the workers are, then all at once; and slow ones that answer SLOW_SECONDS after that."""

    def __init__(self, parties: int):
        self.opened = threading.Event()
        self.ready: Callable[[], bool] = lambda: True
        self.barrier = threading.Barrier(parties, action=self._open, timeout=120)

    def _open(self) -> None:
        deadline = time.monotonic() + 60
        while not self.ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.opened.set()

    def held(self, page: Page):
        def answer(handler) -> Page:
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:    # (a worker that never asked: the test fails below)
                pass
            return page
        return answer

    def slow(self, page: Page):
        def answer(handler) -> Page:
            self.opened.wait(120)
            time.sleep(SLOW_SECONDS)
            return page
        return answer


def _feed(site, name: str, items: list[FeedItem]) -> tuple[str, Page]:
    page = rss_feed(name, site.base, items)
    return name, Page(page.body, content_type=page.content_type)


def _words(rng: random.Random, count: int) -> str:
    """Random words: a text that makes a story with nothing else."""
    return " ".join("".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(rng.randint(3, 9)))
                    for _ in range(count)) + "."


def _item(site, path: str, text: str) -> FeedItem:
    return FeedItem(text[:40].capitalize(), site.url(path), path, datetime.now().astimezone().isoformat(),
                    content_html=f"<p>{text}</p>")


def _round(site, n: int) -> tuple[Gate, dict[str, list[str]]]:
    """Round `n`'s feeds put on the site: worker -> the names of its feeds."""
    rng = random.Random(n)
    copy = _words(rng, 120)
    reports = [_today(_by_id(EVENTS[n], k)) for k in (1, 2)]
    gate, feeds = Gate(4), {}
    for side, report in zip("ab", reports):
        name, page = _feed(site, f"warm-{side}{n}", [_item(site, f"/warm/{side}/{n}", _words(rng, 120))])
        site.routes[f"/{name}.xml"] = page
        held = [_feed(site, f"copy-{side}{n}", [_item(site, f"/copy/{side}/{n}", copy)]),
                _feed(site, f"report-{side}{n}", [FeedItem(
                    report.title, site.url(f"/report/{side}/{n}"), report.id, report.published.isoformat(),
                    content_html=f"<p>{report.text}</p>")])]
        for name, page in held:
            site.routes[f"/{name}.xml"] = gate.held(page)
        name, page = _feed(site, f"slow-{side}{n}", [])
        site.routes[f"/{name}.xml"] = gate.slow(page)
        feeds[side] = [f"warm-{side}{n}"] + [name for name, _ in held] + [name]
    return gate, feeds


def _decided(config, n: int) -> list[str]:
    """What went wrong in round `n` (nothing: [])."""
    wrong = []
    copies = rows(config, "SELECT id, story_id, similarity, duplicate_of, first_seen FROM articles "
                          "WHERE feed IN (?, ?) ORDER BY rowid", [f"copy-a{n}", f"copy-b{n}"])
    assert len(copies) == 2, copies
    (first, first_story, first_similarity, _, seen_a), (_, story, similarity, duplicate_of, seen_b) = copies
    gap = abs((datetime.fromisoformat(seen_a) - datetime.fromisoformat(seen_b)).total_seconds())
    assert gap <= 1, f"round {n}: not decided at the same moment ({gap:.0f} s apart; stored to the second)"
    if not (first_story == first and first_similarity is None and story == first and similarity == 1.0
            and duplicate_of is None):
        wrong.append(f"round {n}: the copy kept as an original: {copies!r}")
    reports = rows(config, "SELECT story_id FROM articles WHERE feed IN (?, ?)", [f"report-a{n}", f"report-b{n}"])
    if len({story for (story,) in reports}) != 1:
        wrong.append(f"round {n}: two reports of one event started {len(set(reports))} stories")
    return wrong


def test_two_workers_deciding_at_the_same_moment_see_each_other(site, tmp_path, seeds_dir, store_url):
    rounds = [_round(site, n) for n in range(len(EVENTS))]
    feeds = [(name, site.url(f"/{name}.xml")) for _, sides in rounds for names in sides.values() for name in names]
    path = write_config(tmp_path, feeds)
    path.write_text(path.read_text().replace("[extract]\n", "[extract]\nfetch_pages = false\n"))
    config = load_config(path)
    open_store(config).close()                       # the schema, made before the workers start
    wrong = []
    for n, (gate, sides) in enumerate(rounds):
        warm = [names[0] for names in sides.values()]
        gate.ready = lambda: rows(config, "SELECT count(*) FROM articles WHERE feed IN (?, ?)", warm)[0][0] == 2
        workers = [subprocess.Popen([sys.executable, "-m", "pipeline", "run", "--config", str(path),
                                     *(arg for name in names for arg in ("--feed", name))],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for names in sides.values()]
        results = [w.communicate(timeout=300) + (w.returncode,) for w in workers]
        assert [r[2] for r in results] == [0, 0], results
        assert gate.opened.is_set()
        wrong += _decided(config, n)
    assert not wrong, wrong


def test_a_deciding_unit_waits_for_the_one_before_and_sees_its_articles(tmp_path, store_url, clock):
    """The mechanism on its own: worker Y's deciding unit, begun while worker X's holds the
    deciders' lock with an article not yet committed, waits for X's commit and then reads X's
    article; a deciding unit inside a group commits as it ends (the lock held for one feed), a
    unit that decides nothing waits for the group."""
    from test_postgres import _article

    config = load_config(write_config(tmp_path, []))
    x, y = open_store(config), open_store(config)
    seen: list[int] = []

    def worker_y() -> None:
        with y.transaction(decides=True):
            seen.append(y.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    try:
        run = x.start_run(clock())
        with x.grouped(60):
            with x.transaction(decides=True):
                x.insert_article(_article(1, "Decided by worker X"), clock(), run)
                other = threading.Thread(target=worker_y)
                other.start()
                time.sleep(0.5)
                assert other.is_alive() and not seen          # Y waits for X's turn to end
            assert not x.conn.in_transaction                  # committed as the unit ended
            other.join(timeout=30)
            assert seen == [1]                                # and Y read X's article
            with x.transaction():
                x.save_profiles([])
            assert x.conn.in_transaction                      # the others wait for the group
    finally:
        x.close()
        y.close()
