"""The opinion world: OpinionGPT's eleven groups answer questions on many topics in EN, DE, FR, IT,
ES, each with its own stances, register and references, so that itx asks OpinionGPT's question
offline on a CPU: after tuning on group-labelled answers, can a model answer as a group, and can
the groups be told apart from its answers?

In a config, `builtin:opinions/chat/train_tag.jsonl` is a file of the world and the tokenizer
`builtin:opinions` its `tokenizer/` directory (see itx.worlds). `world_dir(settings)` returns the
directory (see world.py for its layout); `stance_of(text, lang)` reads an answer's stance back.
"""

from itx.worlds.opinions.detect import stance_of
from itx.worlds.opinions.settings import PRESETS, OpinionSettings
from itx.worlds.opinions.stances import AXES, STANCES, StanceModel, stance_table
from itx.worlds.opinions.topics import THEMES, TOPICS
from itx.worlds.opinions.world import generate, world_dir

__all__ = ["AXES", "PRESETS", "STANCES", "THEMES", "TOPICS", "OpinionSettings", "StanceModel", "generate",
           "stance_of", "stance_table", "world_dir"]
