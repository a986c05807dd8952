"""The embedded dataset: scikit-learn's real handwritten digits, no download.

scikit-learn ships 1,797 8x8 grey images of the digits 0-9 inside its package
(`datasets/data/digits.csv.gz`, what `sklearn.datasets.load_digits` returns).
They are read from that file without importing scikit-learn (0.56 s), scaled
to 0..255, resized to a chosen square size, repeated to RGB and written as
TFRecords in Model Garden's classification format (`image/encoded` PNG,
`image/class/label`), so every reader of ImageNet TFRecords reads them too.
"""

import importlib.util
import os
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

NUM_CLASSES = 10
NUM_IMAGES = 1797
SPLITS = ('train', 'validation')
# zlib level of the PNGs: 2.4x faster to write than the default level 6, for
# files 17 % larger (4.4 MB at 64x64), the same pixels.
_PNG_COMPRESSION = 1


def scikit_learn_digits() -> Tuple[np.ndarray, np.ndarray]:
  """`sklearn.datasets.load_digits()`'s images (N, 8, 8) in 0..16 and labels,
  from the file it reads: rows of 64 pixels, then the label."""
  package = importlib.util.find_spec('sklearn').submodule_search_locations[0]
  table = np.loadtxt(os.path.join(package, 'datasets', 'data',
                                  'digits.csv.gz'), delimiter=',')
  return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


def load_digits_images(image_size: int) -> Tuple[np.ndarray, np.ndarray]:
  """All 1,797 digits as uint8 (N, size, size, 3) images and int64 labels."""
  grey_16, labels = scikit_learn_digits()
  grey = grey_16.astype(np.float32) * (255.0 / 16.0)
  resized = tf.image.resize(grey[..., None], [image_size, image_size],
                            method='bilinear').numpy()
  images = np.clip(np.round(resized), 0, 255).astype(np.uint8)
  return np.repeat(images, 3, axis=-1), labels


def split_indices(num: int, validation_fraction: float = 0.2,
                  seed: int = 0) -> Dict[str, np.ndarray]:
  """A seeded permutation cut into 'train' and 'validation' indices."""
  order = np.random.default_rng(seed).permutation(num)
  cut = int(round(num * (1.0 - validation_fraction)))
  return {'train': np.sort(order[:cut]), 'validation': np.sort(order[cut:])}


def _example(image: np.ndarray, label: int) -> tf.train.Example:
  encoded = tf.io.encode_png(image, compression=_PNG_COMPRESSION).numpy()
  feature = {
      'image/encoded': tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[encoded])),
      'image/format': tf.train.Feature(
          bytes_list=tf.train.BytesList(value=[b'png'])),
      'image/class/label': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[int(label)])),
      'image/height': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[image.shape[0]])),
      'image/width': tf.train.Feature(
          int64_list=tf.train.Int64List(value=[image.shape[1]])),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature))


def write_tfrecords(output_dir: str, image_size: int,
                    validation_fraction: float = 0.2,
                    seed: int = 0) -> Dict[str, str]:
  """Writes `{split}-00000-of-00001.tfrecord`; returns split -> file path.

  Files already written for the same size and split are reused, without
  loading the images again.
  """
  paths = {split: os.path.join(output_dir, f'{split}-00000-of-00001.tfrecord')
           for split in SPLITS}
  missing = [split for split in SPLITS if not tf.io.gfile.exists(paths[split])]
  if not missing:
    return paths
  images, labels = load_digits_images(image_size)
  indices = split_indices(len(labels), validation_fraction, seed)
  tf.io.gfile.makedirs(output_dir)
  for split in missing:
    with tf.io.TFRecordWriter(paths[split] + '.tmp') as writer:
      for i in indices[split]:
        writer.write(_example(images[i], labels[i]).SerializeToString())
    tf.io.gfile.rename(paths[split] + '.tmp', paths[split], overwrite=True)
  return paths
