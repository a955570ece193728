"""Every modality as tokens of one vocabulary: text (MiniLM WordPiece), audio units, part codes.

Kept light: importing this package loads neither torch nor transformers; the text tokenizer imports
transformers only when it is loaded.
"""

from core.tokenizers.text import TextTokenizer, minilm_dir
from core.tokenizers.vocabulary import SPECIAL_TOKENS, TASKS, Vocabulary

__all__ = ["SPECIAL_TOKENS", "TASKS", "TextTokenizer", "Vocabulary", "minilm_dir"]
