"""Run offline jobs (flow, UCM, mining) in parallel worker processes with a progress bar."""
from concurrent.futures import ProcessPoolExecutor, as_completed

from mmengine.utils import ProgressBar


def run_jobs(fn, jobs, workers=0, total=None, size=lambda job, result: 1):
    """Call ``fn(job)`` for every job, in ``workers`` processes (0: in this process), updating a
    progress bar by ``size(job, result)`` steps per finished job (``total`` steps in all).

    Returns:
        list: the results, in completion order.
    """
    bar = ProgressBar(total if total is not None else len(jobs))
    results = []

    def done(job, res):
        results.append(res)
        for _ in range(size(job, res)):
            bar.update()

    if workers > 0:
        with ProcessPoolExecutor(workers) as ex:
            futures = {ex.submit(fn, job): job for job in jobs}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    else:
        for job in jobs:
            done(job, fn(job))
    print()
    return results
