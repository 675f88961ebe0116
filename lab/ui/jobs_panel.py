"""The background-jobs panel shared by the Sweep, Walk-forward and Optimize pages:
progress with rate and ETA, Cancel while active, Resume after a failure or a cancel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import numpy as np
import streamlit as st

from lab import jobs

ICONS = {"queued": ":material/schedule:", "running": ":material/autorenew:",
         "cancelling": ":material/hourglass_top:", "cancelled": ":material/block:",
         "failed": ":material/error:", "done": ":material/check_circle:"}


def duration(seconds: float | None) -> str:
    """``h:mm:ss`` of a number of seconds, ``n/a`` when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "n/a"
    return str(dt.timedelta(seconds=int(round(seconds))))


@dataclass(frozen=True)
class JobWording:
    """How one kind of job is described in the panel.

    Attributes
    ----------
    kind : str
        Job kind in ``lab.jobs`` ("sweep", "walkforward", "optimize").
    title : str
        Heading of the panel.
    unit : str
        What progress counts ("sets", "windows", "trials").
    result_key : str
        Key of ``job.result`` naming what the job produced (selected when it ends).
    header : callable
        ``header(job) -> str`` appended to the status line.
    done_text : callable
        ``done_text(job) -> str`` under a finished job.
    stopped_text : callable or None
        ``stopped_text(job) -> str`` under a failed or cancelled job.
    resume_label : str
        Label of the button that restarts a failed or cancelled job.
    show_rate : bool
        Show units per second while running.
    view_only_when_done : bool
        Select the result only when the job ended ``done`` (else whenever it ends).
    """

    kind: str
    title: str
    unit: str
    result_key: str
    header: Callable
    done_text: Callable
    stopped_text: Callable | None = None
    resume_label: str = "Resume"
    show_rate: bool = False
    view_only_when_done: bool = True


def job_line(job: jobs.Job, key: str, w: JobWording) -> None:
    """One job: status line, then progress + Cancel, or Resume, or what it produced."""
    with st.container(border=True):
        c1, c2 = st.columns([5, 1])
        c1.markdown(f"{ICONS.get(job.status, '')} **{job.status}** · {job.title} · "
                    f"{w.header(job)}")
        if job.active:
            rate = ""
            if w.show_rate:
                rate = (f"{job.rate:,.0f} {w.unit}/s · " if job.rate
                        else "measuring speed · ")
            c1.progress(job.fraction, text=f"{job.done:,} / {job.total:,} {w.unit} · {rate}"
                                           f"ETA {duration(job.eta_s)} · elapsed "
                                           f"{duration(job.elapsed_s)}")
            if c2.button("Cancel", key=f"{key}_cancel_{job.id}",
                         disabled=job.status == "cancelling"):
                jobs.cancel(job.id)
                st.rerun(scope="fragment")
        elif job.status in ("failed", "cancelled"):
            if job.error:
                c1.caption(f":red[{job.error}]")
            if w.stopped_text is not None:
                c1.caption(w.stopped_text(job))
            if c2.button(w.resume_label, key=f"{key}_resume_{job.id}"):
                jobs.resume(job.id)
                st.session_state[f"{key}_watch"] = job.id
                st.rerun()
        else:
            c1.caption(w.done_text(job))


def jobs_panel(w: JobWording, key: str, limit: int = 5) -> None:
    """The latest jobs of ``w.kind``. Polls every second while one is active; when the
    watched job ends, its result is selected (``st.session_state[f"{key}_view"]``, the
    whole result dict in ``f"{key}_view_result"``) and the page reruns to show it."""
    recent = jobs.list_jobs(w.kind, limit=limit)
    if not recent:
        return
    active = any(j.active for j in recent)

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        fresh = jobs.list_jobs(w.kind, limit=limit)
        watched = st.session_state.get(f"{key}_watch")
        for job in fresh:
            job_line(job, key, w)
        done = next((j for j in fresh if j.id == watched and not j.active), None)
        if done is not None:
            st.session_state.pop(f"{key}_watch", None)
            if done.status == "done" or not w.view_only_when_done:
                st.session_state[f"{key}_view"] = done.result.get(w.result_key)
                st.session_state[f"{key}_view_result"] = dict(done.result)
            st.rerun()
        if active and not any(j.active for j in fresh):
            st.rerun()

    st.markdown(f"**{w.title}** (they keep running when this tab closes)")
    panel()
