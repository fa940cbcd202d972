"""The generator's version: written into every dataset, shape library and export it makes
(``generator_version``), and printed by ``datagen --version``. Keep it equal to ``version`` in
pyproject.toml."""

__version__ = "0.2.0"
