"""Predict, then reveal: the student commits to an answer before seeing the result.

Committing first is the point: a prediction that turns out wrong is remembered far better
than an explanation read passively. So the Reveal button stays disabled until an option is
chosen, and the options are locked once the answer is revealed.
"""

import html
import re

import ipywidgets as widgets

from ._output import guarded


def _inline_html(text):
    """Escape ``text`` and turn `backticks` into <code> so questions can name code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))


class PredictWidget(widgets.VBox):
    """A question, radio buttons, a Reveal button and the feedback shown after revealing.

    Attributes used by tests and lessons: ``choice`` (RadioButtons), ``reveal_button``,
    ``feedback`` (HTML, empty until revealed), ``output`` (Output: errors land here),
    ``revealed``, ``correct`` (None until revealed), ``last_error``.
    """

    def __init__(self, question, options, answer, explanation):
        options = [str(option) for option in options]
        if len(options) < 2:
            raise ValueError("predict() needs at least two options to choose from")
        if str(answer) not in options:
            raise ValueError(f"predict(): answer {answer!r} is not one of the options {options}")
        self.question = str(question)
        self.options = options
        self.answer = str(answer)
        self.explanation = str(explanation)
        self.revealed = False
        self.correct = None
        self.last_error = None

        self.question_label = widgets.HTML(f"<b>Predict:</b> {_inline_html(question)}")
        self.choice = widgets.RadioButtons(
            options=options, value=None, layout=widgets.Layout(width="max-content")
        )
        self.reveal_button = widgets.Button(
            description="Reveal", disabled=True, button_style="info",
            tooltip="Choose an option first",
        )
        self.feedback = widgets.HTML("")
        self.output = widgets.Output()
        super().__init__(
            [self.question_label, self.choice, self.reveal_button, self.feedback, self.output]
        )
        self.add_class("course-predict")

        @guarded(self, self.output)
        def on_choice(change):
            self.reveal_button.disabled = change["new"] is None or self.revealed

        @guarded(self, self.output)
        def on_reveal(_button):
            self.reveal()

        self.choice.observe(on_choice, names="value")
        self.reveal_button.on_click(on_reveal)

    def reveal(self):
        """Show whether the chosen option was right, and the explanation."""
        if self.choice.value is None:
            raise RuntimeError("choose an option before revealing")
        self.revealed = True
        self.correct = self.choice.value == self.answer
        self.choice.disabled = True
        self.reveal_button.disabled = True
        if self.correct:
            verdict = f"&#10004; Right: <b>{_inline_html(self.answer)}</b>."
            colour = "#1b5e20"
        else:
            verdict = (
                f"&#10008; Not quite: you chose <b>{_inline_html(self.choice.value)}</b>; "
                f"the answer is <b>{_inline_html(self.answer)}</b>."
            )
            colour = "#b00020"
        self.feedback.value = (
            f'<div class="course-predict-feedback"><span style="color:{colour}">{verdict}</span>'
            f"<br>{_inline_html(self.explanation)}</div>"
        )

    @property
    def feedback_text(self):
        """The feedback without HTML tags (what a test or a screen reader reads)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.feedback.value.replace("<br>", "\n")))

    def _repr_mimebundle_(self, **kwargs):
        """Keep the widget view, but give a readable text fallback (static renders, nbval)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        lines = [f"Predict: {self.question}"] + [f"  ( ) {option}" for option in self.options]
        bundle["text/plain"] = "\n".join(lines)
        return bundle


def predict(question, options, answer, explanation):
    """A predict-then-reveal question; ``answer`` is the correct option (a string)."""
    return PredictWidget(question, options, answer, explanation)
