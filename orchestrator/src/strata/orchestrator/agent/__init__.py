"""``strata ask``: the agent that composes the servers (the rest of the package manages and registers servers).

trace.py runs the request as a state machine over the event thread (thread.py); toolbox.py makes its MCP calls;
connect.py picks the servers it talks to; codemod.py makes the edits; testrun.py runs the repo's tests; render.py
shows it in a terminal; prompts/ holds the plan and edit prompts. "12-Factor #N" in docstrings cites the factors of
https://github.com/humanlayer/12-factor-agents.
"""
