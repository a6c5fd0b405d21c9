"""Media in and out: URL and YouTube ingest, subtitles into video, vocal separation (issue 11)."""
