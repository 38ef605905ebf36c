"""Content-Encoding decoding in bounded steps, so the size cap is checked while a body inflates: HTTP responses,
WARC payloads and gzipped feeds or sitemaps all decode here.

A decoder turns each raw chunk into pieces of about PIECE bytes: a 1.6 KB brotli body that holds 1 GiB, or a
gzip body inside a gzip body, cannot grow past the cap by more than one piece. Only one coding per body is
accepted; ACCEPT_ENCODING names exactly the codings decoded here.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli

PIECE = 64 * 1024  # about the most output one decoding step makes
ACCEPT_ENCODING = "gzip, deflate, br"
_GZIP_WBITS = zlib.MAX_WBITS | 16


class DecodeError(ValueError):
    """A coding we refuse, or a body that is not valid in its coding; the message says which."""


class Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output for `data`, in pieces of about PIECE bytes; `feed(b"")` at the end drains what is left."""
        ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data


class _Inflate:
    """gzip, or deflate with or without its zlib wrapper (many servers send raw deflate)."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits  # None: decided by the first bytes
        self._inflate: zlib._Decompress | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            if not data:
                return
            self._inflate = zlib.decompressobj(_deflate_wbits(data) if self._wbits is None else self._wbits)
        while not self._inflate.eof:  # bytes after the end of the stream are ignored, as browsers do
            try:
                piece = self._inflate.decompress(data, PIECE)
            except zlib.error as exc:
                raise DecodeError(f"undecodable body: {exc}") from exc
            data = self._inflate.unconsumed_tail
            if not piece:
                return
            yield piece


def _deflate_wbits(head: bytes) -> int:
    """Zlib-wrapped (as RFC 9110 defines deflate) when `head` starts with a valid zlib header, else raw."""
    try:
        zlib.decompressobj().decompress(head[:2])
    except zlib.error:
        return -zlib.MAX_WBITS
    return zlib.MAX_WBITS


class _Brotli:
    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        # Once a step stops at the output limit, brotli takes input again only after its pending output is out:
        # keep stepping with no input until a step gives nothing, which is also when it wants more.
        while not self._brotli.is_finished():
            try:
                piece = self._brotli.process(data, output_buffer_limit=PIECE)
            except brotli.error as exc:
                raise DecodeError(f"undecodable body: {exc}") from exc
            data = b""
            if not piece:
                return
            yield piece


def decoder_for(content_encoding: str) -> Decoder:
    """The decoder for a Content-Encoding header value; DecodeError for stacked or unknown codings."""
    codings = [c for c in (part.strip().lower() for part in content_encoding.split(",")) if c not in ("", "identity")]
    if len(codings) > 1:
        raise DecodeError(f"stacked Content-Encoding {content_encoding!r} refused: one of {ACCEPT_ENCODING} only")
    coding = codings[0] if codings else "identity"
    if coding == "identity":
        return _Identity()
    if coding in ("gzip", "x-gzip"):  # RFC 9110 §8.4.1.3: x-gzip is gzip
        return _Inflate(_GZIP_WBITS)
    if coding == "deflate":
        return _Inflate(None)
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported Content-Encoding {coding!r}: {ACCEPT_ENCODING} only")


def decode(body: bytes, content_encoding: str, limit: int) -> bytes:
    """A whole body decoded at once (a WARC payload, a .gz file); DecodeError past `limit` bytes of output."""
    decoder = decoder_for(content_encoding)
    pieces: list[bytes] = []
    size = 0
    for piece in itertools.chain(decoder.feed(body), decoder.feed(b"")):  # lazily: each piece checked as it comes
        size += len(piece)
        if size > limit:
            raise DecodeError(f"{content_encoding} body inflates beyond {limit} bytes")
        pieces.append(piece)
    return b"".join(pieces)
