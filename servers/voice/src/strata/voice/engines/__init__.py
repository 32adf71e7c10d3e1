"""Built-in TTS engines; each registers under the ``strata.voice.tts`` entry-point group."""
