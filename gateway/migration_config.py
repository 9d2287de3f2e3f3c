"""The Tortoise configuration for Tortoise's own CLI (``tortoise makemigrations``), from the environment."""

from gateway.db import tortoise_config
from gateway.settings import load_settings

TORTOISE_ORM = tortoise_config(load_settings())
