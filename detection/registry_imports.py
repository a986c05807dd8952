"""Imports that register As-ViT and its detection experiment with Model Garden."""

# pylint: disable=unused-import
from asvit_tf import registry_imports
from detection import configs
from detection import task
