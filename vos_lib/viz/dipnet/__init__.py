"""Figures for Part III (DIPNet), one module per chapter: ``identity`` (ch. 7),
``propagation`` (ch. 8), ``instances`` (ch. 9), ``embedding`` (ch. 10), ``ablations``
(ch. 11), ``compare`` (ch. 12).  Each module lists its public names in ``__all__``."""
from .identity import *  # noqa: F401,F403
from .propagation import *  # noqa: F401,F403
from .instances import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .ablations import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
