"""The runtime's one error: a kernel that failed while it ran."""


class KernelError(RuntimeError):
    """A kernel failed at run time (for example an index out of range); the message names the kernel."""
