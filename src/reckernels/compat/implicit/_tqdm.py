"""A tqdm bar when show_progress, else a no-op with the same interface."""

from contextlib import contextmanager


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass


@contextmanager
def progress(total: int, show: bool):
    if show:
        from tqdm.auto import tqdm

        with tqdm(total=total) as bar:
            yield bar
    else:
        yield _NoBar()
