"""Entry-point helpers shared by the binaries: one-line errors, quiet TF logs."""

import os
import sys
from typing import Callable, List

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from absl import app  # pylint: disable=g-import-not-at-top

from asvit_tf import errors  # pylint: disable=g-import-not-at-top


def run(main: Callable[[List[str]], None]) -> None:
  """Runs an absl `main`; a UsageError exits 2 with one line on stderr."""

  def guarded(argv: List[str]) -> None:
    try:
      main(argv)
    except errors.UsageError as e:
      print(f'error: {e}', file=sys.stderr)
      sys.exit(2)

  app.run(guarded)
