"""The one sentence splitter: abbreviations, initials, decimals, ellipses and quotes do not end a sentence."""

from __future__ import annotations

import pytest

from livedesk.text import sentence_spans, split_sentences


@pytest.mark.parametrize(
    "text",
    [
        "Gen. Smith said the U.S. Navy would sail on Friday.",
        "Mr. and Mrs. Jones met Dr. Patel at St. Mary's hospital.",
        "The council met on Jan. 5 and again on Dec. 12 at No. 10 Downing Street.",
        "J. R. R. Tolkien wrote it in 3.5 years, for $2.5m.",
        "Prof. Ito, Lt. Col. Reyes and Sen. Wu spoke to Gov. Diaz.",
        "Inflation rose 0.4 percentage points, e.g. in food and energy.",
        "He paused... then went on.",
        "The U.K. and the E.U. agreed.",
    ],
)
def test_one_sentence(text: str) -> None:
    assert split_sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The bridge is shut. Ferries run instead.", ["The bridge is shut.", "Ferries run instead."]),
        ("Is it safe? Nobody knows! We will see.", ["Is it safe?", "Nobody knows!", "We will see."]),
        ('"We will rebuild it." The mayor left.', ['"We will rebuild it."', "The mayor left."]),
        (
            "“It is over,” she said. “Go home.” Then silence.",
            ["“It is over,” she said.", "“Go home.”", "Then silence."],
        ),
        ("He waited… Nobody came.", ["He waited…", "Nobody came."]),
        ("He waited... Nobody came.", ["He waited...", "Nobody came."]),
        (
            "Gen. Smith said the U.S. Navy left. It sailed at 3.15 p.m. on Monday.",
            ["Gen. Smith said the U.S. Navy left.", "It sailed at 3.15 p.m. on Monday."],
        ),
        ("They sold it to Acme Inc. The deal closed.", ["They sold it to Acme Inc.", "The deal closed."]),
        ("Prices rose (again.) Shops closed.", ["Prices rose (again.)", "Shops closed."]),
        ("The score was 3. 4 goals came later.", ["The score was 3.", "4 goals came later."]),
        (
            "Headline without a stop\nThe text starts here. It goes on.",
            ["Headline without a stop", "The text starts here.", "It goes on."],
        ),
    ],
)
def test_sentence_ends(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_lowercase_after_a_full_stop_does_not_start_a_sentence() -> None:
    assert split_sentences("The ship left at 5 a.m. and arrived at noon.") == [
        "The ship left at 5 a.m. and arrived at noon."
    ]


def test_a_number_abbreviation_ends_a_sentence_unless_a_number_follows() -> None:
    assert split_sentences("The answer was no. Talks ended.") == ["The answer was no.", "Talks ended."]
    assert split_sentences("He lives at No. 10 now.") == ["He lives at No. 10 now."]


def test_spans_point_into_the_text_without_surrounding_whitespace() -> None:
    text = "  First one.   Second one!\n\n  Third, on its own line.  \n"
    spans = list(sentence_spans(text))
    assert [text[start:end] for start, end in spans] == ["First one.", "Second one!", "Third, on its own line."]
    assert split_sentences(text) == [text[start:end] for start, end in spans]


def test_empty_and_blank_texts() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "hostile",
    [
        "." * 200_000,  # one run of stops: each must not be re-scanned from every position
        "word. " * 50_000,
        "a" * 200_000 + ". B",
        "“" * 100_000 + '"' * 100_000,
        ("Mr. " * 50_000) + "Smith.",
    ],
)
def test_hostile_text_is_split_in_linear_time(hostile: str) -> None:
    # A quadratic splitter takes hours on these; the timeout only catches such a hang.
    sentences = split_sentences(hostile)
    assert sum(len(s) for s in sentences) <= len(hostile)
