"""Output files of the converters and generators, written the way loom writes its own
(core/io/file_system.h): into a temporary next to the target, flushed to disk, then renamed over it, so
an interrupted or failed run (a kill, a full disk) leaves the old file or none, never a torn one that
loom would reject as corrupt weights. Failures exit with a message naming the file."""
import contextlib
import os


@contextlib.contextmanager
def atomic_path(path):
    """Yields the temporary to write; on success it becomes `path`, on any failure it is removed."""
    folder = os.path.dirname(os.path.abspath(path))
    # loom's naming of temporaries: hidden, and telling a cleanup which process wrote it.
    tmp = os.path.join(folder, f".tmp-{os.path.basename(path)}-{os.getpid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise SystemExit(f"cannot write {path}: {e.strerror or e}") from e
        raise
    with contextlib.suppress(OSError):  # the rename is durable once the folder is flushed
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_safetensors(tensors, path, metadata=None):
    """safetensors.torch.save_file, atomically."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        try:
            save_file(tensors, tmp, metadata=metadata)
        except Exception as e:  # the Rust writer's own error type, also for a full disk
            raise SystemExit(f"cannot write {path}: {e}") from e

def write_text(path, text):
    """A text file (UTF-8), atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
