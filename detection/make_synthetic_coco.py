"""Writes the synthetic COCO set and converts it with Model Garden's converter.

  python -m detection.make_synthetic_coco --output_dir=/tmp/asvit_synthetic_coco

Output: `train2017/`, `val2017/` (JPEG), `annotations/instances_*2017.json`
(COCO JSON, open it with pycocotools or any COCO viewer) and
`tfrecords/{train,val}-00000-of-0000N.tfrecord`, written by
official/vision/data/create_coco_tf_record.py exactly as for COCO 2017.
"""

import os
import subprocess
import sys
from typing import Dict, List

from absl import flags

from asvit_tf import cli
from asvit_tf import errors
from detection import synthetic_coco

_OUTPUT_DIR = flags.DEFINE_string('output_dir', '/tmp/asvit_synthetic_coco',
                                  'Where images, JSON and TFRecords go.')
_NUM_TRAIN = flags.DEFINE_integer('num_train', 64, 'Training images.')
_NUM_VAL = flags.DEFINE_integer('num_val', 16, 'Validation images.')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 256, 'Square image side.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the train split; the '
                             'validation split uses seed + 1.')
_NUM_SHARDS = flags.DEFINE_integer('num_shards', 1, 'TFRecord shards a split.')

CONVERTER = 'official.vision.data.create_coco_tf_record'
SPLITS = ('train', 'val')


def converter_command(image_dir: str, annotations_file: str,
                      output_prefix: str, num_shards: int) -> List[str]:
  """Model Garden's COCO converter with instance masks, one process."""
  return [sys.executable, '-m', CONVERTER, f'--image_dir={image_dir}',
          f'--object_annotations_file={annotations_file}',
          f'--output_file_prefix={output_prefix}',
          f'--num_shards={num_shards}', '--include_masks',
          '--num_processes=0']


def make_dataset(output_dir: str, num_train: int, num_val: int,
                 image_size: int, seed: int,
                 num_shards: int = 1) -> Dict[str, Dict[str, str]]:
  """Writes both splits and their TFRecords; returns their paths."""
  if min(num_train, num_val) < 1 or image_size < 128:
    raise errors.UsageError(
        f'num_train={num_train}, num_val={num_val}, image_size={image_size}; '
        'allowed: at least 1 image per split and image_size >= 128')
  counts = {'train': num_train, 'val': num_val}
  paths = {}
  first_id = 1
  for offset, split in enumerate(SPLITS):
    annotations = synthetic_coco.write_split(
        output_dir, split, counts[split], image_size, seed + offset,
        first_image_id=first_id)
    first_id += counts[split]
    prefix = os.path.join(output_dir, 'tfrecords', split)
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    result = subprocess.run(
        converter_command(os.path.join(output_dir, f'{split}2017'),
                          annotations, prefix, num_shards),
        capture_output=True, text=True, check=False)
    if result.returncode:
      raise RuntimeError(f'{CONVERTER} failed on {split}:\n'
                         f'{result.stderr[-2000:]}')
    paths[split] = {'annotations': annotations,
                    'tfrecords': f'{prefix}-*-of-{num_shards:05d}.tfrecord'}
  return paths


def main(argv: List[str]) -> None:
  if len(argv) > 1:
    raise errors.UsageError(f'unexpected arguments {argv[1:]}; allowed: flags '
                            'only (see --helpfull)')
  paths = make_dataset(_OUTPUT_DIR.value, _NUM_TRAIN.value, _NUM_VAL.value,
                       _IMAGE_SIZE.value, _SEED.value, _NUM_SHARDS.value)
  for split, split_paths in paths.items():
    print(f'{split}: {split_paths["annotations"]}  {split_paths["tfrecords"]}')


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
