"""Spec builders: pure functions from (job, shapes, config) to the SceneSpecs a job renders.

One module per kind of render:

- ``looking3d``: reference views and query renders of one shape (normal / anomalous, with the
  visibility stage of anomalies as its own cheap index spec);

Builders draw every random choice in Python (``sampling``: views, cameras, lighting,
materials and their per-object placement) from generators seeded by the job seed, and return
``bundle.SceneBundle``s (a spec plus its meshes, in memory). Running jobs, rendering and
writing results is ``datagen.jobs``; the same config and seed give byte-identical specs.
"""
