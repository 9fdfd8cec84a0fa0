"""Writing into a widget's output area, and showing errors there.

Why not ``with out:``? Capturing through the kernel works in JupyterLab but captures nothing
in plain pytest, so the unit tests could not read what a callback drew. Writing the output
list directly (``out.outputs = ...``) works in both places and is what the browser shows.

Why catch errors at all? An exception raised inside a widget callback never reaches the
notebook in JupyterLab: it goes to a log console nobody opens, and the widget just looks
frozen. ``guarded`` shows a short message and the traceback in the widget's own output area
and keeps the exception on ``owner.last_error`` so tests can assert on it.
"""

import functools
import html
import traceback

ERROR_TITLE = "This widget's update failed"


def display_item(obj):
    """The output-area item IPython would produce for ``obj`` (as ``display(obj)`` does)."""
    from IPython.core.interactiveshell import InteractiveShell

    data, metadata = InteractiveShell.instance().display_formatter.format(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def show(out, *objects):
    """Replace what ``out`` shows by ``objects`` in one step.

    One assignment, so the browser never sees an empty area between two drawings (it would
    flicker, and a test waiting for a change would see the empty state as the change).
    """
    out.outputs = tuple(display_item(obj) for obj in objects)


def show_text(out, text):
    """Replace what ``out`` shows by plain text (rendered as a monospace block)."""
    out.outputs = ({"output_type": "stream", "name": "stdout", "text": text},)


def error_message(exc):
    """One line a student can read: the title, the exception type and its message."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{ERROR_TITLE}: {type(exc).__name__}: {first_line}"


def show_error(out, exc):
    """Show a short message, then the traceback, in ``out`` (instead of a stale drawing)."""
    message = error_message(exc)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    out.outputs = (
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                "text/plain": message,
                "text/html": (
                    '<div class="course-widget-error" style="color:#b00020;font-weight:bold">'
                    f"&#9888; {html.escape(message)}</div>"
                ),
            },
        },
        {"output_type": "stream", "name": "stderr", "text": tb},
    )


def guarded(owner, out):
    """Decorator for callbacks: exceptions are displayed in ``out`` and kept on ``owner``."""

    def decorate(callback):
        @functools.wraps(callback)
        def wrapper(*args, **kwargs):
            owner.last_error = None
            try:
                return callback(*args, **kwargs)
            except Exception as exc:  # shown to the student, kept for tests: not swallowed
                owner.last_error = exc
                show_error(out, exc)
                return None

        return wrapper

    return decorate


def shown_text(out):
    """Everything ``out`` currently shows, as plain text (what tests assert on)."""
    parts = []
    for item in out.outputs:
        if item.get("output_type") == "stream":
            parts.append(item.get("text", ""))
        else:
            data = item.get("data", {})
            parts.append(str(data.get("text/plain", "")))
    return "\n".join(parts)
