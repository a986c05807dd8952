"""Entry-point helpers shared by the binaries: one-line errors, quiet TF logs."""

import json
import os
import sys
from typing import Any, Callable, Dict, List

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top

from asvit_tf import errors  # pylint: disable=g-import-not-at-top


GIN_CONTEXT = '\n  In call to configurable'


def one_line(error: Exception) -> str:
  """The message of `error` without the call context gin appends to errors
  raised inside its configurables (Model Garden's `create_trainer`)."""
  return str(error).split(GIN_CONTEXT)[0]


def run(main: Callable[[List[str]], None], flags_only: bool = True) -> None:
  """Runs an absl `main`; a UsageError exits 2 with one line on stderr.

  With `flags_only`, positional arguments are such an error too.
  """

  def guarded(argv: List[str]) -> None:
    try:
      if flags_only and len(argv) > 1:
        raise errors.UsageError(f'unexpected arguments {argv[1:]}; allowed: '
                                'flags only (see --helpfull)')
      main(argv)
    except errors.UsageError as e:
      print(f'error: {one_line(e)}', file=sys.stderr)
      sys.exit(2)

  app.run(guarded)


def print_rows(rows: List[Dict[str, Any]], output_format: str,
               format_table: Callable[[List[Dict[str, Any]]], str]) -> None:
  """Prints result rows as JSON (one object, or a list) or as a table."""
  if output_format == 'json':
    print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
  else:
    print(format_table(rows))
