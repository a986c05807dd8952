"""All imports that register As-ViT with Model Garden's factories."""

# pylint: disable=unused-import
from official.vision import registry_imports
from asvit_tf.configs import backbones
from asvit_tf.modeling import backbone
from asvit_tf.configs import image_classification
from asvit_tf.tasks import image_classification as image_classification_task
