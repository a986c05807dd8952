"""Model Garden experiment YAMLs of As-ViT, shipped with the package.

`path(name)` finds one wherever the package is installed, so a command can
pass it to `--config_file` from any directory.
"""

import importlib.resources
import os

from asvit_tf import errors


def names() -> list:
  """The YAML file names this package ships."""
  return sorted(entry.name for entry in importlib.resources.files(__name__)
                .iterdir() if entry.name.endswith('.yaml'))


def path(name: str) -> str:
  """The file path of the shipped YAML `name`, such as
  'asvit_smoke_digits_cpu.yaml'."""
  found = os.fspath(importlib.resources.files(__name__) / name)
  if not os.path.isfile(found):
    raise errors.UsageError(f'official config {name!r} is not shipped; '
                            f'allowed: {", ".join(names())}')
  return found
