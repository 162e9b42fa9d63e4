"""Killing a command with SIGKILL once it has checkpointed, for the resumption tests."""

import signal
import subprocess
import time

import tensorflow as tf


def kill_after_checkpoint(command, checkpoints, step, *, cwd, env, poll=0.1, wait=240):
    """Runs `command`, kills it (-9) once `checkpoints` holds a checkpoint at
    `step` or later, and returns the step of the last checkpoint it left.

    Fails the test when the command ends before it can be killed.
    """
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + wait
    while time.time() < deadline and process.poll() is None:
        saved = sorted(int(p.stem.split("-")[1]) for p in checkpoints.glob("ckpt-*.index"))
        if saved and saved[-1] >= step:
            break
        time.sleep(poll)
    assert process.poll() is None, f"{command[2:4]} ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return int(tf.train.latest_checkpoint(str(checkpoints)).split("-")[-1])
