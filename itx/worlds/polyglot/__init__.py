"""The polyglot world: a small, fully generated multilingual world (EN, DE, FR, IT, ES) written in
the layouts of the multilingual study's real datasets, so that itx asks the study's question
offline on a CPU: does a model pre-trained on many languages follow instructions in all of them
after instruction tuning in one language, or only after parallel multilingual tuning?

In a config, `builtin:polyglot/limax/train_limax_EN.jsonl` is a file of the world and the tokenizer
`builtin:polyglot` its `tokenizer/` directory (see itx.worlds). `world_dir(settings)` returns the directory (see
world.py for its layout). `itx stats --world=polyglot` prints the corpus statistics.
"""

from itx.worlds.polyglot.families import FAMILIES
from itx.worlds.polyglot.layouts import COMPOSITIONS, SYSTEM_MESSAGES
from itx.worlds.locale_data import LANGS
from itx.worlds.polyglot.settings import PRESETS, PolyglotSettings
from itx.worlds.polyglot.world import generate, world_dir

__all__ = ["COMPOSITIONS", "FAMILIES", "LANGS", "PRESETS", "SYSTEM_MESSAGES", "PolyglotSettings", "generate",
           "world_dir"]
