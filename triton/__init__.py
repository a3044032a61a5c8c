"""Not a Python package: this folder holds Neutone's Triton image and local launcher.

It is named like OpenAI's `triton` compiler package, which torch imports when it can (and
diffusers imports torch._dynamo, which probes for it). Whenever the repository root is on
sys.path (pytest, the python-backend stubs of the local server), Python would otherwise
pick this folder up as a namespace package called `triton` and torch would fail on it.
Failing the import here makes `import triton` behave as if the compiler were not installed.
"""

raise ImportError("triton/ is Neutone's launcher folder, not the triton compiler package")
