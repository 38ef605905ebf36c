"""The web app: live pages, server-sent events, view beacons, the JSON API and feeds."""
