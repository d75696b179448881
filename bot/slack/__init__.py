"""Slack-facing surfaces: the HTTP entry, Socket Mode, the typed payloads, Block Kit builders and the Web API client."""
