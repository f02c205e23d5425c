"""Discrete-event simulation of an inference server: scheduler, KV cache, routing, metrics."""
