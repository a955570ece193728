"""A long job cancelled while the model decodes (params "long_wav"), after a first take: the
scene stays as the first take left it, and the worker's late answer reaches nothing."""

import bpy
from blender_snippet import emit, params
from installed_addon import generate_job, jobs, runtime, snapshot
from speaking_character import armature, settings
from worker_waits import next_messages

bpy.ops.body_language.generate()  # a first take, which the cancelled one must not touch
settings.audio_source = "FILE"
settings.audio_file = params["long_wav"]
before = snapshot()
_request, job = generate_job(armature)
job.start()
messages = []
# Each step waits up to a minute for the worker's next line; a worker that stops answering
# fails the job by the job's own silence timeout.
while job.step(wait=60.0) == jobs.RUNNING:
    messages.append(job.message)
    if job.message.startswith("Generating motion"):  # decoding: cancel between steps
        job.cancel()
late = [[m.type, m.kind] for m in next_messages(job.client, lambda m: m.type != "progress")]
emit(state=job.state, report=job.report, unchanged=snapshot() == before, late=late,
     decoding_seen=any(m.startswith("Generating motion") for m in messages))
runtime.shutdown_shared()
