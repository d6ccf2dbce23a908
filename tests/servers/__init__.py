"""Servers the tests (and bench/) start on 127.0.0.1: a scripted fake of the OpenAI and
Anthropic HTTP APIs with faults on demand, and llama.cpp's real OpenAI-compatible server."""
