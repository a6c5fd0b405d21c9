"""One router per resource, mirroring OpenAI's API."""
