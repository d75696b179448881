"""Slack chat-ops bot that onboards an ASP's customers to Sinch's Messenger channel."""
