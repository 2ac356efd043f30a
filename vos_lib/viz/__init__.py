"""The book's figures: ``book`` (page style, glue, tables), ``common`` (every
chapter), ``data`` (Part I), ``dtn`` (Part II), ``dipnet`` (Part III, a module per chapter).

Everything is re-exported here, so a chapter writes ``from vos_lib import viz`` and
``viz.gallery(...)``.
"""
from .book import *  # noqa: F401,F403
from .common import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .dtn import *  # noqa: F401,F403
from .dipnet import *  # noqa: F401,F403
from .data import EVENT_COLORS, MASK_DIFF_COLORS  # noqa: F401
from .dtn import ANCHOR_RATIO_STYLES, ANCHOR_SCALE_COLORS, ROUTE_COLORS  # noqa: F401
