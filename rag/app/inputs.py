"""The chat's inputs, lenient at the API door.

Gradio converts each input before the event runs, and a value of the wrong type sent to the ``/chat`` API
(``k=None``, ``since="2020"``) failed there: the caller got Gradio's generic "The upstream Gradio app has raised
an exception" and the server log a traceback. These inputs hand such a value on unconverted, and the pipeline's
checks refuse it with their one-line message (``k must be a whole number from 1 to 20, not 'abc'``), as ``/v1``
and ``rag.ask`` do. Their conversion is replaced on the instance: a subclass of a Gradio component makes Gradio
write a ``.pyi`` stub beside the module at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

__all__ = ["answerer_radio", "sources_slider", "whole", "year_number"]

C = TypeVar("C", bound=gr.components.Component)


def whole(value: Any) -> Any:
    """A whole float as an int (sliders and numbers give floats); anything else as it is, for the pipeline's
    checks to accept (None: the default) or refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _converting(component: C, preprocess: Callable[[Any], Any]) -> C:
    vars(component)["preprocess"] = preprocess
    return component


def sources_slider(**kwargs: Any) -> gr.Slider:
    """The number of sources: its value reaches the pipeline as sent (a whole float as an int), whose check
    bounds it (``k=500 is out of range; ask for 1 to 20 papers``)."""
    return _converting(gr.Slider(**kwargs), whole)


def year_number(**kwargs: Any) -> gr.Number:
    """A year filter: a value that is no number reaches the pipeline as sent."""
    number = gr.Number(**kwargs)
    convert = number.preprocess

    def preprocess(payload: Any) -> Any:
        if payload is not None and (isinstance(payload, bool) or not isinstance(payload, int | float)):
            return payload
        return convert(payload)

    return _converting(number, preprocess)


def answerer_radio(**kwargs: Any) -> gr.Radio:
    """The answerer: a name that is no choice is refused in one line, with no traceback in the server's log
    (Gradio's own refusal prints one)."""
    radio = gr.Radio(**kwargs)
    convert = radio.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return convert(payload)
        except gr.Error:
            names = ", ".join(str(value) for _, value in radio.choices)
            raise gr.Error(f"answerer must be one of: {names} (not {payload!r:.60})", print_exception=False) from None

    return _converting(radio, preprocess)
