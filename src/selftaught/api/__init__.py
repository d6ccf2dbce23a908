"""The library behind `import selftaught`: run, resume, improve, score, transfer, open_run.

The command line is a thin layer over these functions (see docs/api.md).
"""
