"""The launcher: one process per kernel, outside the sandbox. It builds the bubblewrap sandbox
(``sandbox_layout``), starts the kernel in it (``sandbox``) and watches its memory
(``memory_watch``). It holds no secret and decides nothing.
"""
