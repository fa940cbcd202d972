"""Exports of format-v1 datasets to the papers' released layouts, and imports of those layouts.

    from datagen.export import export_looking3d, import_looking3d
    export_looking3d("ds/", "bc_like/", query_size=512)      # BrokenChairs-180K layout (Looking 3D)
    import_looking3d("/data/BrokenChairs", "ds_real/")        # the released layout -> format v1
    export_oddoneout("ds/", "parts_like/")                   # ToysAD / PartsAD layout (Odd-One-Out)

Modules: ``looking3d_layout`` (names, frames, type words, the loader's box check), ``looking3d_views``
(reference views: points, visibility, pxy, xyz, cameras), ``looking3d`` (export), ``looking3d_import``,
``looking3d_check`` (every requirement of the released layout, checked on an export's files);
``oddoneout_layout`` (scene names, type tokens, metadata) and ``oddoneout`` (export).
"""

from datagen.export.looking3d import export_looking3d
from datagen.export.looking3d_import import import_looking3d
from datagen.export.oddoneout import export_oddoneout

__all__ = ["export_looking3d", "export_oddoneout", "import_looking3d"]
