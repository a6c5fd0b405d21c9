"""Fine-tuning and model import: CTranslate2 Whisper folders rebuilt as Hugging Face checkpoints.

Everything that needs PyTorch or transformers imports them inside functions and raises
`MissingDependencyError` naming the `train` extra when they are missing.
"""

from yuyin.train.importer import (
    Ct2Model,
    Ct2Variable,
    cached_import,
    import_ctranslate2_whisper,
    read_ct2_model,
)

__all__ = [
    "Ct2Model",
    "Ct2Variable",
    "cached_import",
    "import_ctranslate2_whisper",
    "read_ct2_model",
]
