"""`input_path: digits:<split>`: the embedded dataset as Model Garden TFRecords.

The scikit-learn digits need no download; on first use they are written by
`asvit_tf.data.digits.write_tfrecords` into `<data_dir>/digits_<size>px/`.
Processes that start together (multi-worker training) each write into a
private folder and rename it into place; the first rename wins.
"""

import os
import shutil
import tempfile

from asvit_tf import errors
from asvit_tf.data import digits

PREFIX = 'digits:'


def is_embedded(input_path) -> bool:
  """Whether a data config's `input_path` names the embedded dataset."""
  return isinstance(input_path, str) and input_path.startswith(PREFIX)


def resolve(input_path: str, data_dir: str, image_size: int) -> str:
  """The TFRecord file of `digits:<split>`, written if missing."""
  split = input_path[len(PREFIX):]
  if split not in digits.SPLITS:
    raise errors.UsageError(
        f'input_path={input_path!r}; allowed: '
        f'{", ".join(PREFIX + s for s in digits.SPLITS)}')
  target = os.path.join(data_dir, f'digits_{image_size}px')
  if not os.path.isdir(target):
    os.makedirs(data_dir, exist_ok=True)
    private = tempfile.mkdtemp(prefix='.digits_', dir=data_dir)
    digits.write_tfrecords(private, image_size)
    try:
      os.rename(private, target)
    except OSError:  # Another process renamed its copy first.
      shutil.rmtree(private)
  return digits.write_tfrecords(target, image_size)[split]  # Reuses files.
