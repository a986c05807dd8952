"""Errors caused by user input; binaries print them as one line."""


class UsageError(ValueError):
  """Bad user input: the message names the value and what is allowed."""
