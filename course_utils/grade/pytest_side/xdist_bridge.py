"""The one reliance of the grading plugin on pytest-xdist's internals, with its own test.

A worker of pytest-xdist is told its notebooks a few at a time (``--dist loadfile`` keeps the
current notebook and the next one queued), so at collection it cannot know which kernels to
start ahead. What it has been told but not yet run is in its ``WorkerInteractor`` (xdist 3.x,
``xdist.remote``): ``torun``, a queue of item indices with a ``lock()`` that yields the deque,
and ``session.items``. ``queued_items`` reads them, and nothing else of xdist.

``tests/grading/test_xdist_bridge.py`` asserts these exist and mean what this module takes
them to mean, so an xdist upgrade that moves one fails there, by name.
"""

from __future__ import annotations


def _interactor(config):
    for plugin in config.pluginmanager.get_plugins():
        if type(plugin).__name__ == "WorkerInteractor" and hasattr(plugin, "torun"):
            return plugin
    return None


def queued_items(config) -> list:
    """The items this xdist worker has been given and not started yet, in order; [] outside
    a worker or where xdist's internals are not what this module knows."""
    interactor = _interactor(config)
    session = getattr(interactor, "session", None)
    if interactor is None or session is None:
        return []
    try:
        with interactor.torun.lock() as queued:
            indices = [index for index in queued if isinstance(index, int)]
        following = getattr(interactor, "nextitem_index", None)
    except (AttributeError, TypeError):
        return []
    if isinstance(following, int):
        indices.insert(0, following)
    items = session.items
    return [items[index] for index in indices if 0 <= index < len(items)]
