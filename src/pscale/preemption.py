"""Save a checkpoint and stop when the scheduler warns that a training job's time is up.

A Slurm job that reaches its time limit is sent SIGTERM and, `KillWait` seconds later
(30 s by default), SIGKILL; a GRPO step plus a checkpoint of a 7B model takes minutes, so
without a warning a retry resumes from the last periodic checkpoint (`save_steps`) and the
steps since then are lost. The Slurm profile (slurm/config.yaml) therefore asks Slurm to send
SIGURG some minutes before the limit (`slurm_extra: --signal=URG@<seconds>`). While a model
trains, `stop_on_signal` turns that signal (and SIGUSR1, SIGTERM) into: finish the current
step, save a checkpoint, stop, and exit with status 75 (EX_TEMPFAIL: try again) instead of
writing the final model. Snakemake counts the job as failed and resubmits it (`retries`), and
the retry resumes from that checkpoint (train.py: `prepare_work_dir`).

Why SIGURG: Slurm signals every process of the job step, and between Slurm and the trainer
run the Snakemake job process and the rule's bash, whose default action on SIGUSR1 is to
die (the step would end and take the trainer with it). SIGURG's default action is to ignore
it, so only the trainer, which handles it, reacts. `B:USR1` would signal the batch shell
alone, which the slurm executor plugin writes as plain `sh` that dies of it. SIGTERM is
handled the same way for a trainer signalled on its own (`pscale train` run by hand, a
pre-emption with a grace period); at a Slurm time limit it also kills the rule's bash, the step
ends within moments, and only a quick save (a small model) completes; an interrupted one is
set aside on the next start and the run resumes from the previous checkpoint.

Under `accelerate launch` every rank gets the signal at a slightly different moment; the ranks
agree at each step end (an all-reduce of one flag) so that all of them save the same step.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger(__name__)

#: Signals that make a training run save and stop at the end of its current step.
STOP_SIGNALS = (signal.SIGURG, signal.SIGUSR1, signal.SIGTERM)
#: Exit status of a run stopped this way (sysexits EX_TEMPFAIL): run it again to resume.
EXIT_STOPPED = 75


class TrainingStopped(SystemExit):
    """Training stopped by a signal after saving a checkpoint (exit status 75): run it again to resume.

    A SystemExit, so that no `except Exception` on the way out treats it as a failure to handle,
    and the interpreter exits with its code and no traceback."""


class SaveAndStopOnSignal(TrainerCallback):
    """Trainer callback: once `requested` is set (by a signal handler), save and stop at the step end."""

    def __init__(self) -> None:
        self.requested: int | None = None  # the signal received
        self.stopped_at: int | None = None  # the step saved and stopped at

    def handle(self, signum: int, frame: Any) -> None:
        # A signal handler: set a flag and nothing else (logging here could deadlock on its lock).
        if self.requested is None:
            self.requested = signum

    def _agreed(self, args: Any) -> bool:
        """Whether any rank was asked to stop (every rank calls this at every step end)."""
        requested = self.requested is not None
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            import torch

            flag = torch.tensor([int(requested)], device=args.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            requested = bool(flag.item())
        return requested

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self._agreed(args) and state.global_step < state.max_steps and self.stopped_at is None:
            control.should_save = True  # the Trainer saves right after this callback, then stops
            control.should_log = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
            why = f"{signal.Signals(self.requested).name} received" if self.requested else "another rank was signalled"
            log.warning(
                "%s: saving a checkpoint at step %d of %d and stopping", why, state.global_step, state.max_steps
            )
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.stopped_at is not None:
            # Raised inside Trainer.train, so the caller never saves an unfinished model as final.
            log.warning(
                "training stopped at step %d of %d; checkpoint-%d in %s; exit status %d: "
                "running the job again resumes from it",
                self.stopped_at,
                state.max_steps,
                self.stopped_at,
                args.output_dir,
                EXIT_STOPPED,
            )
            raise TrainingStopped(EXIT_STOPPED)
        return control


@contextmanager
def stop_on_signal(trainer: Any, signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[SaveAndStopOnSignal]:
    """While the block runs, `signals` make `trainer` save a checkpoint at its step end and stop
    (raising TrainingStopped from `trainer.train`); the previous handlers come back afterwards.

    Outside the main thread (where Python cannot install signal handlers) this does nothing.
    """
    callback = SaveAndStopOnSignal()
    if threading.current_thread() is not threading.main_thread():
        yield callback
        return
    trainer.add_callback(callback)
    previous = {sig: signal.signal(sig, callback.handle) for sig in signals}
    try:
        yield callback
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # None: not set from Python
        trainer.remove_callback(callback)
