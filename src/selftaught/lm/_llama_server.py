"""llama-cpp-python's OpenAI-compatible server, started the way our embedded backend loads
models (without llama.cpp's extra CPU buffer types, which crash on some CPUs).

    python -m selftaught.lm._llama_server --model FILE.gguf --host 127.0.0.1 --port 8080

takes the same arguments as `python -m llama_cpp.server` (needs `llama-cpp-python[server]`).
"""

from __future__ import annotations

import runpy

from selftaught.lm.local import _without_extra_buffers


def main() -> None:
    with _without_extra_buffers():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
