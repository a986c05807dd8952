"""The synthetic COCO set and its conversion by Model Garden's converter."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from official.vision.dataloaders import tf_example_decoder
from PIL import Image
from pycocotools import coco
from pycocotools import mask as mask_utils

from asvit_tf import errors
from detection import synthetic_coco
from tests import helpers


def test_annotations_match_the_painted_shapes(tmp_path):
  path = synthetic_coco.write_split(str(tmp_path), 'val', 3, 128, seed=5)
  dataset = coco.COCO(path)
  assert sorted(dataset.getCatIds()) == [1, 2, 3]
  assert len(dataset.getImgIds()) == 3
  for annotation in dataset.loadAnns(dataset.getAnnIds()):
    image_info = dataset.loadImgs(annotation['image_id'])[0]
    mask = dataset.annToMask(annotation).astype(bool)
    assert mask.sum() == annotation['area'] > 0
    ys, xs = np.nonzero(mask)
    x, y, w, h = annotation['bbox']
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (
        x, y, x + w, y + h)
    pixels = np.asarray(Image.open(
        tmp_path / 'val2017' / image_info['file_name'])).astype(float)
    # Inside the mask the colour is nearest to the category's tint.
    tints = synthetic_coco._TINTS  # pylint: disable=protected-access
    inner = pixels[mask].mean(axis=0)
    nearest = min(tints, key=lambda c: np.abs(inner - tints[c]).sum())
    assert nearest == annotation['category_id']


def test_same_seed_same_set(tmp_path):
  first = synthetic_coco.write_split(str(tmp_path / 'a'), 'val', 2, 128, 7)
  second = synthetic_coco.write_split(str(tmp_path / 'b'), 'val', 2, 128, 7)
  third = synthetic_coco.write_split(str(tmp_path / 'c'), 'val', 2, 128, 8)
  load = lambda p: json.load(open(p))['annotations']
  assert load(first) == load(second)
  assert load(first) != load(third)


@pytest.mark.slow
def test_model_garden_converter_keeps_boxes_and_masks(tmp_path):
  paths = synthetic_coco.make_dataset(str(tmp_path), 3, 2, 128, seed=0)
  assert set(paths) == {'train', 'val'}
  dataset = coco.COCO(paths['val']['annotations'])
  decoder = tf_example_decoder.TfExampleDecoder(include_mask=True)
  records = tf.data.TFRecordDataset(tf.io.gfile.glob(paths['val']['tfrecords']))
  decoded = [decoder.decode(r) for r in records]
  assert len(decoded) == 2
  # Image ids continue across splits: train 1..3, validation 4..5.
  assert sorted(int(d['source_id'].numpy()) for d in decoded) == [4, 5]
  for example in decoded:
    image_id = int(example['source_id'].numpy())
    annotations = dataset.loadAnns(dataset.getAnnIds(imgIds=[image_id]))
    assert example['groundtruth_classes'].numpy().tolist() == [
        a['category_id'] for a in annotations]
    boxes = np.array([[y, x, y + h, x + w] for x, y, w, h in
                      (a['bbox'] for a in annotations)]) / 128
    np.testing.assert_allclose(example['groundtruth_boxes'].numpy(), boxes,
                               atol=1e-6)
    masks = example['groundtruth_instance_masks'].numpy()
    for mask, annotation in zip(masks, annotations):
      rle = mask_utils.frPyObjects(annotation['segmentation'], 128, 128)
      expected = mask_utils.decode(mask_utils.merge(rle))
      np.testing.assert_array_equal(mask > 0.5, expected.astype(bool))


@pytest.mark.slow
def test_both_converters_run_and_each_failure_is_reported(tmp_path):
  # The two splits convert at the same time; each one's error comes back.
  with pytest.raises(RuntimeError) as e:
    synthetic_coco.make_dataset(str(tmp_path), 1, 1, 128, seed=0,
                                num_shards=0)
  for split in ('train', 'val'):
    assert f'failed on {split}:' in str(e.value)
  assert str(e.value).count('ZeroDivisionError') == 2


def test_bad_sizes_are_one_line_errors(tmp_path):
  with pytest.raises(errors.UsageError, match='allowed'):
    synthetic_coco.make_dataset(str(tmp_path), 0, 2, 128, seed=0)


def make_synthetic_coco(*flags):
  return helpers.run_module('detection.make_synthetic_coco', *flags)


def test_binary_reports_bad_flags_on_one_line(tmp_path):
  # A fresh interpreter, as a user runs it: its whole stderr is the one line
  # (TensorFlow's own logging quietened before TensorFlow loads).
  result = subprocess.run(
      [sys.executable, '-m', 'detection.make_synthetic_coco',
       f'--output_dir={tmp_path}', '--image_size=64'],
      capture_output=True, text=True, check=False, cwd=helpers.ROOT)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      'error: num_train=64, num_val=16, image_size=64; allowed: at least 1 '
      'image per split and image_size >= 128']


def test_binary_refuses_zero_shards_and_a_path_under_a_file(tmp_path):
  (tmp_path / 'a_file').write_text('')
  helpers.assert_one_line_error(
      make_synthetic_coco(f'--output_dir={tmp_path}/out', '--num_shards=0'),
      'error: flag --num_shards=0: 0 is not a positive integer; allowed: a '
      'positive integer')
  helpers.assert_one_line_error(
      make_synthetic_coco(f'--output_dir={tmp_path}/a_file/out'),
      f'error: --output_dir={tmp_path}/a_file/out: {tmp_path}/a_file is a '
      'file; allowed: ')
  assert os.listdir(tmp_path) == ['a_file']
