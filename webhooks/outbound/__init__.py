"""Outbound partner webhooks: endpoints, the message outbox, signed delivery with retries, and replay."""
