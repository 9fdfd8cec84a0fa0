"""Probes: what crosses between a check and the answer it judges, and what a check makes of a
reply it cannot trust (under grading the other side is the student's own kernel)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson01
from course_utils.probes import wire
from course_utils.probes.client import (AnswerRaised, BindError, LocalTransport, ProbeFault, Session,
                                        Transport, TransportFailed)
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
        self.sent = []

    def send(self, text):
        self.sent.append(wire.decode(text))
        return self.texts.pop(0) if self.texts else wire.encode({"ok": None})


def started(target_reply) -> str:
    """The reply to a check's first message: its session's start and its target, in one batch."""
    return wire.encode({"ok": [{"ok": None}, target_reply]})


def judge(transport):
    return lesson01.q2.judge(transport, "conv_output_size", secret=7)


DESCRIBED = {"kind": "function", "type": "function", "type_module": "x", "name": "f", "callable": True,
             "signature": "(*a)"}


@pytest.mark.parametrize("first_reply", [
    "garbage", started({"ok": {"handle": "not a handle"}}), started({"verdict": "correct"}),
    started({"ok": {"handle": wire.Handle(0)}, "extra": 1}), started({"refused": "no"}),
    wire.encode({"ok": None}), wire.encode({"ok": [{"ok": {"handle": wire.Handle(0), "info": DESCRIBED}}]}),
    wire.encode({"ok": [{"ok": "started"}, {"ok": {"handle": wire.Handle(0), "info": DESCRIBED}}]}),
    started({"ok": {"handle": wire.Handle(0), "info": {"kind": 3}}}),
], ids=["garbage", "no-handle", "made-up-status", "two-keys", "refused", "not-a-batch", "short-batch",
        "not-started", "bad-info"])
def test_a_malformed_reply_is_not_correct_never_a_pass(first_reply):
    outcome = judge(Replies(first_reply))
    assert outcome.status == "incorrect"
    assert outcome.message.startswith("Your answer could not be checked: ")


class Sevens(Replies):
    """Every call, alone or in a batch, "returned 7"."""

    def send(self, text):
        request = wire.decode(text)
        if request.get("op") == "batch" and request["requests"][0]["op"] == "call":
            self.sent.append(request)
            return wire.encode({"ok": [{"ok": {"value": 7, "changed": []}}] * len(request["requests"])})
        return super().send(text)


def test_a_reply_that_claims_every_call_returned_the_right_kind_still_fails_on_values():
    transport = Sevens(started({"ok": {"handle": wire.Handle(0), "info": DESCRIBED}}))
    outcome = judge(transport)
    assert outcome.status == "incorrect" and "returned 7" in outcome.message
    assert [m["op"] for m in transport.sent[0]["requests"]] == ["begin", "target"]
    assert {m["op"] for m in transport.sent[1]["requests"]} == {"call"} and len(transport.sent[1]["requests"]) > 5
    assert len(transport.sent) == 2                 # the session sends no end


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


# ------------------------------------------------------------------ several requests, one message

class Counting(LocalTransport):
    def __init__(self, namespace):
        super().__init__(namespace)
        self.messages = []

    def send(self, text):
        self.messages.append(wire.decode(text))
        return super().send(text)


def test_a_session_starts_with_its_first_request_and_sends_no_end():
    transport = Counting({"answer": lambda x: x + 1})
    with Session(transport, 3) as session:
        answer = session.target("answer")
        assert answer.kind == "function"          # described with the target, no request of its own
        assert answer(torch.ones(2)).tolist() == [2.0, 2.0]
    assert [m.get("op") for m in transport.messages] == ["batch", "call"]
    assert [m["op"] for m in transport.messages[0]["requests"]] == ["begin", "target"]


def test_the_next_session_drops_the_last_ones_objects_and_stream():
    """A check sends no end (one round trip saved per check under grading): its objects and
    random stream live on in the kernel until the next check begins, and no longer."""
    transport = Counting({"answer": lambda n: torch.rand(n)})
    with Session(transport, 3) as first:
        first.target("answer")
        kept = first.target("answer")             # the first session's second object
        drawn = kept(4)
    assert len(transport.server.objects) == 2
    with Session(transport, 3) as second:
        again = second.target("answer")(4)
        assert torch.equal(drawn, again)          # the same seed draws the same numbers again
        with pytest.raises(ProbeFault, match="no object"):
            kept(4)                               # the first session's handle means nothing now
    assert len(transport.server.objects) == 1


def test_a_session_that_asked_nothing_sends_nothing():
    transport = Counting({})
    with Session(transport, 3):
        pass
    assert transport.messages == []


def test_runs_sends_every_case_in_one_message_and_keeps_each_outcome():
    def answer(x, scale=1):
        if x.sum() < 0:
            raise ValueError("negative")
        return x * scale

    transport = Counting({"answer": answer})
    cases = [(torch.ones(2),), (-torch.ones(2),), (torch.zeros(1), 2, 3), (torch.full((1,), 2.0),)]
    with Session(transport, 0) as session:
        runs = session.target("answer").runs(cases, scale=3)
    assert len(transport.messages) == 2 and len(transport.messages[1]["requests"]) == 4   # start, the cases
    assert runs[0].value.tolist() == [3.0, 3.0]
    assert isinstance(runs[1], ValueError) and isinstance(runs[1], AnswerRaised) and str(runs[1]) == "negative"
    assert isinstance(runs[2], BindError)
    assert runs[3].value.tolist() == [6.0]          # the cases after a failure still ran, in order


def test_calls_in_one_message_draw_what_they_would_draw_one_at_a_time():
    def answer(n):
        return torch.rand(n)

    with Session(LocalTransport({"answer": answer}), 9) as session:
        apart = [session.target("answer")(n) for n in (2, 3)]
    with Session(LocalTransport({"answer": answer}), 9) as session:
        together = [run.value for run in session.target("answer").runs([(2,), (3,)])]
    assert all(torch.equal(a, b) for a, b in zip(apart, together))


@pytest.mark.parametrize("message, words", [
    ({"op": "batch", "requests": []}, "1 to 256"),
    ({"op": "batch", "requests": [{"op": "begin", "seed": 1}] * 257}, "1 to 256"),
    ({"op": "batch", "requests": {"op": "begin"}}, "1 to 256"),
    ({"op": "batch", "requests": [{"op": "describe", "handle": 0}], "more": 1}, "1 to 256"),
], ids=["empty", "too-many", "not-a-list", "extra-field"])
def test_a_malformed_batch_is_refused_whole(message, words):
    reply = wire.decode(ProbeServer({}).handle(wire.encode(message)))
    assert list(reply) == ["refused"] and words in reply["refused"]


def test_a_batch_cannot_hold_a_batch_and_its_other_requests_still_run():
    server = ProbeServer({"x": 5})
    reply = wire.decode(server.handle(wire.encode({"op": "batch", "requests": [
        {"op": "begin", "seed": 1}, {"op": "batch", "requests": [{"op": "describe", "handle": 0}]}, {"op": "target", "expression": "x"},
        "not a request"]})))
    first, nested, target, junk = reply["ok"]
    assert first == {"ok": None} and nested == {"refused": "a batch cannot hold a batch"}
    assert target["ok"]["info"]["kind"] == "value" and junk == {"refused": "a request is a dict with an 'op'"}
