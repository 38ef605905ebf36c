"""The pipeline, reading like the diagram in DESIGN.md:

    sources ──> fetch ──> extract ──> store ──> syndication ──> stories ──> enrich ──> (announce)

`ingest.Ingestor` reads targets and sources up to extracted articles; `process.process` runs one article through
the rest of the chain, resumably. The stages are the modules beside them; each returns its result to `process`.
"""

from livedesk.pipeline.ingest import Ingestor, IngestReport
from livedesk.pipeline.process import Processed, process, resume

__all__ = ["IngestReport", "Ingestor", "Processed", "process", "resume"]
