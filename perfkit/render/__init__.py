"""Renderers: a result model in, text or bytes out; they read the model and never measure."""
