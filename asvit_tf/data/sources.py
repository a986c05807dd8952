"""Images for the training-free metrics from wherever the user keeps them.

A source string names one of:
  `digits`          the embedded handwritten digits (no download),
  `tfds:NAME`       a TFDS dataset (its `train` split; `tfds_data_dir` optional),
  `tfrecord:GLOB`   TFRecords in Model Garden's classification format,
  `folder:DIR`      a folder of class subfolders of images.
Images come back resized to a square, float32, normalized as Model Garden's
classification input normalizes them (ImageNet mean and stddev on 0..255).
"""

import logging
import os
from typing import Optional

from google.protobuf import message
import numpy as np
import tensorflow as tf
from official.vision.ops import preprocess_ops

from asvit_tf import errors
from asvit_tf.data import digits

KINDS = ('digits', 'tfds:NAME', 'tfrecord:GLOB', 'folder:DIR')
_IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.gif')
_IMAGE_FORMATS = 'JPEG, PNG, BMP or GIF'


class DataError(errors.UsageError):
  """A data source that is malformed, missing or empty."""


def normalize_images(images: np.ndarray, image_size: int) -> np.ndarray:
  """Resizes to a square and normalizes as Model Garden classification input."""
  resized = tf.image.resize(tf.cast(images, tf.float32),
                            [image_size, image_size])
  return preprocess_ops.normalize_image(
      resized, offset=preprocess_ops.MEAN_RGB,
      scale=preprocess_ops.STDDEV_RGB).numpy()


def _decode(encoded: bytes, name: str, source: str) -> np.ndarray:
  """The RGB pixels of an encoded image; `name` says where it came from."""
  try:
    return tf.io.decode_image(encoded, channels=3,
                              expand_animations=False).numpy()
  except tf.errors.InvalidArgumentError:
    raise DataError(f'data source {source!r}: {name} is not a readable '
                    f'image; allowed: {_IMAGE_FORMATS} images') from None


def _pick(num: int, count: int, seed: int, source: str) -> np.ndarray:
  if num == 0:
    raise DataError(f'data source {source!r} holds no images; allowed: a '
                    'source with at least one image')
  rng = np.random.default_rng(seed)
  return rng.choice(num, size=count, replace=num < count)


def _from_digits(count: int, seed: int, source: str) -> np.ndarray:
  images, _ = digits.load_digits_images(32)
  return images[_pick(len(images), count, seed, source)]


def _from_tfrecord(pattern: str, count: int, seed: int,
                   source: str) -> np.ndarray:
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise DataError(f'data source {source!r}: no file matches {pattern!r}; '
                    'allowed: a glob of existing TFRecord files')
  wanted, encoded = max(count * 8, 64), []
  for path in files:
    try:
      for record in tf.data.TFRecordDataset(path).take(wanted - len(encoded)):
        example = tf.train.Example.FromString(record.numpy())
        encoded.append(
            (f'a record of {path}',
             example.features.feature['image/encoded'].bytes_list.value[0]))
    except (tf.errors.OpError, message.DecodeError, IndexError) as e:
      raise DataError(f'data source {source!r}: {path} is not a TFRecord '
                      f'file of tf.Examples with image/encoded '
                      f'({type(e).__name__}); allowed: Model Garden\'s '
                      'classification TFRecords') from None
    if len(encoded) == wanted:
      break
  chosen = _pick(len(encoded), count, seed, source)
  return [_decode(encoded[i][1], encoded[i][0], source) for i in chosen]


def _from_folder(root: str, count: int, seed: int, source: str):
  if not tf.io.gfile.isdir(root):
    raise DataError(f'data source {source!r}: {root!r} is not a folder; '
                    'allowed: a folder of class subfolders of images')
  paths = sorted(
      os.path.join(dirpath, name)
      for dirpath, _, names in tf.io.gfile.walk(root) for name in names
      if name.lower().endswith(_IMAGE_SUFFIXES))
  chosen = _pick(len(paths), count, seed, source)
  return [_decode(_read(paths[i], source), paths[i], source) for i in chosen]


def _read(path: str, source: str) -> bytes:
  """The bytes of the image file `path` of `source`."""
  try:
    with tf.io.gfile.GFile(path, 'rb') as f:
      return f.read()
  except tf.errors.OpError:  # A broken link, a folder named like an image.
    raise DataError(f'data source {source!r}: {path} cannot be read; '
                    f'allowed: {_IMAGE_FORMATS} image files') from None


def _from_tfds(name: str, count: int, seed: int, source: str,
               data_dir: Optional[str]):
  """A prepared TFDS dataset's train split; never downloads.

  TFDS logs why a load failed at INFO before raising; the error below says it
  in its one line, so TFDS's log is held back while it loads.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  absl_logger = logging.getLogger('absl')
  level = absl_logger.level
  absl_logger.setLevel(logging.WARNING)
  try:
    dataset = tfds.load(name, split='train', data_dir=data_dir,
                        download=False)
  except Exception as e:  # pylint: disable=broad-except
    searched = data_dir or tfds.core.constants.DATA_DIR
    raise DataError(f'data source {source!r}: TFDS could not load {name!r} '
                    f'from {searched!r} ({type(e).__name__}); allowed: a '
                    'dataset prepared there (--tfds_data_dir)') from None
  finally:
    absl_logger.setLevel(level)
  images = [example['image'].numpy()
            for example in dataset.take(max(count * 8, 64))]
  chosen = _pick(len(images), count, seed, source)
  return [images[i] for i in chosen]


def load_images(source: str, image_size: int, count: int, seed: int = 0,
                tfds_data_dir: Optional[str] = None) -> np.ndarray:
  """`count` images (count, size, size, 3) from `source`, picked by `seed`."""
  if source == 'digits':
    picked = _from_digits(count, seed, source)
  elif source.startswith('tfrecord:'):
    picked = _from_tfrecord(source[len('tfrecord:'):], count, seed, source)
  elif source.startswith('folder:'):
    picked = _from_folder(source[len('folder:'):], count, seed, source)
  elif source.startswith('tfds:'):
    picked = _from_tfds(source[len('tfds:'):], count, seed, source,
                        tfds_data_dir)
  else:
    raise DataError(f'data source {source!r} is not recognised; allowed: '
                    f'{", ".join(KINDS)}')
  return np.stack([normalize_images(image, image_size) for image in picked])
