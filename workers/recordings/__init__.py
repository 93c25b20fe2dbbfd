"""Recording post-processing: analyse the switch's stereo WAV (talk, silence, overtalk, holds),
encode it (FLAC, Ogg/Opus or MP3), checksum it, keep it in storage (a folder or S3) and record
it all in the ``recordings`` table.

Modules: ``analysis`` and ``transcode`` work on files only; ``storage`` keeps encoded files;
``tasks`` holds the Celery tasks and the database writes.
"""
