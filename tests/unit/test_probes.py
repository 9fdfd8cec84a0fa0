"""Probes: what crosses between a check and the answer it judges, and what a check makes of a
reply it cannot trust (under grading the other side is the student's own kernel)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson01
from course_utils.probes import wire
from course_utils.probes.client import (AnswerRaised, LocalTransport, ProbeFault, Session, Transport,
                                        TransportFailed)
from course_utils.probes.server import ProbeServer


# ------------------------------------------------------------------ the wire

@pytest.mark.parametrize("value", [
    None, True, 0, -3, 2**70, 1.5, float("inf"), "text", [1, "a"], (1, (2, 3)), {"a": [1, {"b": None}]},
    torch.randn(3, 4), torch.tensor(2.5, dtype=torch.float64), torch.zeros(0, 5), torch.tensor([True, False]),
    torch.arange(6, dtype=torch.int32).reshape(2, 3), torch.randn(2).to(torch.bfloat16), wire.Handle(4),
], ids=lambda v: type(v).__name__)
def test_plain_values_cross_unchanged(value):
    back = wire.decode(wire.encode(value))
    if isinstance(value, torch.Tensor):
        assert back.dtype == value.dtype and back.shape == value.shape and torch.equal(back, value)
    else:
        assert back == value and type(back) is type(value)


def test_nan_crosses():
    assert wire.decode(wire.encode(float("nan"))) != wire.decode(wire.encode(float("nan")))


@pytest.mark.parametrize("value", [object(), b"bytes", {1: "int key"}, torch.zeros(2, dtype=torch.complex64),
                                   nn.Linear(2, 2)], ids=["object", "bytes", "int-key", "complex", "module"])
def test_anything_else_is_refused_on_the_way_out(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


TENSOR = {"dtype": "float32", "shape": [2], "data": "AACAPwAAAEA="}


@pytest.mark.parametrize("text, words", [
    ("{not json", "not JSON"),
    (json.dumps({"$pickle": "gASV"}), "unknown tag"),
    (json.dumps({"$tuple": [], "$dict": []}), "exactly one tag"),
    (json.dumps({"$tensor": dict(TENSOR, dtype="object")}), "known dtype"),
    (json.dumps({"$tensor": dict(TENSOR, shape=[3])}), "does not fit"),
    (json.dumps({"$tensor": dict(TENSOR, shape=[-1, -2])}), "bad tensor shape"),
    (json.dumps({"$tensor": dict(TENSOR, data="***")}), "not base64"),
    (json.dumps({"$tensor": dict(TENSOR, code="import os")}), "dtype, a shape and its data"),
    (json.dumps({"$handle": -1}), "unknown tag"),
    (json.dumps({"$dict": [[1, 2]]}), "dict entry"),
    ("[" * 40 + "]" * 40, "nested too deeply"),
    ('"' + "x" * (wire.MAX_TEXT + 1) + '"', "characters"),
], ids=["json", "pickle", "two-tags", "dtype", "size", "shape", "base64", "extra-field", "handle",
        "dict", "deep", "long"])
def test_malformed_messages_are_refused_on_the_way_in(text, words):
    with pytest.raises(wire.WireError, match=words):
        wire.decode(text)


# ------------------------------------------------------------------ a reply the check cannot trust

class Replies(Transport):
    """The answer's side as a liar: every request gets the next of these texts."""

    def __init__(self, *texts):
        self.texts = list(texts)

    def send(self, text):
        return self.texts.pop(0) if self.texts else wire.encode({"ok": None})


def judge(transport):
    return lesson01.q2.judge(transport, "conv_output_size", secret=7)


@pytest.mark.parametrize("target_reply", [
    "garbage", wire.encode({"ok": {"handle": "not a handle"}}), wire.encode({"verdict": "correct"}),
    wire.encode({"ok": {"handle": wire.Handle(0)}, "extra": 1}), wire.encode({"refused": "no"}),
], ids=["garbage", "no-handle", "made-up-status", "two-keys", "refused"])
def test_a_malformed_reply_is_not_correct_never_a_pass(target_reply):
    outcome = judge(Replies(wire.encode({"ok": None}), target_reply))
    assert outcome.status == "incorrect"
    assert outcome.message.startswith("Your answer could not be checked: ")


def test_a_reply_that_claims_every_call_returned_the_right_kind_still_fails_on_values():
    describe = wire.encode({"ok": {"kind": "function", "type": "function", "type_module": "x", "name": "f",
                                   "callable": True, "signature": "(*a)"}})
    calls = [wire.encode({"ok": {"value": 7, "changed": []}})] * 40
    outcome = judge(Replies(wire.encode({"ok": None}), wire.encode({"ok": {"handle": wire.Handle(0)}}),
                            describe, *calls))
    assert outcome.status == "incorrect" and "returned 7" in outcome.message


class Silent(Transport):
    def send(self, text):
        raise TransportFailed("time-out", "timed out after 1 s")


def test_a_side_that_stops_answering_is_a_fault_for_the_grader_not_a_verdict():
    with pytest.raises(TransportFailed):
        judge(Silent())


# ------------------------------------------------------------------ the answer's side

def test_what_the_answer_raised_keeps_its_builtin_type_and_words():
    def answer(size, *args):
        return {}["zz"]

    with Session(LocalTransport({"answer": answer}), 0) as session:
        handle = session.target("answer")
        with pytest.raises(KeyError) as raised:
            handle(3)
    assert isinstance(raised.value, AnswerRaised) and str(raised.value) == "'zz'"
    assert raised.value.location["function"] == "answer"


def test_the_answer_draws_from_its_own_stream_and_leaves_the_student_s_alone():
    def answer():
        return torch.rand(3)

    torch.manual_seed(123)
    torch.rand(10), torch.rand(10)
    expected = torch.random.get_rng_state()      # this process's stream after the check's draws
    torch.manual_seed(123)
    draws = []
    for _ in range(2):
        with Session(LocalTransport({"answer": answer}), 5) as session:
            torch.rand(10)           # the check draws too: it must not move the answer's stream
            draws.append(session.target("answer")())
    assert torch.equal(draws[0], draws[1])
    assert torch.equal(torch.random.get_rng_state(), expected)   # the answer's draws moved nothing


def test_a_subclass_s_behaviour_never_reaches_the_reply():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.equal):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    class LyingInt(int):
        def __eq__(self, other):
            return True
        __hash__ = int.__hash__

    server = ProbeServer({"t": torch.zeros(2).as_subclass(Liar), "n": LyingInt(7)})
    for name, expected in (("t", torch.zeros(2)), ("n", 7)):
        handle = wire.decode(server.handle(wire.encode({"op": "target", "expression": name})))["ok"]["handle"]
        value = wire.decode(server.handle(wire.encode({"op": "describe", "handle": handle})))["ok"]["value"]
        assert type(value) is type(expected) and (torch.equal(value, expected) if name == "t" else value == 7)


def test_only_library_and_course_objects_can_be_built_on_the_answer_s_side():
    server = ProbeServer({})
    reply = wire.decode(server.handle(wire.encode({"op": "build", "name": "os:system", "args": ["true"]})))
    assert "refused" in reply and "not buildable" in reply["refused"]
    reply = wire.decode(server.handle(wire.encode({"op": "build", "name": "torch.nn:Linear", "args": [2, 3]})))
    assert type(reply["ok"]) is wire.Handle
