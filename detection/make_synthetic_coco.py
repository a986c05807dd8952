"""Writes the synthetic COCO set and converts it with Model Garden's converter.

  python -m detection.make_synthetic_coco --output_dir=/tmp/asvit_synthetic_coco

Output: `train2017/`, `val2017/` (JPEG), `annotations/instances_*2017.json`
(COCO JSON, open it with pycocotools or any COCO viewer) and
`tfrecords/{train,val}-00000-of-0000N.tfrecord`, written by
official/vision/data/create_coco_tf_record.py exactly as for COCO 2017.
"""

from typing import List

from absl import flags

from asvit_tf import cli
from detection import synthetic_coco

_OUTPUT_DIR = flags.DEFINE_string('output_dir', '/tmp/asvit_synthetic_coco',
                                  'Where images, JSON and TFRecords go.')
_NUM_TRAIN = flags.DEFINE_integer('num_train', 64, 'Training images.',
                                  lower_bound=1)
_NUM_VAL = flags.DEFINE_integer('num_val', 16, 'Validation images.',
                                lower_bound=1)
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 256, 'Square image side.',
                                   lower_bound=1)
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the train split; the '
                             'validation split uses seed + 1.', lower_bound=0)
_NUM_SHARDS = flags.DEFINE_integer('num_shards', 1, 'TFRecord shards a split.',
                                   lower_bound=1)

def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  cli.check_writable_dir('output_dir', _OUTPUT_DIR.value)
  paths = synthetic_coco.make_dataset(_OUTPUT_DIR.value, _NUM_TRAIN.value, _NUM_VAL.value,
                       _IMAGE_SIZE.value, _SEED.value, _NUM_SHARDS.value)
  for split, split_paths in paths.items():
    print(f'{split}: {split_paths["annotations"]}  {split_paths["tfrecords"]}')


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
