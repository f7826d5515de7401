"""The polyglot world: a small, fully generated multilingual world (EN, DE, FR, IT, ES) written in
the layouts of the multilingual study's real datasets, so that itx asks the study's question
offline on a CPU: does a model pre-trained on many languages follow instructions in all of them
after instruction tuning in one language, or only after parallel multilingual tuning?

Importing this package registers the built-in world `builtin:polyglot`: in a config,
`builtin:polyglot/limax/train_limax_EN.jsonl` is a file of the world and the tokenizer
`builtin:polyglot` its `tokenizer/` directory. `world_dir(settings)` returns the directory (see
world.py for its layout). `python -m itx.data.polyglot.stats` prints the corpus statistics.
"""

from itx.data import builtin
from itx.data.polyglot.families import FAMILIES
from itx.data.polyglot.layouts import COMPOSITIONS, SYSTEM_MESSAGES
from itx.data.polyglot.locale_data import LANGS
from itx.data.polyglot.settings import PRESETS, PolyglotSettings
from itx.data.polyglot.world import generate, world_dir

builtin.register("polyglot", world_dir)

__all__ = ["COMPOSITIONS", "FAMILIES", "LANGS", "PRESETS", "SYSTEM_MESSAGES", "PolyglotSettings", "generate",
           "world_dir"]
