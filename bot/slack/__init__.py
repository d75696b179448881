"""Slack-facing surfaces: the Bolt app, the HTTP entry, listeners, Block Kit builders and the Web API client."""
