"""``hwcloud``: a command-line front end on the toolkit, for CI pipelines (Jenkins, shell scripts).

Every command prints one JSON document on stdout, progress on stderr when it is a terminal, and exits
with a code that says what failed (:mod:`.exits`). ``main`` parses the arguments; one module per service
group (``obs``, ``obs_transfers``, ``smn``, ``functiongraph``, ``dli``, ``dws``, ``csms``) declares its
commands and runs them on the toolkit. The SDKs are imported by the command that needs them, never at
start-up: ``hwcloud --version`` loads none.
"""
