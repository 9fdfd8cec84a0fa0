"""Probes: how a check reaches an answer without holding it.

``client`` is the check's side (an ``Answer`` handle, ``Session``, what the answer raised),
``server`` the answer's side (acts on the real objects), ``wire`` what crosses between them
(plain data as JSON text, tensors as raw bytes; never pickle). In a notebook both sides share
one process; under grading the server runs in the student's kernel and the check in the
grader's process, so no student code runs where a grade is decided (docs/grading.md).
"""
