"""The embedded digits, the image sources of the training-free metrics and
the training input."""

import logging

import numpy as np
import pytest
import tensorflow as tf
from official.core import task_factory
from official.vision.tasks import image_classification

from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.data import digits
from asvit_tf.data import sources
from tests import helpers


def test_digits_tfrecords_are_model_garden_classification_records(tmp_path):
  paths = digits.write_tfrecords(str(tmp_path), 16)
  counts = {split: sum(1 for _ in tf.data.TFRecordDataset(path))
            for split, path in paths.items()}
  assert counts == {'train': 1438, 'validation': 359}
  record = next(iter(tf.data.TFRecordDataset(paths['validation'])))
  feature = tf.train.Example.FromString(record.numpy()).features.feature
  image = tf.io.decode_png(feature['image/encoded'].bytes_list.value[0])
  assert image.shape == (16, 16, 3)
  assert 0 <= feature['image/class/label'].int64_list.value[0] < 10
  # Same seed, same split.
  assert digits.split_indices(100, seed=3)['train'].tolist() == (
      digits.split_indices(100, seed=3)['train'].tolist())


def test_digits_are_scikit_learns_without_importing_it():
  from sklearn import datasets  # pylint: disable=g-import-not-at-top
  expected = datasets.load_digits()
  images, labels = digits.scikit_learn_digits()
  np.testing.assert_array_equal(images, expected.images)
  np.testing.assert_array_equal(labels, expected.target)
  assert images.shape == (digits.NUM_IMAGES, 8, 8)


def test_digits_tfrecords_hold_the_loaded_pixels(tmp_path):
  paths = digits.write_tfrecords(str(tmp_path), 16)
  images, labels = digits.load_digits_images(16)
  first = digits.split_indices(len(labels))['validation'][0]
  record = next(iter(tf.data.TFRecordDataset(paths['validation'])))
  feature = tf.train.Example.FromString(record.numpy()).features.feature
  np.testing.assert_array_equal(
      tf.io.decode_png(feature['image/encoded'].bytes_list.value[0]),
      images[first])
  assert feature['image/class/label'].int64_list.value[0] == labels[first]


def test_digits_tfrecords_are_reused_without_loading_the_images(
    tmp_path, monkeypatch):
  paths = digits.write_tfrecords(str(tmp_path), 16)
  sizes = {split: tf.io.gfile.stat(path).length
           for split, path in paths.items()}

  def unexpected_load(image_size):
    raise AssertionError(f'the images were loaded again at {image_size}')

  monkeypatch.setattr(digits, 'load_digits_images', unexpected_load)
  assert digits.write_tfrecords(str(tmp_path), 16) == paths
  assert {split: tf.io.gfile.stat(path).length
          for split, path in paths.items()} == sizes


def test_sources_agree_and_are_seeded(tmp_path):
  paths = digits.write_tfrecords(str(tmp_path / 'records'), 32)
  images, labels = digits.load_digits_images(32)
  folder = tmp_path / 'folder'
  for i in range(6):
    (folder / str(labels[i])).mkdir(parents=True, exist_ok=True)
    (folder / str(labels[i]) / f'{i}.png').write_bytes(
        tf.io.encode_png(images[i]).numpy())
  for source in ('digits', f'tfrecord:{paths["train"]}', f'folder:{folder}'):
    a = sources.load_images(source, 24, 4, seed=7)
    assert a.shape == (4, 24, 24, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sources.load_images(source, 24, 4, seed=7))
    assert abs(float(a.mean())) < 3.0


@pytest.mark.parametrize('source, fragment', [
    ('mnist', "'mnist' is not recognised"),
    ('folder:/no/such/dir', 'is not a folder'),
    ('tfrecord:/no/such/*.tfrecord', 'no file matches'),
    ('tfds:no_such_dataset_xyz', 'TFDS could not load'),
])
def test_bad_sources_fail_with_one_line(source, fragment):
  with pytest.raises(sources.DataError) as error:
    sources.load_images(source, 32, 2)
  assert fragment in str(error.value) and '\n' not in str(error.value)


def test_missing_tfds_dataset_is_said_in_the_error_alone(caplog, tmp_path):
  """TFDS's own INFO line on the failed load would come before our one line."""
  with caplog.at_level(logging.INFO, logger='absl'):
    with pytest.raises(sources.DataError) as error:
      sources.load_images('tfds:no_such_dataset_xyz', 32, 2,
                          tfds_data_dir=str(tmp_path))
    assert logging.getLogger('absl').level == logging.INFO  # Restored.
  assert not caplog.records
  assert f"from '{tmp_path}'" in str(error.value)


def test_empty_folder_fails(tmp_path):
  with pytest.raises(sources.DataError, match='holds no images'):
    sources.load_images(f'folder:{tmp_path}', 32, 2)


def test_bad_files_are_named(tmp_path):
  alone, beside = tmp_path / 'alone' / 'cat', tmp_path / 'beside' / 'cat'
  alone.mkdir(parents=True)
  beside.mkdir(parents=True)
  (alone / 'text.jpg').write_text('not an image')
  (beside / 'good.png').write_bytes(
      tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy())
  (beside / 'gone.png').symlink_to(tmp_path / 'missing.png')
  (tmp_path / 'records.tfrecord').write_text('not a record')
  (tmp_path / 'folder.tfrecord').mkdir()
  for source, bad in (
      (f'folder:{tmp_path}/alone', f'{alone}/text.jpg is not a readable image'),
      (f'folder:{tmp_path}/beside', f'{beside}/gone.png cannot be read'),
      (f'tfrecord:{tmp_path}/records.tfrecord',
       f'{tmp_path}/records.tfrecord is not a TFRecord file'),
      (f'tfrecord:{tmp_path}/folder.tfrecord',
       f'{tmp_path}/folder.tfrecord is not a TFRecord file'),
  ):
    with pytest.raises(sources.DataError) as error:
      sources.load_images(source, 32, 2)  # Picks both images of `beside`.
    assert str(error.value).startswith(f'data source {source!r}: {bad}')


def save_training_batches(records: str, out_path: str) -> None:
  """The first batches of the smoke config's training input (RandAugment,
  Mixup/CutMix, here with crops and flips too), seeded as `--seed` seeds a
  run, through the task and through Model Garden's own `build_inputs`, which
  tf.data traces with AutoGraph."""
  params = helpers.smoke_params()
  data = params.task.train_data.replace(
      input_path=records, decode_jpeg_only=False, aug_crop=True,
      aug_rand_hflip=True, seed=1)
  task = task_factory.get_task(params.task)
  helpers.save_seeded_batches({
      'task': lambda: task.build_inputs(data),
      'model_garden': lambda: (
          image_classification.ImageClassificationTask.build_inputs(task,
                                                                    data))},
      3, out_path)


def test_training_input_is_model_gardens_to_the_bit(tmp_path):
  # The task traces Model Garden's input functions without AutoGraph.
  records = digits.write_tfrecords(str(tmp_path), 64)['train']
  result = helpers.run_forked(save_training_batches, records,
                              str(tmp_path / 'batches.npz'))
  assert result.returncode == 0, result.stderr[-3000:]
  batches = helpers.assert_task_batches_are_model_gardens(
      str(tmp_path / 'batches.npz'))
  labels = batches['0_1']
  assert labels.shape == (16, 10)
  assert not np.all(np.isin(labels, (0.0, 1.0)))  # Mixup's soft labels.
