"""A small, seeded COCO-format instance segmentation set of synthetic shapes.

Each image holds a few non-overlapping rectangles, ellipses and triangles on
a noisy background. Every instance is a COCO polygon; its mask, box and area
are what pycocotools rasterizes from that polygon, and the pixels painted into
the image are exactly that mask (before JPEG compression), so images and
annotations agree. Colours are
tinted by category (with jitter) so that a few CPU minutes of training show
learning. The layout mirrors COCO 2017: `<split>2017/*.jpg` and
`annotations/instances_<split>2017.json`.
"""

import json
import os
import subprocess
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from asvit_tf import errors

CATEGORIES = ({'id': 1, 'name': 'rectangle', 'supercategory': 'shape'},
              {'id': 2, 'name': 'ellipse', 'supercategory': 'shape'},
              {'id': 3, 'name': 'triangle', 'supercategory': 'shape'})
NUM_CLASSES = len(CATEGORIES) + 1  # Model Garden counts the background 0.
_TINTS = {1: (220, 60, 60), 2: (60, 200, 60), 3: (70, 90, 230)}
_ELLIPSE_VERTICES = 32
_MAX_PLACEMENT_TRIES = 50


def _polygon(category: int, x: float, y: float, w: float,
             h: float) -> List[float]:
  """COCO polygon [x1, y1, x2, y2, ...] of a shape inside box (x, y, w, h)."""
  if category == 1:
    points = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
  elif category == 2:
    angles = np.linspace(0, 2 * np.pi, _ELLIPSE_VERTICES, endpoint=False)
    points = list(zip(x + w / 2 * (1 + np.cos(angles)),
                      y + h / 2 * (1 + np.sin(angles))))
  else:
    points = [(x + w / 2, y), (x + w, y + h), (x, y + h)]
  return [float(v) for point in points for v in point]


def _overlaps(box: Sequence[float], boxes: Sequence[Sequence[float]],
              margin: float) -> bool:
  x, y, w, h = box
  return any(x < bx + bw + margin and bx < x + w + margin and
             y < by + bh + margin and by < y + h + margin
             for bx, by, bw, bh in boxes)


def _draw_image(rng: np.random.Generator, size: int, max_objects: int,
                min_side: int, max_side: int) -> Tuple[np.ndarray, List[Dict]]:
  """One image and its instances (category, polygon, RLE) in paint order."""
  background = rng.integers(20, 90, size=3)
  image = np.clip(background + rng.normal(0, 8, (size, size, 3)), 0, 255)
  boxes, instances = [], []
  for _ in range(int(rng.integers(1, max_objects + 1))):
    for _ in range(_MAX_PLACEMENT_TRIES):
      w, h = rng.integers(min_side, max_side + 1, size=2)
      x, y = rng.integers(0, size - w), rng.integers(0, size - h)
      if not _overlaps((x, y, w, h), boxes, margin=2):
        break
    else:
      continue
    boxes.append((x, y, w, h))
    category = int(rng.integers(1, len(CATEGORIES) + 1))
    polygon = _polygon(category, x, y, w, h)
    rle = mask_utils.merge(mask_utils.frPyObjects([polygon], size, size))
    mask = mask_utils.decode(rle).astype(bool)
    color = np.clip(np.array(_TINTS[category]) + rng.integers(-30, 31, 3),
                    0, 255)
    image[mask] = color
    instances.append({'category_id': category, 'polygon': polygon,
                      'rle': rle})
  return image.astype(np.uint8), instances


def write_split(output_dir: str, split: str, num_images: int, image_size: int,
                seed: int, first_image_id: int = 1, max_objects: int = 4,
                min_side: int = 24, max_side: int = 96) -> str:
  """Writes `<split>2017/` JPEGs and their COCO JSON; returns the JSON path."""
  rng = np.random.default_rng(seed)
  image_dir = os.path.join(output_dir, f'{split}2017')
  annotation_dir = os.path.join(output_dir, 'annotations')
  os.makedirs(image_dir, exist_ok=True)
  os.makedirs(annotation_dir, exist_ok=True)
  images, annotations = [], []
  for image_id in range(first_image_id, first_image_id + num_images):
    pixels, instances = _draw_image(rng, image_size, max_objects, min_side,
                                    max_side)
    file_name = f'{image_id:012d}.jpg'
    Image.fromarray(pixels).save(os.path.join(image_dir, file_name),
                                 quality=95)
    images.append({'id': image_id, 'file_name': file_name,
                   'height': image_size, 'width': image_size})
    for instance in instances:
      annotations.append({
          'id': len(annotations) + 1,
          'image_id': image_id,
          'category_id': instance['category_id'],
          'segmentation': [instance['polygon']],
          'bbox': [float(v) for v in mask_utils.toBbox(instance['rle'])],
          'area': float(mask_utils.area(instance['rle'])),
          'iscrowd': 0,
      })
  path = os.path.join(annotation_dir, f'instances_{split}2017.json')
  with open(path, 'w') as f:
    json.dump({'info': {'description': 'As-ViT synthetic shapes',
                        'seed': seed},
               'images': images, 'annotations': annotations,
               'categories': list(CATEGORIES)}, f)
  return path


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
  """Writes both splits and their TFRecords; returns their paths.

  The two splits' converters run at the same time: each is mostly a fresh
  interpreter importing TensorFlow and Model Garden.
  """
  if min(num_train, num_val) < 1 or image_size < 128:
    raise errors.UsageError(
        f'num_train={num_train}, num_val={num_val}, image_size={image_size}; '
        'allowed: at least 1 image per split and image_size >= 128')
  counts = {'train': num_train, 'val': num_val}
  paths = {}
  converters = {}
  first_id = 1
  try:
    for offset, split in enumerate(SPLITS):
      annotations = write_split(
          output_dir, split, counts[split], image_size, seed + offset,
          first_image_id=first_id)
      first_id += counts[split]
      prefix = os.path.join(output_dir, 'tfrecords', split)
      os.makedirs(os.path.dirname(prefix), exist_ok=True)
      # A full stderr pipe only pauses its converter until it is read.
      converters[split] = subprocess.Popen(
          converter_command(os.path.join(output_dir, f'{split}2017'),
                            annotations, prefix, num_shards),
          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
      paths[split] = {'annotations': annotations,
                      'tfrecords': f'{prefix}-*-of-{num_shards:05d}.tfrecord'}
    failures = []
    for split, converter in converters.items():
      _, stderr = converter.communicate()
      if converter.returncode:
        failures.append(f'{CONVERTER} failed on {split}:\n{stderr[-2000:]}')
  finally:  # Interrupted: no converter outlives this call.
    for converter in converters.values():
      if converter.poll() is None:
        converter.kill()
        converter.communicate()
  if failures:
    raise RuntimeError('\n'.join(failures))
  return paths
