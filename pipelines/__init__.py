"""Declarative batch pipelines over many simulations (installed as ``trajml.pipelines``).

The YAML pipeline format, its runner and the results store land with the
batch-pipeline work; this package holds them.
"""
