"""The model worker: a separate process that keeps the model loaded and serves the add-on by pipes.

Started by the Blender add-on (blender_addon/runtime.py) as `python -m core.worker` with the folder
that holds `core/` on PYTHONPATH. No network port: JSON lines on stdin/stdout, bulk arrays in .npz
files whose paths travel in the JSON (the client owns a private temporary folder for them).

The protocol (requests, events, error kinds) is defined in core/shared/protocol.py, which the
add-on shares. This module answers requests one at a time; the rest of the worker is:

    worker_inbox.py     requests in: the stdin reader thread, malformed lines, cancels
    worker_channel.py   protocol lines out, and whether a result can be sent at all
    worker_handlers.py  what each request type does (hello, load, generate, predict_emotion)
    worker_fields.py    a request's fields, checked
    worker_audio.py     a generate request's audio: tracks decoded and mixed, or a samples npz
    worker_npz.py       the npz files read and written (motions, as core/shared/motion_files.py)
    worker_model.py     the loaded model, kept between requests
    worker_errors.py    RequestError and Cancelled

Hostile input never silences the worker: a request line must be UTF-8 JSON of at most
MAX_REQUEST_BYTES bytes (else a protocol error, and the next line is read as usual); clips last
at most MAX_CLIP_SECONDS; a result that cannot be sent (a NaN in it, say) becomes an error answer;
and should the request reader itself ever fail, the worker answers what it holds and exits, so
the client sees it stop and starts a new one rather than waiting on a deaf worker.

Errors never carry a traceback: after an internal error the traceback goes to stderr, which the
add-on logs.

Anything a library prints goes to stderr: stdout is re-pointed there at start, and protocol
lines are written to a private duplicate of the original stdout.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NoReturn

if __name__ == "__main__" and not __package__:
    # Run as a file (`python <extension>/core/worker.py`): Python put core/ itself first on
    # sys.path, where core/tokenizers would shadow Hugging Face's `tokenizers` package. The folder
    # that holds core/ belongs there instead; this must happen before numpy or core is imported.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

from core.errors import BodyLanguageError  # noqa: E402
from core.shared.protocol import ready_message  # noqa: E402
from core.worker_channel import Channel, protect_stdout, result_line  # noqa: E402
from core.worker_errors import Cancelled, RequestError  # noqa: E402
from core.worker_handlers import HANDLERS, Context, Reporter  # noqa: E402
from core.worker_inbox import Inbox, read_requests  # noqa: E402
from core.worker_model import ModelSlot  # noqa: E402


def answer(request: Mapping[str, Any], context: Context) -> None:
    """Run one request and send its result or error; never raises."""
    request_id = request["id"]
    report = Reporter(context, request_id)
    try:
        report.check()
        data = HANDLERS[request["type"]](request, context, report)
        report.check()
        # Encoding is part of answering: a result that cannot be sent must become an error.
        line = result_line(request, data)
    except Cancelled:
        if context.inbox.failure is not None:
            context.channel.error(request_id, context.inbox.failure, "internal")
        else:
            context.channel.error(request_id, "cancelled", "cancelled")
    except RequestError as exc:
        context.channel.error(request_id, str(exc), exc.kind)
    except BodyLanguageError as exc:  # bad input found deep in core: the message names it
        context.channel.error(request_id, str(exc), "input")
    except Exception as exc:  # a bug: keep serving, show the traceback in the log
        traceback.print_exc(file=sys.stderr)
        context.channel.error(
            request_id, f"internal error in the worker: {type(exc).__name__}: {exc} "
            "(the traceback is in the worker log)", "internal")
    else:
        context.channel.write_line(line)
    finally:
        context.inbox.forget(request_id)


def serve(stdin: IO[bytes], channel: Channel) -> int:
    """Answer requests until `shutdown` or EOF on stdin; 1 when the request reader failed.

    stdin is read as bytes: a line that is not UTF-8 must be answered, not kill the reader.
    """
    context = Context(channel, Inbox(), ModelSlot())
    # "ready" goes first, before the reader could answer a malformed line.
    channel.send(ready_message(os.getpid()))
    reader = threading.Thread(target=read_requests, args=(stdin, context.inbox, channel),
                              name="body-language-requests", daemon=True)
    reader.start()
    for request in _requests(context.inbox):
        if request["type"] == "shutdown":
            channel.result(request["id"], {})
            break
        answer(request, context)
    return 0 if context.inbox.failure is None else 1


def _requests(inbox: Inbox) -> Iterator[dict[str, Any]]:
    while True:
        request = inbox.pending.get()
        if request is None:
            return
        yield request


def main() -> NoReturn:
    channel = protect_stdout()
    code = serve(sys.stdin.buffer, channel)
    # Tearing down torch and transformers at interpreter exit takes seconds and does nothing
    # useful here: every file was written atomically, the answers were flushed.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
