"""Waits on the model worker's output, each with a deadline, for scripts that drive jobs by
hand: they wake when the worker sends a line rather than after a fixed sleep."""

import time


def wait_for_worker(client, timeout):
    """Block until the worker has sent a line that poll() has not read yet, or until `timeout`
    seconds have passed; whether one came. Unlike poll(timeout), it leaves the line for the
    job that polls next."""
    # The client's reader threads put every line on this queue; its condition wakes a waiter
    # on each put, so waiting on it costs no time once the line is there.
    events = client._events
    with events.not_empty:
        return events.not_empty.wait_for(lambda: len(events.queue) > 0, max(timeout, 0.0))


def wait_for_news(job, deadline):
    """Wait until the job's next step has something to do: at once when it has ended or holds
    an answer to apply, else when the worker sends its next line (or at `deadline`, a
    time.monotonic() value)."""
    if job is None or job.state != "RUNNING" or (job.applying and job.message == job.applying):
        return
    wait_for_worker(job.client, deadline - time.monotonic())


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
