"""Page → clean Article: trafilatura for text and metadata, then our furniture and attribution rules.

Each page is decoded once, parsed once into an lxml tree, and that tree is handed to trafilatura, htmldate and
the few XPath look-ups trafilatura has no field for (canonical link, declared language, precise publish time).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from html import escape
from urllib.parse import urljoin, urlsplit

import htmldate
import lxml.html
import nh3
import trafilatura
from lxml.etree import ParserError
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura.settings import Document
from trafilatura.utils import detect_encoding, load_html

from livedesk.models import Article, FeedEntry, Page
from livedesk.pipeline.furniture import clean_byline, clean_text, is_organisation
from livedesk.text import outlet_name
from livedesk.urls import article_identity, canonicalize_url, registrable_domain, url_hash

__all__ = [
    "ExtractError",
    "article_from_entry",
    "content_hash",
    "extract",
    "extract_with_removed",
]


class ExtractError(Exception):
    """The page holds no article text; str() is one line naming the page."""


# -- hashes ---------------------------------------------------------------------------------------------------


def content_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


# -- extraction -------------------------------------------------------------------------------------------------


def extract(page: Page) -> Article:
    """Main text, metadata and attribution of one HTML page; ExtractError when it has no article text."""
    return extract_with_removed(page)[0]


def extract_with_removed(page: Page) -> tuple[Article, tuple[str, ...]]:
    """`extract`, plus the furniture and attribution lines taken out of the text (for reports and benchmarks)."""
    tree = _parse(page)
    doc = trafilatura.bare_extraction(
        tree,
        url=page.url,
        with_metadata=True,
        include_comments=False,  # reader comments are not the article
        include_tables=True,
        date_extraction_params=_FAST_DATE_SEARCH,
    )
    if not isinstance(doc, Document):  # None: nothing found (a dict only when asked for one)
        raise ExtractError(f"no article text found in {page.url}")
    cleaned = clean_text(doc.text or "")
    entry = page.entry
    site = registrable_domain(page.url)
    # Not trafilatura's site name: it is often guessed from the end of <title>, a headline's second half.
    title = _page_title(tree, doc.title, entry, cleaned.text, [site])
    text = _without_heading(cleaned.text, title)
    if not text:
        raise ExtractError(f"no article text found in {page.url}")
    canonical = _canonical_url(tree, page.url)
    byline = _byline(tree, doc.author, entry)
    published = _published(tree, doc.date, page)
    article = Article(
        url=page.url,
        canonical_url=canonical,
        url_hash=url_hash(article_identity(page.url, canonical)),
        site=site,
        title=title,
        text=text,
        html=display_html(text),
        content_hash=content_hash(text),
        first_seen_at=page.fetched_at,
        byline=byline,
        byline_is_organisation=byline is not None and is_organisation(byline),
        published_at=published.at,
        published_date_only=published.date_only,
        language=_language(_declared_language(tree) or (entry.language if entry else None), text),
        attributed_to=cleaned.attributed_to,
        source_id=page.source_id,
        # The page's own name for its site (og:site_name, application-name, …), else its feed's.
        site_name=outlet_name(doc.sitename, site) or (entry.site_name if entry else None),
    )
    return article, cleaned.removed


def article_from_entry(entry: FeedEntry, *, fetched_at: datetime, source_id: int | None = None) -> Article:
    """The fallback when the page cannot be read: the feed's own summary becomes the text."""
    cleaned = clean_text(_summary_text(entry.summary_html or ""))
    if not cleaned.text:
        raise ExtractError(f"no article text in the feed summary of {entry.link}")
    canonical = canonicalize_url(entry.link)
    return Article(
        url=entry.link,
        canonical_url=canonical,
        url_hash=url_hash(canonical),
        site=registrable_domain(entry.link),
        title=_title(entry.title, None, cleaned.text, [registrable_domain(entry.link)]),
        text=cleaned.text,
        html=display_html(cleaned.text),
        content_hash=content_hash(cleaned.text),
        first_seen_at=fetched_at,
        byline=(byline := clean_byline(entry.author)),
        byline_is_organisation=byline is not None and is_organisation(byline),
        published_at=_as_utc(entry.published_at) if entry.published_at else None,
        language=_language(entry.language, cleaned.text),
        attributed_to=cleaned.attributed_to,
        from_summary=True,
        source_id=source_id,
        site_name=entry.site_name,
    )


# -- decoding and parsing ---------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w:.-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_ASCII_BYTES = bytes(range(128))
_MAX_BROKEN_UTF8_RATIO = 100  # at most one broken sequence per hundred non-ASCII bytes
# WHATWG: these labels mean windows-1252, which only differs from Latin-1 in printable characters.
_LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii", "l1"})
# The legacy encodings of the WHATWG Encoding Standard, by Python codec name.
_WEB_ENCODINGS = frozenset(
    codecs.lookup(label).name
    for label in (
        *(f"cp{n}" for n in range(1250, 1259)), *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
        "cp866", "cp874", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "gb18030", "gbk", "big5", "euc-jp",
        "iso2022-jp", "shift_jis", "euc-kr",
    )
)  # fmt: skip


def decode_html(body: bytes, declared: str | None = None) -> str:
    """BOM → valid UTF-8 → HTTP charset → <meta> charset → detection → windows-1252; never raises."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    # (Nearly) valid UTF-8 is UTF-8 whatever the labels say: servers mislabel UTF-8 as Latin-1 far more often
    # than legacy text happens to form UTF-8 sequences, and a page cut mid-character is still UTF-8.
    text = body.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    if broken * _MAX_BROKEN_UTF8_RATIO <= len(body.translate(None, _ASCII_BYTES)):
        return text
    meta = _META_CHARSET.search(body[:4096])
    for label in (declared, meta[1].decode("ascii") if meta else None):
        if not label:
            continue
        label = label.strip().lower()
        try:
            return body.decode("cp1252" if label in _LATIN1_LABELS else label)
        except (LookupError, UnicodeDecodeError):
            continue
    # Detection: the first guess that is an encoding web pages actually use (charset sniffers happily propose
    # DOS code pages for short Latin text), else windows-1252, the web's own default.
    for guess in detect_encoding(body):
        if _codec_name(guess) in _WEB_ENCODINGS:
            try:
                return body.decode(guess)
            except UnicodeDecodeError:
                continue
    return body.decode("cp1252", errors="replace")


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _parse(page: Page) -> HtmlElement:
    if not page.body.strip():
        raise ExtractError(f"empty body at {page.url}")
    content_type = (page.content_type or "").split(";")[0].strip().lower()
    if content_type and not (content_type.startswith("text/") or "html" in content_type or "xml" in content_type):
        raise ExtractError(f"not HTML ({content_type}) at {page.url}")
    tree = load_html(decode_html(page.body, page.charset))
    if tree is None:
        raise ExtractError(f"not HTML at {page.url}")
    return tree


# -- metadata ---------------------------------------------------------------------------------------------------


def _canonical_url(tree: HtmlElement, page_url: str) -> str:
    declared = tree.xpath(
        '//link[contains(concat(" ", normalize-space(@rel), " "), " canonical ")]/@href'
        ' | //meta[@property="og:url"]/@content'
    )
    for href in declared:
        url = urljoin(page_url, href.strip())
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return canonicalize_url(url)
    return canonicalize_url(page_url)


_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " : ", " · ", " » ", " › ", " l ")
_TITLE_SPLIT = re.compile("|".join(re.escape(sep) for sep in _TITLE_SEPARATORS))
_TITLE_PARTS = re.compile(f"({_TITLE_SPLIT.pattern})")
_OG_TITLE_XPATH = '//meta[@property="og:title" or @name="og:title" or @name="twitter:title"]/@content'
_SITE_NAME_XPATH = '//meta[@property="og:site_name" or @name="application-name"]/@content'
_MAX_HEADINGS = 40  # headings looked at for the headline, in document order
_MIN_HEADING_SHARE = 0.5  # of the <title> (without the site's name) a heading must cover to be its headline


def _page_title(tree: HtmlElement, found: str | None, entry: FeedEntry | None, text: str, names: list[str]) -> str:
    """The headline: og:title, else the heading that <title> names, else <title>, each without the site's name.

    Blog templates put the site's name in the first <h1> and the headline in a lower heading, so "the first <h1>"
    and extractors that prefer it give the site's name; <title> names both, and the page's headings tell which
    part is which.
    """
    og_title = _first_text(tree.xpath(_OG_TITLE_XPATH))
    page_title = _first_text(tree.xpath("//head/title/text() | //title/text()"))
    headings = [" ".join(h.text_content().split()) for h in tree.xpath("//h1|//h2|//h3")[:_MAX_HEADINGS]]
    keys = _site_keys([*names, *tree.xpath(_SITE_NAME_XPATH)])
    if page_title:
        # A <title> part at either end that the page also shows as its first <h1> is the site's banner.
        parts = _TITLE_SPLIT.split(page_title)
        banner = _name_key(_first_text([h.text_content() for h in tree.xpath("//h1")[:1]]) or "")
        ends = {_name_key(parts[0]), _name_key(parts[-1])}
        # Shorter than the rest of <title>: a headline in the first <h1> is not taken for the site's name.
        if len(parts) > 1 and banner in ends and 2 * len(banner) < len(_name_key(page_title)):
            keys.add(banner)
    if og_title:
        return _without_site_name(og_title, keys)
    if not page_title:
        return _title(found, entry, text, names)
    bare = _name_key(_without_site_name(page_title, keys))
    for heading in headings:
        key = _name_key(heading)
        if key and key not in keys and key in bare and len(key) >= _MIN_HEADING_SHARE * len(bare):
            return heading
    # The extractor's own pick, unless it is the site's name or something <title> does not name ("Main menu").
    if found and _name_key(found) not in keys and _name_key(found) in _name_key(page_title):
        return _without_site_name(found, keys)
    return _without_site_name(page_title, keys)


def _first_text(values: list[str]) -> str | None:
    return next((" ".join(v.split()) for v in values if isinstance(v, str) and v.strip()), None)


def _site_keys(site_names: list[str]) -> set[str]:
    keys = {_name_key(n) for n in site_names} | {_name_key(n.split(".")[0]) for n in site_names if "." in n}
    keys.discard("")
    return keys


def _without_site_name(title: str, keys: set[str]) -> str:
    """The title without the parts at either end that name the site ("Site: Headline", "Headline | Site")."""
    parts = _TITLE_PARTS.split(" ".join(title.split()))  # parts and, between them, the separators
    # A site's name may hold separators itself ("WSVN 7News | Miami News, Weather, Sports").
    suffix = next((i for i in range(2, len(parts), 2) if _name_key("".join(parts[i:])) in keys), len(parts) + 1)
    parts = parts[: max(suffix - 1, 1)]
    prefix = next((i for i in range(1, len(parts) - 1, 2) if _name_key("".join(parts[:i])) in keys), -1)
    head = "".join(parts[prefix + 1 :]).strip()
    # "Site Name: Headline" (Blogger): a colon after the site's name.
    site, colon, rest = head.partition(": ")
    return rest.strip() if colon and rest.strip() and _name_key(site) in keys else head


def _title(title: str | None, entry: FeedEntry | None, text: str, site_names: list[str]) -> str:
    """Page title without its " | Site Name" suffix, else the feed's title, else the opening words."""
    keys = _site_keys(site_names)
    for candidate in (title, entry.title if entry else None):
        if candidate and candidate.strip():
            return _without_site_name(candidate, keys)
    first = text.split("\n\n", 1)[0]
    return first if len(first) <= 120 else first[:120].rsplit(" ", 1)[0] + "…"


def _without_heading(text: str, title: str) -> str:
    """The text without a first paragraph repeating the title: the title is a field of its own."""
    first, _, rest = text.partition("\n\n")
    return rest if _name_key(first) == _name_key(title) else text


def _name_key(name: str) -> str:
    return re.sub(r"\W", "", name.lower())


_AUTHOR_XPATH = '//meta[@name="author" or @property="article:author" or @name="byl"]/@content'
_JSONLD_AUTHOR = re.compile(r'"author"\s*:\s*\[?\s*\{[^{}]{0,300}?"name"\s*:\s*"([^"]{1,80})"')
_JOINERS = re.compile(r"\b(?:and|und|dan|et|y)\b|[;&,/]", re.IGNORECASE)


def _byline(tree: HtmlElement, found: str | None, entry: FeedEntry | None) -> str | None:
    """trafilatura's author, else the feed's; a desk's byline as the page declares it.

    trafilatura splits and re-cases names ("Staff and agencies" -> "Staff; Agencies") and drops desks that
    sign a page ("Associated Press" in its JSON-LD): the page's own declaration keeps them whole.
    """
    byline = clean_byline(found) or clean_byline(entry.author if entry else None)
    declared = [*tree.xpath(_AUTHOR_XPATH)]
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        declared.extend(_JSONLD_AUTHOR.findall(script))
    for raw in declared[:4]:
        desk = clean_byline(raw) if isinstance(raw, str) else None
        if desk is None or not is_organisation(desk):
            continue
        if byline is None or _name_key(_JOINERS.sub(" ", desk)) == _name_key(_JOINERS.sub(" ", byline)):
            return desk
    return byline


# trafilatura looks for the date in markup and URL only; the slow search through free text (dateparser) is left
# to the htmldate fallback, paid only by pages whose markup carries no date.
_FAST_DATE_SEARCH = {"extensive_search": False, "original_date": True}
_PUBLISHED_XPATH = (
    '//meta[@property="article:published_time" or @name="article:published_time"'
    ' or @property="og:article:published_time" or @itemprop="datePublished" or @name="DC.date.issued"'
    ' or @name="dcterms.created" or @name="dcterms.issued" or @name="parsely-pub-date"]/@content'
    ' | //*[@itemprop="datePublished"]/@datetime'
    # Blogger and hAtom: the post's timestamp link beside the date header holds the instant in its title.
    ' | //abbr[contains(concat(" ", normalize-space(@class), " "), " published ")]/@title'
    ' | //a[contains(@class, "timestamp-link")]//*[@title]/@title'
)
_TIME_XPATH = "//time/@datetime"  # the page's <time> elements: weaker than the metadata, first few only
_MAX_TIME_ELEMENTS = 3
_JSONLD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{10,40})"')
# A time of day alone in a timestamp link ("5:11 AM", "21:11"): read on the day the page gives.
_TIMESTAMP_LINK_XPATH = '//a[contains(@class, "timestamp")]'
_CLOCK = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*([ap])?\.?\s*(?:m\.?)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Published:
    at: datetime | None  # UTC; the start of the day when only the day is known
    date_only: bool = False


def _published(tree: HtmlElement, day_text: str | None, page: Page) -> Published:
    """trafilatura's day → htmldate → the feed's date, with the page's own instant for that day where it gives one.

    A time of day is never invented: where only the day is known, it is marked date-only.
    """
    precise = [dt for dt in map(_precise_datetime, _published_values(tree)) if dt is not None]
    if page.entry and page.entry.published_at:
        precise.append(page.entry.published_at)
    day = _day(day_text) or _day(htmldate.find_date(tree, url=page.url, extensive_search=True))
    if day is None:
        return Published(_as_utc(precise[0])) if precise else Published(None)
    for moment in precise:
        # The day may be the page's local one and the instant given in UTC, or the other way round.
        if abs((moment.date() - day).days) <= 1:
            return Published(_as_utc(moment))
    clock = _timestamp_link_clock(tree)
    if clock is not None:
        return Published(datetime.combine(day, clock, UTC))  # a wall time with no zone is read as UTC
    return Published(datetime.combine(day, time(), UTC), date_only=True)


def _published_values(tree: HtmlElement) -> list[str]:
    values = [v for v in tree.xpath(_PUBLISHED_XPATH) if isinstance(v, str)]
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        values.extend(_JSONLD_PUBLISHED.findall(script))
    values.extend(v for v in tree.xpath(_TIME_XPATH)[:_MAX_TIME_ELEMENTS] if isinstance(v, str))
    return values


def _timestamp_link_clock(tree: HtmlElement) -> time | None:
    for link in tree.xpath(_TIMESTAMP_LINK_XPATH)[:1]:
        match = _CLOCK.fullmatch(link.text_content()[:40])
        if match is None:
            continue
        hour, minute = int(match[1]), int(match[2])
        if match[3]:  # 12-hour clock
            hour = hour % 12 + (12 if match[3].lower() == "p" else 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    return None


def _precise_datetime(value: str) -> datetime | None:
    """A datetime with a time of day; bare dates are left to trafilatura and htmldate."""
    value = value.strip()
    if len(value) <= 10 or len(value) > 40:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_LANGUAGE_XPATH = (
    '/html/@lang | /html/@xml:lang | //meta[@http-equiv="content-language" or @http-equiv="Content-Language"]'
    '/@content | //meta[@property="og:locale"]/@content'
)
# Text long enough, and the declared language unlikely enough, to overrule what the page declares.
_MIN_TEXT_TO_OVERRULE, _MAX_PROB_IMPLAUSIBLE = 200, 0.01
_MIN_TEXT_TO_GUESS, _MIN_PROB_TO_GUESS = 40, 0.6


def _declared_language(tree: HtmlElement) -> str | None:
    for value in tree.xpath(_LANGUAGE_XPATH):
        code = _language_code(value)
        if code:
            return code
    return None


def _language_code(value: str | None) -> str | None:
    code = re.split(r"[-_,;\s]", (value or "").strip().lower(), maxsplit=1)[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


@cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _language(declared: str | None, text: str) -> str | None:
    """The declared language unless the text clearly says otherwise; a guess from the text when none is declared."""
    declared = _language_code(declared)
    if len(text) < _MIN_TEXT_TO_GUESS:
        return declared
    ranking = _language_identifier().rank(text[:3000])
    guess, probability = ranking[0]
    if declared is None:
        return guess if probability >= _MIN_PROB_TO_GUESS else None
    # Overrule only when the text is very unlikely to be in the declared language (id vs ms is no reason).
    implausible = dict(ranking).get(declared, 0.0) < _MAX_PROB_IMPLAUSIBLE and len(text) >= _MIN_TEXT_TO_OVERRULE
    return guess if implausible and probability >= _MIN_PROB_TO_GUESS else declared


# -- display HTML -----------------------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "a", "em", "strong", "b", "i", "br", "figure",
    "figcaption", "img",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
_BLOCK_TAGS = ("p", "li", "h2", "h3", "h4", "blockquote", "figcaption", "br")


def sanitize_html(html: str) -> str:
    """Only harmless tags and http(s) links survive; links get rel="nofollow noopener"."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="nofollow noopener",
    )


def display_html(text: str) -> str:
    """HTML built from the cleaned paragraphs, so no furniture line can come back through the markup."""
    blocks: list[str] = []
    items: list[str] = []
    for paragraph in text.split("\n\n"):
        if paragraph.startswith("- "):
            items.append(f"<li>{escape(paragraph[2:])}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        blocks.append(f"<p>{escape(paragraph)}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    return sanitize_html("".join(blocks))


def _summary_text(summary_html: str) -> str:
    """Feed summary HTML → one line per block, list items as "- item"."""
    safe = sanitize_html(summary_html)
    if not safe.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(safe, create_parent="div")
    except ParserError:
        return ""
    for element in root.iter(*_BLOCK_TAGS):
        if element.tag == "li":
            element.text = "- " + (element.text or "")
        element.tail = "\n" + (element.tail or "")
    return root.text_content()
