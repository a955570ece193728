"""Waits on the model worker's output, each with a deadline, for scripts that drive jobs by
hand: they wake when the worker sends a line rather than after a fixed sleep."""

import time


def wait_for_news(job, deadline):
    """Wait until the job's next step has something to do: at once when it has ended or holds
    an answer to apply, else when the worker sends its next line (or at `deadline`, a
    time.monotonic() value)."""
    if job is None or job.state != "RUNNING" or (job.applying and job.message == job.applying):
        return
    job.client.wait_for_news(deadline - time.monotonic())


def next_messages(client, wanted, timeout=60.0):
    """The worker's messages that `wanted` accepts, from the first poll that has any; [] when
    none came within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        found = [message for message in client.poll(timeout=max(remaining, 0.0))
                 if wanted(message)]
        if found or remaining <= 0:
            return found
