"""Checks of the error contract: one `error:` line, exit 2, nothing written."""

import os
from typing import Dict, Tuple


def assert_one_line_error(result, start: str) -> None:
  """`result` (a finished subprocess) exited 2 with a last stderr line that
  starts with `start`, and printed no traceback."""
  assert result.returncode == 2, result.stderr[-3000:]
  assert result.stderr.rstrip().splitlines()[-1].startswith(start), (
      result.stderr[-3000:])
  assert 'Traceback' not in result.stderr


def snapshot(directory: str) -> Dict[str, Tuple[int, int]]:
  """(size, mtime in ns) of every file under `directory`, by relative path."""
  found = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      stat = os.stat(path)
      found[os.path.relpath(path, directory)] = (stat.st_size,
                                                 stat.st_mtime_ns)
  return found
