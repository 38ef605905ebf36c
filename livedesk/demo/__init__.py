"""A bundled, offline demo web: fictional outlets covering developing stories, served on loopback.

``corpus()`` and ``outlets()`` give the articles with their ground truth (story, copy → original,
attribution, claims); ``DemoSite`` renders them as each outlet would (pages, feeds, OPML, robots.txt);
``DemoServer`` serves that over real HTTP on loopback, one address per outlet (see ``server``).
All text was written for livedesk; every outlet, place and person in it is invented.
"""

from livedesk.demo.corpus import DemoArticle, DemoClaim, DemoOutlet, DemoStory, corpus, outlets, shift_to, stories
from livedesk.demo.server import DemoServer, previous_port, previous_start
from livedesk.demo.site import DemoSite

__all__ = [
    "DemoArticle",
    "DemoClaim",
    "DemoOutlet",
    "DemoServer",
    "DemoSite",
    "DemoStory",
    "corpus",
    "outlets",
    "previous_port",
    "previous_start",
    "shift_to",
    "stories",
]
