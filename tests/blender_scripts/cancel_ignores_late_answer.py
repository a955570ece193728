"""A job cancelled as soon as it started (params "wav"): only the hands are asked for, the
scene stays unchanged, and the worker's late answer reaches nothing."""

import os

from blender_snippet import emit, params
from installed_addon import animated_speaker, generate_job, runtime, snapshot
from worker_waits import next_messages

armature = animated_speaker()
settings = armature.body_language
settings.audio_source = "FILE"
settings.audio_file = params["wav"]
settings.parts = {"hands"}
settings.prompt_strength = 3.5
before = snapshot()
request, job = generate_job(armature)
emit(kept=list(request.kept), keep_file=os.path.isfile(request.fields["keep"]),
     guidance=request.fields["guidance"])
job.start()
job.cancel()
emit(state=job.state, report=job.report)
# The worker still answers the cancelled request; nothing of it reaches the scene.
job.step()
late = [[m.type, m.kind] for m in next_messages(job.client, lambda m: m.type != "progress")]
emit(state_after=job.state, unchanged=snapshot() == before, late=late)
runtime.shutdown_shared()
