"""Operations pages for the municipality's admins: the indexing queue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal.models import JobStatus
from portal.services import jobs as job_service
from portal.services.parties import get_municipality
from portal.uow import unit_of_work
from portal.web import current_actor

bp = Blueprint("operations", __name__, url_prefix="/drift")


@bp.route("/jobs")
@login_required
def jobs() -> Any:
    actor = current_actor()
    municipality = get_municipality()
    status = JobStatus._value2member_map_.get(request.args.get("status", "queued"), JobStatus.QUEUED)
    counts = job_service.job_counts(actor, municipality)
    return render_template("operations/jobs.html", status=status, counts=counts, statuses=JobStatus,
                           jobs=job_service.list_jobs(actor, municipality, status))


@bp.route("/jobs/<int:job_id>/igen", methods=["POST"])
@login_required
def retry(job_id: int) -> Any:
    with unit_of_work():
        job_service.retry_job(current_actor(), get_municipality(), job_id)
    flash(gettext("Jobbet er sat i kø igen."), "success")
    return redirect(url_for("operations.jobs", status="queued"))
