"""The editors' operations: what a person at the desk decides, as one service layer for the CLI and the web.

Each operation takes the Store (and the Bus where open live pages must hear of it), is atomic in one database
transaction, and raises ValueError (or a LookupError for an unknown id) with a one-line reason the callers show
as is. Nothing here imports the web app or the command line.

- `stories`: merge and split stories (announced: their pages refresh).
- `claims`: an editor's claim status, kept with who and why (announced).
- `sources`: add (one URL check, `livedesk.urls`), import OPML, enable and disable.
- `topics`: create and list topic live pages.
- `accounts`: users (argon2id password hashes, roles) and API tokens (shown once, kept as sha256).
- `export`: article and story records of the data contract, as JSON Lines or CSV.
"""
