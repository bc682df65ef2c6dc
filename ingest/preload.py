"""Imported by the pool's fork server only: loads what every extraction worker needs, once.

Workers are forked from the fork server, so what it holds they share page by page until they write
to it. The language model (fastText's compact model, about 1 MB, and the libraries around it) is
loaded here instead of in each worker: the machine holds one copy, and no worker loads its own.
"""

from ingest.langid import warm
from ingest.lifeline import die_with_parent

die_with_parent()  # the fork server ends with the service; its workers end with it (see cpu.py)
warm()
