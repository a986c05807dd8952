"""All imports that register As-ViT with Model Garden's factories."""

# pylint: disable=unused-import
from official.vision import registry_imports
from asvit_tf.configs import backbones
from asvit_tf.modeling import backbone
