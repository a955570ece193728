"""The worker killed while a job runs (params "wav"): the job fails with a report, the scene is
unchanged, and the next request starts a fresh worker."""

import os
import signal

from blender_snippet import emit, params
from installed_addon import animated_speaker, generate_job, runtime, snapshot

armature = animated_speaker()
armature.body_language.audio_source = "FILE"
armature.body_language.audio_file = params["wav"]
armature.body_language.audio_start_frame = 10
before = snapshot()
_request, job = generate_job(armature)
client = job.client
job.start()
os.kill(client.pid, signal.SIGKILL)   # the worker dies before it can answer
state = job.run()
emit(state=state, report=job.report, unchanged=snapshot() == before)
# The next request starts a fresh worker.
emit(hello=client.call("hello", timeout=120)["protocol"], restarts=client.restarts)
runtime.shutdown_shared()
