"""Page furniture and attribution rules, as data, per language.

Extractors keep lines such as "Read more here.", "-421 Views", share bars or "Related posts" lists because they
sit inside the article container. Every rule here matches a *whole* line (paragraph), so a sentence that merely
mentions "read more" or "the source" keeps its place in the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from livedesk.urls import registrable_domain


@dataclass(frozen=True)
class Rules:
    lines: tuple[str, ...] = ()  # the whole line is furniture ("Advertisement", "Load more")
    teasers: tuple[str, ...] = ()  # a cue followed by a linked headline ("Baca juga: …")
    sections: tuple[str, ...] = ()  # headings of link lists, dropped together with the links under them
    attributions: tuple[str, ...] = ()  # cues followed by the outlet the text comes from ("Sumber: …")


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"

RULES: dict[str, Rules] = {
    "en": Rules(
        lines=(
            r"read more(?: here| at| on| about this)?",
            r"(?:continue|keep) reading",
            r"(?:click|tap) here to read more",
            r"read (?:the )?(?:full|whole|original) (?:story|article|report)(?: here)?",
            r"no more (?:posts|articles|stories)(?: available)?",
            r"no more (?:pages|posts|articles|stories) to (?:load|show)",
            r"(?:load|show|view) more(?: posts| stories| articles| news)?",
            r"advertisements?|advertisment|sponsored(?: content)?|ad",
            r"(?:story|article) continues below(?: this)?(?: advertisement| ad)?",
            r"scroll (?:down )?to continue(?: with content| reading)?|continue reading below",
            r"share (?:this|the) (?:article|story|post|page)|share on \w+|share via \w+|share this",
            r"(?:click|tap) to share on \w+(?: \(opens in new window\))?",
            # Possessive: "and" is a joiner, never a network name, so each line is read one way, in linear time.
            r"follow us on \w++(?:,? (?:and )?+\w++)*+",
            r"like this|like this:|loading\.\.\.",
            r"(?:sign up|subscribe|register)\b.{0,80}\bnewsletters?\b.{0,160}",
            r"get (?:the latest|our|breaking).{0,80}\b(?:inbox|newsletter)\b.{0,80}",
            # "Got a story? Email newsdesk@… or call …": the desk's tip line, under every article.
            r"(?:got|have you got|have) a (?:news )?(?:story|tip)\b.{0,20}\?.{0,160}",
            r"(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b.{0,300}",
            r"(?:accept|reject|manage)(?: all)? cookies|cookie (?:settings|policy|preferences)",
            # Cookie banners in their other wordings: consent by browsing, a cookie needed to show an embed.
            r"(?:by (?:continuing|using|browsing|clicking)|if you continue)\b.{0,160}\bcookies?\b.{0,300}",
            r"(?:please )?(?:accept|allow|enable) (?:[\w-]+ ){0,2}cookies\b.{0,300}",
            r"cookies? (?:notice|consent|banner)|(?:accept|allow|reject|decline) all|i (?:agree|accept)|got it",
            r"tags?\s*:.{0,150}",
            # Copyright lines: a mark and a year, a mark and a short name ("© Reuters"), or "All rights reserved".
            r"(?:copyright\s*)?(?:©|ⓒ|\(c\)|copyright)\s*(?:©|ⓒ)?\s*\d{4}\b.{0,300}",
            r"(?:copyright\s*)?(?:©|ⓒ)\s*[^.!?]{1,60}",
            r".{0,160}\ball rights reserved\b.{0,300}",
            # App and watch prompts: a short line sending the reader elsewhere ("Click here to get the … app").
            r"(?:[^.!?]{0,100}\b)?(?:click|tap)(?:ing)? here(?: (?:to|for) [^.!?,;]{1,100})?",
            r"(?:download|get|install) (?:the|our) [\w .&'’-]{1,40} app\b.{0,100}",
            # Follow prompts naming a network ("Follow us: Google News | …", "Follow The Gleaner on Twitter …").
            r"follow\b.{0,60}?(?:\bon\b|:)\s*.{0,40}?\b(?:twitter|facebook|instagram|tiktok|youtube|linkedin"
            r"|google news|telegram|whatsapp|threads|bluesky)\b.{0,160}",
            r"(?:\d+ )?comments?|(?:no|one|\d+) (?:comments?|responses?|replies)(?: so far| yet)?|comments? \(\d+\)"
            r"|leave a (?:comment|reply)|(?:add|post|show|view) (?:a |all )?comments?",
            r"rss feed for (?:the )?comments.{0,60}",
            r"order reprints?|reprints? (?:and|&) permissions|print (?:this )?(?:article|story|page)|text size",
            # Archive links: month lists ("November 2019", "Juli 2008 Juni 2008 …") and their headings.
            rf"(?:(?:{_MONTHS}) \d{{4}}(?: \(\d+\))?\s*)++",
            # Recent-post widgets: "- Headline - October 24, 2020".
            rf"- .{{5,160}}? [-–—|] (?:{_MONTHS}) \d{{1,2}},? \d{{4}}",
            # Clickbait widgets.
            r"(?:promoted|sponsored) (?:stories|links|content)(?: by \w+)?|recommended by \w+",
            r"around the web|from the web",
        ),
        teasers=(
            r"read more|read also|also read|see also|related(?: story| article| coverage)?|recommended",
            r"more|watch|watch now|listen|must read",
        ),
        sections=(
            r"related(?: posts| articles| stories| news| content| coverage)?",
            r"more (?:stories|news|articles)(?: from [\w .]{1,30})?",
            r"you (?:may|might) also (?:like|be interested in)",
            r"recommended(?: for you| stories| articles| reading)?",
            r"trending(?: now| stories| articles| news| today| topics)?(?: (?:in|on) [\w .'’]{1,30})?",
            r"most (?:read|popular|viewed|shared|commented)(?: (?:stories|articles|news|posts))?"
            r"(?: (?:in|on|from) [\w .'’]{1,30})?",
            r"popular (?:posts|stories|articles|now)|popular (?:on|at|in) [\w .'’]{1,30}|recent (?:posts|articles)",
            r"latest (?:news|posts|stories)|read next|up next|what to read next|you may have missed",
            r"(?:don't|do not) miss",
            r"editor'?s'? (?:picks?|choice)|(?:more|top) (?:stories|headlines)|(?:blog |monthly )?archives?",
        ),
        attributions=(
            r"sources?|via",
            r"originally published (?:at|on|in|by)",
            r"this (?:article|story|post) (?:was )?(?:originally|first) (?:appeared|published|posted) (?:on|in|at|by)",
            r"(?:re)?published (?:with permission )?(?:from|courtesy of)|courtesy of",
            r"reprinted (?:with permission )?from",
        ),
    ),
    "id": Rules(
        lines=(
            r"baca selengkapnya(?: di sini)?|selengkapnya",
            r"tidak ada (?:postingan|artikel|berita|halaman) lagi(?: untuk dimuat)?",
            r"(?:muat|tampilkan) lebih banyak|berita lainnya",
            r"iklan|(?:scroll|gulir) (?:ke bawah )?untuk melanjutkan(?: membaca)?",
            r"bagikan(?: artikel ini| berita ini)?|salin tautan",
            r"kami menggunakan cookie\b.{0,300}",
            r"(?:simak|ikuti|dapatkan)\b.{0,120}\b(?:google news|whatsapp|telegram|newsletter)\b.{0,80}",
            r"berlangganan\b.{0,80}\bnewsletter\b.{0,120}",
            r"(?:editor|penulis|pewarta|redaktur|reporter)\s*:\s*[^.]{1,60}",
        ),
        teasers=(r"baca juga|baca selengkapnya|baca|lihat juga|simak juga|simak",),
        sections=(
            r"(?:artikel|berita) (?:terkait|lainnya|populer|terkini|pilihan)|terpopuler|rekomendasi",
            r"pilihan redaksi|baca juga|lihat juga",
        ),
        attributions=(
            r"sumber",
            r"artikel ini (?:telah )?(?:tayang|terbit|dimuat|tayang) (?:di|pada)",
            r"dikutip dari|dilansir dari",
        ),
    ),
    "es": Rules(
        lines=(
            r"leer más|lee más|seguir leyendo|sigue leyendo|continuar leyendo|ver más",
            r"no hay más (?:publicaciones|entradas|artículos|noticias)(?: disponibles)?|cargar más",
            r"publicidad|anuncio",
            r"compartir(?: en \w+)?|compártelo|comparte esta noticia",
            r"(?:utilizamos|usamos|este sitio (?:web )?utiliza) cookies\b.{0,300}",
            r"suscr[ií]bete\b.{0,80}\b(?:newsletter|bolet[ií]n)\b.{0,120}",
        ),
        teasers=(
            r"lee también|lea también|leer más|lee más|te puede interesar|le puede interesar|puede interesarte",
            r"también puedes leer|ver también|mira también|relacionado|más información",
        ),
        sections=(
            r"(?:artículos|noticias|notas) relacionad[oa]s|relacionad[oa]s|lo más leído|más leídas|más noticias",
            r"también te puede interesar|te puede interesar",
        ),
        attributions=(
            r"fuentes?|vía|via|con información de",
            r"(?:publicado|este artículo (?:fue publicado|apareció)) originalmente en",
        ),
    ),
    "fr": Rules(
        lines=(
            r"lire la suite|lire plus|voir plus|charger plus",
            r"(?:il n'y a )?plus (?:d'articles|de publications)(?: à afficher)?",
            r"publicité|sponsorisé",
            r"partager(?: sur \w+| cet article)?|imprimer",
            r"nous utilisons des cookies\b.{0,300}|ce site utilise des cookies\b.{0,300}",
            r"(?:abonnez-vous|inscrivez-vous)\b.{0,80}\b(?:newsletter|lettre d'information)\b.{0,120}",
        ),
        teasers=(
            r"(?:à |a )?lire aussi|lire la suite|(?:à |a )?voir aussi|(?:à |a )?lire également",
            r"sur le même sujet|(?:à |a )?découvrir",
        ),
        sections=(
            r"articles (?:similaires|liés|connexes)|sur le même sujet|les plus lus|dans la même rubrique",
            r"(?:à |a )?lire aussi|(?:à |a )?voir aussi",
        ),
        attributions=(
            r"sources?|via|\(?avec",
            r"(?:publié|paru) (?:initialement|à l'origine|d'abord) (?:sur|par|dans)",
            r"cet article a (?:initialement|d'abord) été publié (?:sur|par|dans)",
        ),
    ),
    "de": Rules(
        lines=(
            r"mehr lesen|weiterlesen|weiter lesen|mehr anzeigen|mehr laden|keine weiteren (?:beiträge|artikel)",
            r"anzeige|werbung",
            r"teilen(?: auf \w+)?|artikel teilen|drucken|link kopieren",
            r"(?:wir verwenden|diese (?:web)?seite verwendet|wir nutzen) cookies\b.{0,300}",
            r"(?:newsletter abonnieren|jetzt (?:zum )?newsletter anmelden)\b.{0,160}",
            r"rss[- ]feed zu den kommentaren\b.{0,60}|(?:\d+ |keine )?kommentare?(?: / trackbacks)?",
        ),
        teasers=(
            r"lesen sie auch|lesen sie mehr|mehr lesen|mehr zum thema|auch interessant|siehe auch",
            r"das könnte sie auch interessieren|mehr dazu|zum thema",
        ),
        sections=(
            r"(?:ähnliche|verwandte|weitere) (?:artikel|beiträge|nachrichten)|meistgelesen|mehr zum thema",
            r"das könnte sie auch interessieren|lesen sie auch|auch interessant",
        ),
        attributions=(
            r"quellen?|via|mit material von",
            r"(?:dieser artikel )?(?:erschien|erschienen) zuerst (?:auf|bei|in)",
        ),
    ),
}

# Rules that need no language: counters ("-421 Views", "1.2K views", "Dilihat: 1.234"), share buttons and
# lines without a single letter or digit.
_COUNT = r"[-–]?\s*\d[\d.,]*\s*[km]?\+?"
_COUNTER_WORDS = r"views?|kali dilihat|dilihat|vistas|visitas|lecturas|vues|lectures|aufrufe|mal gelesen"
_SHARE_WORDS = (
    r"share(?: (?:this|on|via))?(?: (?:article|story|post|page))?|"
    r"tweet|facebook|twitter|x|whatsapp|linkedin|e-?mail|print|pinterest|telegram|reddit|messenger|"
    r"copy link|flipboard|pocket|tumblr|threads|bluesky|bagikan|compartir|partager|teilen"
)
NEUTRAL_LINES = (
    rf"(?:(?:by|oleh|por|par|von)\s*)?{_COUNT}\s*(?:{_COUNTER_WORDS})",
    rf"(?:{_COUNTER_WORDS})\s*[:：]?\s*{_COUNT}",
    rf"(?:(?:{_SHARE_WORDS})\b[\s,|/·•:–-]*+)++",
    r"[\W_]*+",
)
# The quantifiers above that overlap with _END are possessive: a run of stops, dashes or pipes given back one
# character at a time to _END made a long line cost quadratic time (a 100,000-character line took minutes).

_END = r"[\s.!:;…»›>→|–-]*"  # trailing punctuation a furniture line may carry ("Read more here." "Load more »")
_SEP = r"\s*[:：»›|–-]\s*"


def _union(patterns: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _all(kind: str) -> tuple[str, ...]:
    return tuple(p for rules in RULES.values() for p in getattr(rules, kind))


# A furniture line stays furniture as a list item ("- Order Reprints").
_FURNITURE = re.compile(rf"(?:- )?(?:{_union(_all('lines') + NEUTRAL_LINES)}){_END}", re.IGNORECASE)
_TEASER = re.compile(rf"(?:{_union(_all('teasers'))}){_SEP}\S.{{0,200}}", re.IGNORECASE)
_SECTION = re.compile(rf"(?:{_union(_all('sections'))}){_END}", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    rf"(?:{_union(_all('attributions'))})(?:\s*[:：]\s*|\s+)(?P<outlet>\S.{{0,280}})", re.IGNORECASE
)

# A link line under a "Related posts" heading: a headline, short, not a finished sentence.
_MAX_LINK_WORDS = 20
_MAX_SECTION_LINKS = 15
# Attribution lines count in the first and last few paragraphs only.
_HEAD_REGION, _TAIL_REGION = 2, 3

_DOMAIN = re.compile(r"(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})\b", re.IGNORECASE)
_NAME_CONNECTORS = frozenset({"of", "the", "and", "de", "la", "le", "du", "der", "die", "di", "y", "et", "und", "&"})


@dataclass(frozen=True)
class CleanedText:
    text: str  # paragraphs split by "\n\n"
    attributed_to: str | None  # registrable domain or lower-cased name of the outlet the page credits
    removed: tuple[str, ...]  # the furniture lines taken out, then the attribution lines


def clean_text(text: str) -> CleanedText:
    """Drop furniture lines, turn an attribution line at the start or end into `attributed_to`."""
    # NFC: the same words must give the same text (and hash) whichever way the page composed its characters.
    lines = [" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines()]
    kept: list[str] = []
    removed: list[str] = []
    in_section = 0  # link lines still to drop under a "Related posts" heading
    for line in lines:
        if not line:
            continue
        if in_section and _is_link_line(line):
            removed.append(line)
            in_section -= 1
            continue
        in_section = 0
        if _SECTION.fullmatch(line):
            in_section = _MAX_SECTION_LINKS
            removed.append(line)
        elif _FURNITURE.fullmatch(line) or _TEASER.fullmatch(line):
            removed.append(line)
        else:
            kept.append(line)

    attributed_to = None
    region = set(range(min(_HEAD_REGION, len(kept)))) | set(range(max(0, len(kept) - _TAIL_REGION), len(kept)))
    for index in sorted(region):
        outlet = attribution(kept[index])
        if outlet is not None:
            attributed_to = attributed_to or outlet
            removed.append(kept[index])
            kept[index] = ""
    return CleanedText("\n\n".join(line for line in kept if line), attributed_to, tuple(removed))


def attribution(line: str) -> str | None:
    """The outlet an attribution line names ("Sumber: www.cnn.com" -> "cnn.com", "Via Reuters" -> "reuters")."""
    match = _ATTRIBUTION.fullmatch(" ".join(line.split()))
    if match is None:
        return None
    value = match["outlet"]
    domain = _DOMAIN.search(value)
    if domain is not None:
        return registrable_domain(domain[1])
    name = re.split(r"[,/;|]| - ", value, maxsplit=1)[0].strip(" .;:()[]\"'“”")
    words = name.split()
    if not words or len(name) > 60 or len(words) > 6 or any(ch.isdigit() for ch in name):
        return None
    # An outlet's name is capitalised ("The Conversation", "CNN"); "Appia is an ancient road" is a sentence.
    if len(words) > 1 and not all(w[0].isupper() or w.lower() in _NAME_CONNECTORS for w in words):
        return None
    return name.lower()


def _is_link_line(line: str) -> bool:
    words = line.split()
    return len(words) <= _MAX_LINK_WORDS and (not line.endswith((".", "!", ":", ";")) or line.endswith("..."))


# -- bylines --------------------------------------------------------------------------------------------------

_BYLINE_PREFIX = re.compile(
    r"^(?:(?:written|posted|reported|words|story)\s+by|by|oleh|por|par|von|penulis|reporter|autor|auteur|author)"
    r"\s*[:：]?\s+",
    re.IGNORECASE,
)
_BYLINE_SPLIT = re.compile(r"\s*(?:;|\||,|/|\s&\s|\band\b|\bdan\b|\bund\b)\s*", re.IGNORECASE)
# CMS account names and bare roles: not a person, not a desk.
_NOT_A_NAME = frozenset(
    {
        "by", "oleh", "por", "par", "von", "admin", "administrator", "editor", "webmaster", "author", "user",
        "guest", "root", "anonymous", "unknown", "none", "null", "n/a", "no author", "staff writer",
        "staff reporter", "contributor", "contributing writer",
    }
)  # fmt: skip
_MAX_BYLINE = 80
# A newsroom signing as itself: a desk ("Staff", "Newsroom", "Metro Desk", "Staff and news service reports",
# "Editorial Board") or a news agency ("Associated Press", "Reuters staff", "AFP"). Read as one name, never split.
_DESK_WORDS = (
    r"staff|newsroom|news ?desk|desk|wires?|wire services?|news services?|agencies|reports?|editorial(?: board| team)?"
    r"|editors|correspondents?|bureau|team"
)
_AGENCIES = (
    r"associated press|the associated press|ap|reuters|thomson reuters|afp|agence france[- ]presse|dpa|apa|ansa|efe"
    r"|upi|xinhua|kyodo|jiji|yonhap|pti|ani|ians|bernama|antara|bloomberg|bloomberg news|cnn wire|tass|ria novosti"
)
# At most two words before the desk's ("HLNF Staff Report", "Practical Horseman Editorial Staff"): more are a
# person's name before an affiliation ("Adam Aaronson PhillyVoice Staff"). "The …" names an outlet, not a person.
_DESK = re.compile(
    rf"(?:[\w.'’&-]+ ){{0,2}}(?:{_DESK_WORDS})(?: (?:{_DESK_WORDS})){{0,2}}(?: (?:and|&) [\w ]{{1,40}})?"
    rf"|(?:{_AGENCIES})(?: (?:{_DESK_WORDS}))?|the [\w.'’&-]+(?: [\w.'’&-]+){{0,4}}",
    re.IGNORECASE,
)


def clean_byline(raw: str | None) -> str | None:
    """A person's or desk's name (several joined with "; "), or None — never an empty or garbage byline.

    A desk or agency signing the page ("Staff and news service reports") is its byline, kept whole; beside
    people's names it is their affiliation, and only the people are kept.
    """
    if not raw:
        return None
    whole = _strip_prefixes(" ".join(raw.split()))
    if "://" in whole:  # a profile link, not a name (and "/" separates names: "AFP/The Local")
        return None
    if _is_name(whole) and _DESK.fullmatch(whole):
        return whole
    names: list[str] = []
    for part in _BYLINE_SPLIT.split(whole):
        name = _strip_prefixes(part)
        if _is_name(name) and name not in names:
            names.append(name)
    people = [n for n in names if not _DESK.fullmatch(n)]
    return "; ".join(people or names) or None


def is_organisation(byline: str) -> bool:
    """Whether a cleaned byline names a desk or an agency rather than people."""
    return all(_DESK.fullmatch(name) for name in byline.split("; "))


def _strip_prefixes(name: str) -> str:
    name = name.strip(" -–—.,:·|")
    while (stripped := _BYLINE_PREFIX.sub("", name).strip(" -–—.,:·|")) != name:
        name = stripped
    return name


def _is_name(name: str) -> bool:
    return (
        0 < len(name) <= _MAX_BYLINE
        and any(ch.isalpha() for ch in name)
        and not any(ch.isdigit() for ch in name)
        and "@" not in name
        and "://" not in name
        and not name.lower().startswith("www.")
        and _DOMAIN.fullmatch(name) is None
        and name.lower() not in _NOT_A_NAME
    )
